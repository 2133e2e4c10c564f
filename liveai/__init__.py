"""liveai: the operations and compliance library behind the live.ai app.

The scripting facade, loaded on first use so that `import liveai` stays light:

    import liveai

    result = liveai.generate("photo.jpg", prompt="waves roll in", out="videos")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Result", "__version__", "generate", "generate_many"]

if TYPE_CHECKING:
    from liveai.scripting import Result, generate, generate_many

_FACADE = ("Result", "generate", "generate_many")


def __getattr__(name: str) -> Any:
    if name in _FACADE:
        from liveai import scripting

        return getattr(scripting, name)
    raise AttributeError(f"module 'liveai' has no attribute {name!r}")
