"""Which providers exist on this machine, and which ones a task tries, in what order.

Resolution: ``--provider NAME`` tries exactly that one. Otherwise (no name, or ``auto``)
the configured remote providers named in ``provider_order`` are tried in that order
(overseas ones only with ``allow_overseas``); when none of them is configured, the
offline ``local`` renderer is used, so a fresh machine with no keys works. ``local`` joins
the failover order only when ``provider_order`` names it: production never falls back to
it silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

from liveai.errors import ConfigError, InvalidInput
from liveai.providers.base import Provider, Recipient, VideoRequest
from liveai.providers.local import LocalProvider
from liveai.providers.moderation import Moderator, parse_terms
from liveai.settings import Settings

LOCAL = "local"
AUTO = "auto"


def explicit_choice(name: str | None) -> str | None:
    """The one provider a caller insists on; None for the configured order (``auto``)."""
    name = (name or "").strip()
    return None if name in ("", AUTO) else name


def build_providers(settings: Settings, client: httpx.Client) -> dict[str, Provider]:
    """Every usable provider by name: the configured remote ones, and always `local`."""
    providers: dict[str, Provider] = dict(_remote_providers(settings, client))
    terms = parse_terms(settings.blocked_terms)
    work_dir, side = settings.home / "render", settings.render_max_side
    local = ScreenedLocal(work_dir, side, Moderator(terms)) if terms else None
    providers[LOCAL] = local or LocalProvider(work_dir, max_side=side)
    return providers


class ScreenedLocal(LocalProvider):
    """The local renderer with the blocked terms checked first: every generation is
    moderated, whichever provider makes it (the image check stays with remote ones)."""

    def __init__(self, work_dir: Path, max_side: int, moderator: Moderator) -> None:
        super().__init__(work_dir, max_side=max_side)
        self.moderator = moderator

    def screening_recipients(self, request: VideoRequest) -> Sequence[Recipient]:
        return []

    def screen(self, request: VideoRequest) -> None:
        self.moderator.check(request)

    def submit(self, request: VideoRequest) -> str:
        self.moderator.check(request)
        return super().submit(request)


def _remote_providers(settings: Settings, client: httpx.Client) -> Mapping[str, Provider]:
    try:
        from liveai.providers.remote import build_remote_providers
    except ImportError:
        return {}
    return build_remote_providers(settings, client)


def candidates(
    providers: Mapping[str, Provider], settings: Settings, explicit: str | None = None
) -> list[str]:
    """The provider names a task tries, in order (see the module docstring)."""
    explicit = explicit_choice(explicit)
    if explicit:
        if explicit not in providers:
            raise InvalidInput(
                f"provider {explicit!r} is not available here",
                hint=f"configure it, or pick one of: {', '.join([*sorted(providers), AUTO])}",
            )
        _check_region(providers[explicit], settings)
        return [explicit]
    ordered = [
        name
        for name in settings.providers_in_order
        if name in providers and _region_allowed(providers[name], settings)
    ]
    if ordered:
        return ordered
    if LOCAL not in providers:
        raise ConfigError(
            "no video provider is available",
            hint="configure one named in LIVEAI_PROVIDER_ORDER",
        )
    return [LOCAL]


def _region_allowed(provider: Provider, settings: Settings) -> bool:
    return provider.region != "overseas" or settings.allow_overseas


def _check_region(provider: Provider, settings: Settings) -> None:
    if not _region_allowed(provider, settings):
        raise InvalidInput(
            f"provider {provider.name!r} is overseas and cross-border transfer is off",
            hint="set LIVEAI_ALLOW_OVERSEAS=true once the policy and consent cover it",
        )
