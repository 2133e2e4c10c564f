"""How the root command ends: usage errors in one line plus the usage, exit codes kept.

Typer draws a usage error in a box over several lines; here it is `error: ...` and the
usage line, on stderr, exit 2. Asking for help by giving no command is not an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from liveai_cli import output


def run_standalone(invoke: Callable[[], Any]) -> int:
    """Run the root command without Click's standalone handling; return the exit code."""
    from liveai.errors import ExitCode, LiveAIError

    try:
        result = invoke()
    except LiveAIError as exc:
        from liveai_cli.app import debug_enabled

        if debug_enabled():
            raise
        output.error(str(exc))
        return int(exc.exit_code)
    except Exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            return 0
        if type(exc).__name__ == "Abort":
            output.error("aborted")
            return 1
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        _usage_error(exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        output.error("interrupted")
        return int(ExitCode.INTERRUPTED)
    return result if isinstance(result, int) else 0


def _usage_error(exc: Any) -> None:
    message = " ".join(str(exc.format_message()).replace("Value error, ", "").split())
    output.error(message)
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        output.info(ctx.get_usage())
        output.info(f"Try '{ctx.command_path} -h' for help.")


def suggest_across_groups(root: Any, ctx: Any, typed: str, exc: Any) -> None:
    """Name the group that has a command called (like) `typed`: `export` -> `privacy export`."""
    found: list[str] = []
    for group_name in root.list_commands(ctx):
        group = root.get_command(ctx, group_name)
        names = list(getattr(group, "commands", {}))
        found += [f"{group_name} {n}" for n in names if n == typed]
    if not found:
        every = {
            f"{g} {n}": n
            for g in root.list_commands(ctx)
            for n in getattr(root.get_command(ctx, g), "commands", {})
        }
        close = difflib.get_close_matches(typed, list(every.values()), n=3, cutoff=0.8)
        found = [path for path, n in every.items() if n in close][:3]
    if found:
        suggestions = " or ".join(f"`liveai {path}`" for path in found)
        exc.message = f"{str(exc.message).rstrip('.')}. Did you mean {suggestions}?"
