"""The remote providers the settings configure and allow, and their health.

The registry (registry.py) calls build_remote_providers and decides the order and the
failover; this module only knows which providers have credentials, where each sends data,
and whether overseas transfer is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import httpx
from pydantic import SecretStr

from liveai.errors import ConfigError, LiveAIError, NotFound
from liveai.privacy.inventory import Region
from liveai.providers import ark, fal, kling, wan
from liveai.providers.base import Provider
from liveai.providers.http import CallPolicy, RemoteProvider, region_of
from liveai.providers.moderation import Moderated, Moderator, QwenVLCheck, parse_terms
from liveai.settings import Settings

REMOTE_NAMES = ("kling", "ark", "wan", "fal")


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    position: int | None  # 1-based place in LIVEAI_PROVIDER_ORDER, None when absent
    region: Region
    overseas: bool
    credentials: bool
    enabled: bool
    reason: str
    model: str
    base_url: str


@dataclass(frozen=True)
class ProviderCheck:
    name: str
    ok: bool
    detail: str


def region_for(name: str, settings: Settings) -> Region:
    if name == "kling":
        return region_of(settings.kling_base_url, kling.OVERSEAS_HOSTS, "mainland_china")
    if name == "ark":
        return region_of(settings.ark_base_url, ark.OVERSEAS_HOSTS, "mainland_china")
    if name == "wan":
        return region_of(settings.wan_base_url, wan.OVERSEAS_HOSTS, "mainland_china")
    return "overseas"


def has_credentials(name: str, settings: Settings) -> bool:
    if name == "kling":
        pair = settings.kling_access_key and _secret(settings.kling_secret_key)
        return bool(_secret(settings.kling_api_key) or pair)
    keys = {"ark": settings.ark_api_key, "wan": settings.wan_api_key, "fal": settings.fal_key}
    return bool(_secret(keys.get(name)))


def _endpoint(name: str, settings: Settings) -> tuple[str, str]:
    return {
        "kling": (settings.kling_model, settings.kling_base_url),
        "ark": (settings.ark_model, settings.ark_base_url),
        "wan": (settings.wan_model, settings.wan_base_url),
        "fal": (settings.fal_model, settings.fal_base_url),
    }[name]


def describe(settings: Settings) -> list[ProviderInfo]:
    """Each remote provider: where it sits in the order, where data goes, usable or why not."""
    infos = [_info(name, settings) for name in REMOTE_NAMES]
    return sorted(infos, key=lambda i: (i.position is None, i.position or 0, i.name))


def _info(name: str, settings: Settings) -> ProviderInfo:
    order = settings.providers_in_order
    region = region_for(name, settings)
    credentials = has_credentials(name, settings)
    position = order.index(name) + 1 if name in order else None
    if not credentials:
        reason = "no credentials"
    elif region == "overseas" and not settings.allow_overseas:
        reason = "overseas not allowed (LIVEAI_ALLOW_OVERSEAS)"
    elif position is None:
        reason = "not in LIVEAI_PROVIDER_ORDER"
    else:
        reason = "ready"
    model, base_url = _endpoint(name, settings)
    return ProviderInfo(
        name=name,
        position=position,
        region=region,
        overseas=region == "overseas",
        credentials=credentials,
        enabled=reason == "ready",
        reason=reason,
        model=model,
        base_url=base_url,
    )


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def settings_policy(settings: Settings) -> CallPolicy:
    return CallPolicy(
        retries=settings.provider_retries,
        base_s=settings.provider_retry_base_s,
        timeout_s=settings.provider_http_timeout_s,
        max_concurrency=settings.provider_max_concurrency,
    )


def build_one(
    name: str, settings: Settings, client: httpx.Client, policy: CallPolicy | None = None
) -> RemoteProvider:
    """One provider from the settings, whether or not it is enabled."""
    policy = policy or settings_policy(settings)
    if name == "kling":
        auth = kling.KlingAuth(
            access_key=settings.kling_access_key,
            secret_key=_secret(settings.kling_secret_key) or None,
            api_key=_secret(settings.kling_api_key) or None,
        )
        return kling.KlingProvider(
            client,
            auth=auth,
            base_url=settings.kling_base_url,
            model=settings.kling_model,
            mode=settings.kling_mode,
            policy=policy,
        )
    if name == "ark":
        return ark.ArkProvider(
            client,
            api_key=_secret(settings.ark_api_key),
            base_url=settings.ark_base_url,
            model=settings.ark_model,
            policy=policy,
        )
    if name == "wan":
        return wan.WanProvider(
            client,
            api_key=_secret(settings.wan_api_key),
            base_url=settings.wan_base_url,
            model=settings.wan_model,
            policy=policy,
        )
    if name == "fal":
        return fal.FalProvider(
            client,
            key=_secret(settings.fal_key),
            base_url=settings.fal_base_url,
            model=settings.fal_model,
            policy=policy,
        )
    raise NotFound(
        f"no remote provider named {name!r}", hint=f"use one of {', '.join(REMOTE_NAMES)}"
    )


def build_moderator(
    settings: Settings, client: httpx.Client, policy: CallPolicy | None = None
) -> Moderator | None:
    """The pre-submit checks the settings ask for, or None when neither is configured."""
    terms = parse_terms(settings.blocked_terms)
    image_check = None
    if settings.qwen_vl_model:
        if not _secret(settings.wan_api_key):
            raise ConfigError(
                "LIVEAI_QWEN_VL_MODEL is set but the DashScope key is missing",
                hint="set LIVEAI_WAN_API_KEY (the Qwen-VL check uses the same DashScope key)",
            )
        image_check = QwenVLCheck(
            client,
            api_key=_secret(settings.wan_api_key),
            base_url=settings.wan_base_url,
            model=settings.qwen_vl_model,
            policy=policy or settings_policy(settings),
        )
    if not terms and image_check is None:
        return None
    return Moderator(terms, image_check)


def build_remote_providers(
    settings: Settings, client: httpx.Client, policy: CallPolicy | None = None
) -> dict[str, Provider]:
    """The remote providers that have credentials and are allowed (fal only when overseas is).

    Providers absent from LIVEAI_PROVIDER_ORDER are still built (an explicit
    `--provider NAME` may ask for one); the registry applies the order. With blocked terms
    or a Qwen-VL model configured, each one moderates a request before it submits it.
    """
    moderator = build_moderator(settings, client, policy)
    built: dict[str, Provider] = {}
    for info in describe(settings):
        if not info.credentials or (info.overseas and not settings.allow_overseas):
            continue
        provider = build_one(info.name, settings, client, policy)
        built[info.name] = Moderated(provider, moderator) if moderator else provider
    return built


def check_providers(
    settings: Settings, client: httpx.Client, name: str | None = None
) -> list[ProviderCheck]:
    """Authenticate against each configured provider (or just NAME) with one cheap call."""
    names = [name] if name else [i.name for i in describe(settings) if i.credentials]
    results = []
    for each in names:
        if each not in REMOTE_NAMES:
            raise NotFound(
                f"no remote provider named {each!r}", hint=f"use one of {', '.join(REMOTE_NAMES)}"
            )
        if not has_credentials(each, settings):
            results.append(ProviderCheck(each, False, "no credentials configured"))
            continue
        provider = build_one(each, settings, client, replace(settings_policy(settings), retries=0))
        try:
            detail = provider.check()
        except LiveAIError as exc:
            results.append(ProviderCheck(each, False, str(exc)))
        else:
            results.append(ProviderCheck(each, True, detail))
    return results


def provider_health(settings: Settings) -> tuple[bool, str]:
    """For `liveai doctor`: every provider with credentials answers, or why not."""
    if not any(has_credentials(name, settings) for name in REMOTE_NAMES):
        return True, "no remote provider configured; the local renderer is used"
    with httpx.Client() as client:
        results = check_providers(settings, client)
    detail = "; ".join(f"{r.name}: {'ok' if r.ok else r.detail}" for r in results)
    return all(r.ok for r in results), detail
