"""Camera motion as prompt text, for providers (or models) without a camera parameter."""

from __future__ import annotations

from liveai.providers.base import Motion

MOTION_PHRASES: dict[Motion, str] = {
    Motion.STATIC: "static camera, the camera does not move",
    Motion.PAN_LEFT: "the camera slowly pans left",
    Motion.PAN_RIGHT: "the camera slowly pans right",
    Motion.TILT_UP: "the camera slowly tilts up",
    Motion.TILT_DOWN: "the camera slowly tilts down",
    Motion.TRUCK_LEFT: "the camera slowly trucks left",
    Motion.TRUCK_RIGHT: "the camera slowly trucks right",
    Motion.PEDESTAL_UP: "the camera slowly rises",
    Motion.PEDESTAL_DOWN: "the camera slowly lowers",
    Motion.ROLL_CW: "the camera slowly rolls clockwise",
    Motion.ROLL_CCW: "the camera slowly rolls counterclockwise",
    Motion.ZOOM_IN: "the camera slowly zooms in",
    Motion.ZOOM_OUT: "the camera slowly zooms out",
    Motion.PUSH_IN: "the camera slowly pushes in",
    Motion.PULL_OUT: "the camera slowly pulls out",
    Motion.ORBIT_LEFT: "the camera slowly orbits to the left",
    Motion.ORBIT_RIGHT: "the camera slowly orbits to the right",
}


def with_motion(prompt: str, motion: Motion) -> str:
    """The prompt with the camera motion described at its end."""
    phrase = MOTION_PHRASES[motion]
    prompt = prompt.strip().rstrip(".")
    return f"{prompt}, {phrase}" if prompt else phrase
