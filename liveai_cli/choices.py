"""The closed sets an option takes, as Literal types: `--help` lists them, shells complete them.

They copy the library's values without importing it (start-up time); a test checks that
each still equals its source.
"""

from __future__ import annotations

from typing import Literal

Motion = Literal[
    "static", "pan_left", "pan_right", "tilt_up", "tilt_down", "truck_left", "truck_right",
    "pedestal_up", "pedestal_down", "roll_cw", "roll_ccw", "zoom_in", "zoom_out", "push_in",
    "pull_out", "orbit_left", "orbit_right",
]  # fmt: skip
TaskState = Literal["queued", "submitted", "running", "succeeded", "failed", "cancelled"]
RequestKind = Literal["export", "deletion", "correction", "guardian", "objection"]
Channel = Literal["email", "in-app"]
Jurisdiction = Literal["cn", "eu"]
Provider = Literal["auto", "kling", "ark", "wan", "fal", "local"]
RemoteProvider = Literal["kling", "ark", "wan", "fal"]
PolicyLang = Literal["zh", "en", "both"]
PolicyFormat = Literal["md", "html", "txt"]
RopaFormat = Literal["md", "json"]
