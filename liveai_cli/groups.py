"""The command groups of `liveai`, loaded only when used.

`liveai --help` lists every group from the summaries below without importing a group's
module or building its commands; `liveai users list` imports and builds `users` alone.
Each group lives in `liveai_cli/<name>.py` as a Typer app named `app`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

Command = TyperCommand | TyperGroup

# `liveai --help` shows one panel per persona, in this order; a group missing here
# goes to the last panel.
PANELS: dict[str, list[str]] = {
    "Generate": ["generate", "tasks", "worker", "providers", "intake", "livephoto"],
    "Money": ["credits", "receipts"],
    "Users & devices": ["users", "auth", "devices", "push"],
    "Compliance": ["requests", "privacy", "consents", "calendar", "policy", "audit", "retention"],
    "Operate": ["doctor", "config", "db", "storage"],
}
OTHER_PANEL = "More"

SUMMARIES: dict[str, str] = {
    "config": "Show the settings in force (secrets masked) and the config file path.",
    "db": "Migrate the database and check it against the models.",
    "users": "Create, show, list and rename users.",
    "credits": "Credits: balances, history, grants, revocations, holds and reconciliation.",
    "audit": "List audit events and verify the hash chain.",
    "auth": "Verify and bind sign-in tokens (Logto, Sign in with Apple); revoke Apple tokens.",
    "requests": "Open, track, verify, run, refuse and extend data-subject requests.",
    "privacy": "Export everything held about a user (access and portability).",
    "calendar": ("Working-day deadlines (mainland calendar, GDPR month) and calendar data status."),
    "retention": "Retention sweeps (uploaded photos, nginx logs, kept records) and what is held.",
    "receipts": ("Verify App Store purchases, credit them once, apply refunds and notifications."),
    "devices": "List, add and remove a user's APNs devices (completion notifications only).",
    "push": "Send APNs notifications: to every device of a user, or a test to one token.",
    "policy": "Render, lint and publish the privacy policy, the App Privacy label and ROPA.",
    "providers": "List the remote video providers and check that they answer.",
    "storage": "Check the object storage (local folder or S3 bucket) and list what it holds.",
    "intake": "Check photos against the intake rules (type, size, ratio, frames).",
    "generate": (
        "Generate videos: `liveai generate PHOTO` (short for `liveai generate image PHOTO`) "
        "or `liveai generate batch MANIFEST`."
    ),
    "tasks": "List, show, cancel, resume and delete generation tasks.",
    "consents": "Users' consents: list, history, grant, withdraw; what each step requires.",
    "livephoto": "Write and inspect Live Photo pairs (still + MOV) and Android Motion Photos.",
}


def summary(name: str) -> str:
    """The one-line help of a group, shared by the root listing and the group itself."""
    return SUMMARIES[name]


def panel(name: str) -> str:
    return next((title for title, names in PANELS.items() if name in names), OTHER_PANEL)


def _position(name: str) -> int:
    order = [n for names in PANELS.values() for n in names]
    return order.index(name) if name in order else len(order)


def load_group(name: str) -> Command:
    module = importlib.import_module(f"liveai_cli.{name}")
    group = typer.main.get_group(module.app)
    group.name = name
    group.rich_help_panel = panel(name)
    return group


class LazyCommands(MutableMapping[str, Command]):
    """Commands by name, in order: built ones as they are, the groups built on first use."""

    def __init__(self, built: MutableMapping[str, Command], lazy: list[str]) -> None:
        self.built = dict(built)
        self.names = [*built, *(n for n in lazy if n not in built)]

    def __getitem__(self, name: str) -> Command:
        if name not in self.built:
            if name not in self.names:
                raise KeyError(name)
            self.built[name] = load_group(name)
        return self.built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self.names:
            self.names.append(name)
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        self.names.remove(name)
        self.built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.names))

    def __len__(self) -> int:
        return len(self.names)


class LazyGroup(TyperGroup):
    """The root group: its own commands, plus every group in SUMMARIES, loaded lazily."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lazy_commands = LazyCommands(self.commands, list(SUMMARIES))  # type: ignore[arg-type]
        self.commands = self.lazy_commands  # type: ignore[assignment]
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(self.lazy_commands, key=_position)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self._listing and cmd_name in SUMMARIES and cmd_name not in self.lazy_commands.built:
            return TyperGroup(
                name=cmd_name, help=summary(cmd_name), rich_help_panel=panel(cmd_name)
            )
        found = self.lazy_commands.get(cmd_name)
        if found is not None:
            found.rich_help_panel = panel(cmd_name)
        return found

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """An unknown command is suggested across groups: `export` -> `privacy export`."""
        from liveai_cli.usage import suggest_across_groups

        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:
            message = str(getattr(exc, "message", ""))
            if args and message.startswith("No such command") and "Did you mean" not in message:
                suggest_across_groups(self, ctx, args[0], exc)
            raise

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Usage errors as one line plus the usage; bare `liveai` shows help and exits 0."""
        run = super().main
        if not standalone_mode:
            return run(args, prog_name, complete_var, False, windows_expand_args, **extra)
        from liveai_cli.usage import run_standalone

        sys.exit(
            run_standalone(
                lambda: run(args, prog_name, complete_var, False, windows_expand_args, **extra)
            )
        )

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """List the groups by their summaries, without building them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
