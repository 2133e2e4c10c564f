"""liveai: the operations and compliance library behind the live.ai app."""

__version__ = "0.1.0"

__all__ = ["__version__"]
