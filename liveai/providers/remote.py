"""The remote providers the settings configure and allow, and their health.

The registry (registry.py) calls build_remote_providers and decides the order and the
failover; this module builds what the vendors' gate (`providers/vendors.py`) allows and
describes each vendor through its spec.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import httpx

from liveai.errors import ConfigError, LiveAIError
from liveai.privacy.inventory_types import Region
from liveai.providers import vendors, wan
from liveai.providers.base import Provider
from liveai.providers.http import CallPolicy, RemoteProvider
from liveai.providers.moderation import Moderated, Moderator, QwenVLCheck, parse_terms
from liveai.providers.spec import VendorSpec
from liveai.settings import Settings


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


def describe(settings: Settings) -> list[ProviderInfo]:
    """Each remote provider: where it sits in the order, where data goes, usable or why not."""
    infos = [_info(spec, settings) for spec in vendors.VENDORS]
    return sorted(infos, key=lambda i: (i.position is None, i.position or 0, i.name))


def _info(spec: VendorSpec, settings: Settings) -> ProviderInfo:
    order = settings.providers_in_order
    region = spec.region(settings)
    position = order.index(spec.name) + 1 if spec.name in order else None
    reason = vendors.refusal(spec, settings)
    if reason is None:
        reason = "not in LIVEAI_PROVIDER_ORDER" if position is None else "ready"
    return ProviderInfo(
        name=spec.name,
        position=position,
        region=region,
        overseas=region == "overseas",
        credentials=spec.has_credentials(settings),
        enabled=reason == "ready",
        reason=reason,
        model=spec.model_in(settings),
        base_url=spec.base_url_in(settings),
    )


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
    return vendors.named(name).provider(settings, client, policy or settings_policy(settings))


def build_moderator(
    settings: Settings, client: httpx.Client, policy: CallPolicy | None = None
) -> Moderator | None:
    """The pre-submit checks the settings ask for, or None when neither is configured."""
    terms = parse_terms(settings.blocked_terms)
    image_check = None
    if settings.qwen_vl_model:
        api_key = settings.credential(wan.API_KEY.name)
        if not api_key:
            raise ConfigError(
                "LIVEAI_QWEN_VL_MODEL is set but the DashScope key is missing",
                hint="set LIVEAI_WAN_API_KEY (the Qwen-VL check uses the same DashScope key)",
            )
        image_check = QwenVLCheck(
            client,
            api_key=api_key,
            base_url=wan.SPEC.base_url_in(settings),
            model=settings.qwen_vl_model,
            policy=policy or settings_policy(settings),
        )
    if not terms and image_check is None:
        return None
    return Moderator(terms, image_check)


def build_remote_providers(
    settings: Settings, client: httpx.Client, policy: CallPolicy | None = None
) -> dict[str, Provider]:
    """The remote providers the gate lets run: credentials, region, disclosure.

    Providers absent from LIVEAI_PROVIDER_ORDER are still built (an explicit
    `--provider NAME` may ask for one); the registry applies the order. With blocked terms
    or a Qwen-VL model configured, each one moderates a request before it submits it. A
    provider with credentials that the privacy inventory does not disclose stops the run:
    its keys say it is meant to receive data, the policy says no one told the users.
    """
    moderator = build_moderator(settings, client, policy)
    built: dict[str, Provider] = {}
    for spec in vendors.VENDORS:
        reason = vendors.refusal(spec, settings)
        if reason == vendors.UNDISCLOSED:
            raise ConfigError(
                f"provider {spec.name} has credentials but the privacy inventory does not "
                "disclose it",
                hint=f"add a third party with provider={spec.name!r} to the inventory, or "
                "remove its credentials",
            )
        if reason is not None:
            continue
        provider = spec.provider(settings, client, policy or settings_policy(settings))
        built[spec.name] = Moderated(provider, moderator) if moderator else provider
    return built


def check_providers(
    settings: Settings, client: httpx.Client, name: str | None = None
) -> list[ProviderCheck]:
    """Authenticate against each configured provider (or just NAME) with one cheap call."""
    names = [name] if name else [i.name for i in describe(settings) if i.credentials]
    results = []
    for each in names:
        if not vendors.named(each).has_credentials(settings):
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
    if not any(spec.has_credentials(settings) for spec in vendors.VENDORS):
        return True, "no remote provider configured; the local renderer is used"
    with httpx.Client() as client:
        results = check_providers(settings, client)
    detail = "; ".join(f"{r.name}: {'ok' if r.ok else r.detail}" for r in results)
    return all(r.ok for r in results), detail
