"""The Typer app class every command group uses: library errors become exit codes."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperGroup, TyperOption

from liveai.errors import ExitCode, LiveAIError
from liveai_cli import output

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}

# What people type for a command each group names otherwise.
ALIASES = {"ls": "list", "list": "ls", "delete": "erase"}


def _flag_has_no_metavar(self: TyperOption, ctx: Any) -> str | None:
    """A flag takes no value: its help shows no `<bool>`."""
    return None if self.is_flag else _typed_metavar(self, ctx)


_typed_metavar = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_has_no_metavar  # type: ignore[method-assign]


class AliasGroup(TyperGroup):
    """A command group that also answers to the common aliases (`ls` for `list`, ...)."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is None and cmd_name in ALIASES:
            return super().get_command(ctx, ALIASES[cmd_name])
        return found


def first_paragraph(text: str) -> str:
    """A command's summary, whole: listings and docs/cli.md never cut it."""
    import inspect

    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


def with_shape(fn: Callable[..., Any], name: str | None) -> str:
    """The command's help with its JSON shape (liveai_cli/shapes.py) before the example."""
    import inspect

    from liveai_cli.shapes import shape_of

    text = inspect.cleandoc(fn.__doc__ or "")
    shape = shape_of(fn.__module__, name)
    if shape is None:
        return text
    head, example, tail = text.rpartition("\n\nExample:")
    line = f"JSON: {shape}"
    return f"{head}\n\n{line}{example}{tail}" if example else f"{text}\n\n{line}"


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
        kwargs.setdefault("cls", AliasGroup)
        kwargs.setdefault("context_settings", CONTEXT_SETTINGS)
        kwargs.setdefault("rich_markup_mode", "rich")
        kwargs.setdefault("pretty_exceptions_enable", False)
        if kwargs.get("help"):
            kwargs.setdefault("short_help", first_paragraph(kwargs["help"]))
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        def decorator(fn: F) -> F:
            short = first_paragraph(fn.__doc__ or "")
            name = args[0] if args else kwargs.get("name")
            described = {"short_help": short, "help": with_shape(fn, name)}
            register = super(App, self).command(*args, **{**described, **kwargs})
            register(guarded(fn))
            return fn

        return decorator
