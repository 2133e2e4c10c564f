"""The remote vendors, one line each, and the one gate that decides which of them may run.

A vendor is its module's ``SPEC`` (see `providers/spec.py`); adding one is its module plus
its line below. The registry builds only what `refusal` lets through, `providers list`
shows the reason it gives, and `policy lint` asks `disclosed` of every provider in the
order, so the runtime and the policy cannot disagree about who receives data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveai.errors import NotFound
from liveai.providers import ark, fal, kling, wan
from liveai.providers.spec import Credential, VendorSpec

if TYPE_CHECKING:  # for types only: every command with a vendor's key set imports this module
    from liveai.privacy.inventory_types import Inventory
    from liveai.settings import Settings

VENDORS: tuple[VendorSpec, ...] = (
    kling.SPEC,
    ark.SPEC,
    wan.SPEC,
    fal.SPEC,
)

LOCAL_NAMES = frozenset({"local"})
"""Providers that run on our own machines and send nothing to anyone."""

NO_CREDENTIALS = "no credentials"
OVERSEAS = "overseas not allowed (LIVEAI_ALLOW_OVERSEAS)"
UNDISCLOSED = "not disclosed in the privacy inventory"


def names() -> tuple[str, ...]:
    return tuple(spec.name for spec in VENDORS)


def named(name: str) -> VendorSpec:
    for spec in VENDORS:
        if spec.name == name:
            return spec
    raise NotFound(f"no remote provider named {name!r}", hint=f"use one of {', '.join(names())}")


def disclosed(name: str, inventory: Inventory | None = None) -> bool:
    """Whether the inventory (default: ours) lets ``name`` receive data: a local provider
    sends none, any other must be some third party's ``provider``."""
    from liveai.privacy.inventory import DEFAULT_INVENTORY  # here: start-up cost (a big module)

    return name in LOCAL_NAMES or name in (inventory or DEFAULT_INVENTORY).disclosed_providers


def refusal(spec: VendorSpec, settings: Settings, inventory: Inventory | None = None) -> str | None:
    """Why this vendor may not run with these settings, or None when it may."""
    if not spec.has_credentials(settings):
        return NO_CREDENTIALS
    if spec.region(settings) == "overseas" and not settings.allow_overseas:
        return OVERSEAS
    if not disclosed(spec.name, inventory):
        return UNDISCLOSED
    return None


def credentials() -> tuple[Credential, ...]:
    """Every vendor's credentials: the settings `Settings` reads beside its fields."""
    return tuple(credential for spec in VENDORS for credential in spec.declared())
