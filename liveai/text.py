"""Free text from people (display names, prompts) and from anywhere else on its way to a
terminal: no control characters, which could move the cursor, retitle the window or plant
a hyperlink (C0, DEL and the C1 block, where 0x9B is an 8-bit CSI)."""

from __future__ import annotations

import re

from liveai.errors import InvalidInput

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps tab and newline


def refuse_control(text: str, *, what: str, lines: bool = False) -> str:
    """``text`` unchanged, or InvalidInput naming the first control character in it
    (``lines`` allows tabs and newlines)."""
    found = (CONTROL_BUT_LINES if lines else CONTROL).search(text)
    if found is not None:
        raise InvalidInput(
            f"the {what} contains a control character (U+{ord(found.group()):04X})",
            hint=f"give the {what} as plain text",
        )
    return text


def strip_control(text: str) -> str:
    """``text`` without control characters other than tab and newline."""
    return CONTROL_BUT_LINES.sub("", text)
