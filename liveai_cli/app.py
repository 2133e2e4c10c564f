"""The Typer app class every command group uses: library errors become exit codes."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from liveai.errors import ExitCode, LiveAIError
from liveai_cli import output

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def debug_enabled() -> bool:
    return os.environ.get("LIVEAI_DEBUG", "") not in ("", "0", "false")


def guarded(fn: F) -> F:
    """Turn a LiveAIError into one clear line and its exit code; Ctrl-C into 130."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            _refuse_undecodable(kwargs)
            return fn(*args, **kwargs)
        except LiveAIError as exc:
            if debug_enabled():
                raise
            output.error(str(exc))
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            output.error("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except Exception as exc:
            from liveai.outage import describe

            known = describe(exc)  # a lost database, a full disk: one line, not a traceback
            if known is None or debug_enabled():
                raise
            output.error(str(known))
            raise typer.Exit(int(known.exit_code)) from None

    return wrapper  # type: ignore[return-value]


def _refuse_undecodable(kwargs: dict[str, Any]) -> None:
    """An argument that is not UTF-8 (it arrives with surrogate escapes) is bad input."""
    for name, value in kwargs.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            try:
                str(item).encode("utf-8")
            except UnicodeEncodeError:
                from liveai.errors import InvalidInput

                shown = name.rstrip("_").replace("_", "-").upper()
                raise InvalidInput(
                    f"{shown} is not valid UTF-8 text", hint="pass it in UTF-8"
                ) from None


class App(typer.Typer):
    """A Typer group whose commands are guarded and show help when called bare."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
        kwargs.setdefault("rich_markup_mode", "rich")
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:  # type: ignore[override]
        register = super().command(*args, **kwargs)

        def decorator(fn: F) -> F:
            register(guarded(fn))
            return fn

        return decorator
