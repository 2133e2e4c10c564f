"""The closed sets an option takes, as Literal types: `--help` lists them, shells complete them.

They copy the library's values without importing it (start-up time); a test checks that
each still equals its source. The provider names are not copied: `Provider` and
`RemoteProvider` read `providers/vendors.py` when Typer first lists them (help, parsing,
completion), so a vendor added there is a choice here.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum, EnumMeta
from typing import TYPE_CHECKING, Any, Literal

Motion = Literal[
    "static", "pan_left", "pan_right", "tilt_up", "tilt_down", "truck_left", "truck_right",
    "pedestal_up", "pedestal_down", "roll_cw", "roll_ccw", "zoom_in", "zoom_out", "push_in",
    "pull_out", "orbit_left", "orbit_right",
]  # fmt: skip
TaskState = Literal["queued", "submitted", "running", "succeeded", "failed", "cancelled"]
RequestKind = Literal["export", "deletion", "correction", "guardian", "objection"]
Channel = Literal["email", "in-app"]
Jurisdiction = Literal["cn", "eu"]
PolicyLang = Literal["zh", "en", "both"]
PolicyFormat = Literal["md", "html", "txt"]
RopaFormat = Literal["md", "json"]


class _VendorNames(EnumMeta):
    """An Enum type Typer reads as a choice, whose members are the vendors' names (with the
    class's fixed choices around them), looked up only when Typer iterates it."""

    def __iter__(cls) -> Iterator[Any]:
        # Imported here: `--help` does not pay for loading the vendor modules.
        from liveai.providers.vendors import names

        before, after = _AROUND[cls.__name__]
        return iter((*before, *names(), *after))

    def __len__(cls) -> int:
        return len(tuple(iter(cls)))


if TYPE_CHECKING:  # the command receives the name Typer matched, a plain string
    Provider = str
    RemoteProvider = str
else:

    class Provider(Enum, metaclass=_VendorNames):
        """auto, each vendor, then local."""

    class RemoteProvider(Enum, metaclass=_VendorNames):
        """Each vendor."""


_AROUND: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Provider": (("auto",), ("local",)),
    "RemoteProvider": ((), ()),
}
