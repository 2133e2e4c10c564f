"""liveai db: migrate and inspect the database schema."""

from __future__ import annotations

import typer

from liveai_cli import output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("db"))


@app.command("upgrade")
@output.json_option
def upgrade(fmt: output.Format = output.HUMAN) -> None:
    """Apply every pending migration.

    Example: LIVEAI_DATABASE_URL=postgresql+psycopg://localhost/liveai liveai db upgrade
    """
    from liveai import db

    with state.database(check_schema=False) as database:
        db.upgrade(database.engine)
    heads = sorted(db.head_revisions())
    output.done(
        {"revision": heads[0] if len(heads) == 1 else heads, "up_to_date": True},
        fmt,
        f"database at {', '.join(heads)}",
    )


@app.command("current")
@output.json_option
def current(fmt: output.Format = output.HUMAN) -> None:
    """Say which revision the database is at, as "at revision N of M", and whether it is current.


    Example: liveai db current --json
    """
    from liveai import db

    with state.database(check_schema=False) as database:
        db.ping(database.engine)
        schema = db.schema_state(database.engine)
    applied, total = db.revision_counts(schema.current)
    current = sorted(schema.current)
    report = {
        "current": current,
        "heads": sorted(schema.heads),
        "applied": applied,
        "total": total,
        "up_to_date": schema.up_to_date,
    }
    if fmt.json:
        output.emit(report, fmt)
        return
    where = ", ".join(current) or "an empty database"
    verdict = "up to date" if schema.up_to_date else "run `liveai db upgrade`"
    output.text(f"at revision {applied} of {total} ({where}): {verdict}")


@app.command("check")
@output.json_option
def check(fmt: output.Format = output.HUMAN) -> None:
    """Exit 1 when the models and the migrations differ (the database must be up to date).

    Example: liveai db check
    """
    from liveai import db
    from liveai.schema_check import model_differences

    with state.database() as database:
        differences = model_differences(database.engine)
    if fmt.json:
        output.emit({"differences": differences, "ok": not differences}, fmt)
    for line in differences:
        output.error(f"models and migrations differ: {line}")
    if differences:
        output.info("write a migration for these changes")
        raise typer.Exit(1)
    if not fmt.json:
        output.info(f"models match migrations at {', '.join(sorted(db.head_revisions()))}")
