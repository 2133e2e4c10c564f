"""What a vendor module declares about itself: one VendorSpec, its ``SPEC``.

Everything outside the vendor module (the registry, `providers list`, `doctor`, the
runtime gate, `policy lint`) reads a vendor through its spec; the list of vendors is
`providers/vendors.py`. The defaults live only in the spec: settings named
``<name>_base_url`` and ``<name>_model``, when a vendor has them, override them. Its
``credentials`` are settings too (``LIVEAI_<NAME>`` or ``<name>`` in liveai.toml), which
`Settings` reads for every vendor in the list without a field of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

if TYPE_CHECKING:  # for types only: httpx and the HTTP code cost every command's start-up
    import httpx

    from liveai.privacy.inventory_types import Region
    from liveai.providers.http import CallPolicy, RemoteProvider
    from liveai.settings import Settings


@dataclass(frozen=True)
class Credential:
    """A setting that authenticates a vendor, read from ``LIVEAI_<NAME>`` or ``<name>``."""

    name: str
    """The setting's name: ``acme_api_key`` is LIVEAI_ACME_API_KEY."""
    description: str
    """Its line in `config show` and `config init`."""
    secret: bool = True
    """Whether `config show` masks it (an access key id is not a secret)."""


@dataclass(frozen=True)
class VendorSpec:
    name: str
    """The provider name: in LIVEAI_PROVIDER_ORDER, `--provider`, and the inventory's
    ``ThirdParty.provider`` that discloses where its data goes."""
    base_url: str
    """The default API base URL; a setting ``<name>_base_url``, if any, overrides it."""
    model: str
    """The default model; a setting ``<name>_model``, if any, overrides it."""
    durations: tuple[int, ...]
    """The video lengths in seconds its default model delivers; `duration_for` picks one."""
    credentials: tuple[tuple[Credential, ...], ...]
    """The settings that authenticate: any one group with every one set."""
    result_hosts: tuple[str, ...]
    """The hosts its result videos may be downloaded from (subdomains included)."""
    build: Build
    """The provider, made from the settings."""
    home: Region = "mainland_china"
    """Its region, unless its base URL is on one of ``overseas_hosts``."""
    overseas_hosts: tuple[str, ...] = ()
    """Base URL hosts (and their subdomains) that put it overseas."""
    rounds_up: bool = False
    """Whether an ask between two of its durations gets the longer, not the nearest."""

    def base_url_in(self, settings: Settings) -> str:
        return cast(str | None, getattr(settings, f"{self.name}_base_url", None)) or self.base_url

    def model_in(self, settings: Settings) -> str:
        return cast(str | None, getattr(settings, f"{self.name}_model", None)) or self.model

    def duration_for(self, asked: int) -> int:
        """The one of its ``durations`` to ask for when ``asked`` seconds are wanted."""
        return delivered_duration(asked, self.durations, round_up=self.rounds_up)

    def region(self, settings: Settings) -> Region:
        return self.region_at(self.base_url_in(settings))

    def region_at(self, base_url: str) -> Region:
        from liveai.providers.http import region_of  # here: start-up cost (httpx)

        return region_of(base_url, self.overseas_hosts, self.home)

    def declared(self) -> tuple[Credential, ...]:
        """Every credential it reads, each once, in the order the groups name them."""
        found = {credential.name: credential for group in self.credentials for credential in group}
        return tuple(found.values())

    def has_credentials(self, settings: Settings) -> bool:
        return any(
            all(settings.credential(credential.name) for credential in group)
            for group in self.credentials
        )

    def provider(
        self, settings: Settings, client: httpx.Client, policy: CallPolicy
    ) -> RemoteProvider:
        return self.build(self, settings, client, policy)


def delivered_duration(asked: int, durations: Sequence[int], *, round_up: bool = False) -> int:
    """The one of ``durations`` (seconds) to ask a vendor for when ``asked`` seconds are
    wanted: the nearest, ties to the shorter, or with ``round_up`` the shortest at least as
    long; past either end, that end. None known (a model whose limits we lack): ``asked``."""
    if not durations:
        return asked
    if round_up:
        return min((d for d in durations if d >= asked), default=max(durations))
    return min(durations, key=lambda d: (abs(d - asked), d))


if TYPE_CHECKING:
    Build = Callable[[VendorSpec, Settings, httpx.Client, CallPolicy], RemoteProvider]


class KeyedFactory(Protocol):
    """A provider class authenticated by one API key (Ark, Wan, fal)."""

    def __call__(
        self,
        client: httpx.Client,
        *,
        api_key: str,
        base_url: str,
        model: str,
        policy: CallPolicy,
    ) -> RemoteProvider: ...


def keyed(factory: KeyedFactory, key: Credential) -> Build:
    """The build of a provider that needs only the API key ``key``."""

    def build(
        spec: VendorSpec, settings: Settings, client: httpx.Client, policy: CallPolicy
    ) -> RemoteProvider:
        return factory(
            client,
            api_key=settings.credential(key.name),
            base_url=spec.base_url_in(settings),
            model=spec.model_in(settings),
            policy=policy,
        )

    return build
