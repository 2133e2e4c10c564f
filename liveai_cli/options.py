"""Options and arguments several commands share, declared once so they read the same
everywhere. The output flags are added by `@output.list_options` and `@output.json_option`."""

from __future__ import annotations

from typing import Annotated

import typer

from liveai_cli.complete import user_ids

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (see JSON shapes).")]
NlOption = Annotated[bool, typer.Option("--nl", help="Print one JSON object per line.")]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print CSV with a header.")]
WideOption = Annotated[bool, typer.Option("--wide", help="Show every column, never folded.")]

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would be done.")]
UserOption = Annotated[str, typer.Option("--user", help="A user id, or a subject bound to it.")]
UserArg = Annotated[
    str,
    typer.Argument(
        help="A user id (or a unique prefix), or a subject bound to the user.",
        autocompletion=user_ids,
    ),
]
UserRefArg = Annotated[str, typer.Argument(help="A user id, or a subject bound to the user.")]
