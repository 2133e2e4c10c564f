"""liveai policy: render, lint and publish the privacy policy; App Privacy label; ROPA."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import App
from liveai_cli.groups import summary

app = App(help=summary("policy"))

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command("render")
def render(
    lang: Annotated[choices.PolicyLang, typer.Option(help="both: Chinese first.")] = "both",
    fmt: Annotated[choices.PolicyFormat, typer.Option("--format", help="The file format.")] = "md",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Render the privacy policy from the data inventory.

    Example: liveai policy render --lang both --format html --out policy.html
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.policy import render_policy

    rendered = render_policy(DEFAULT_INVENTORY, state.settings(), lang=lang, fmt=fmt)
    if out is None:
        output.text(rendered.text.rstrip("\n"))
        return
    out.write_text(rendered.text, encoding="utf-8")
    output.info(f"wrote {out} (version {rendered.version}, updated {rendered.updated})")


@app.command("lint")
def lint(
    text: Annotated[
        Path | None,
        typer.Option(help="Lint this policy text instead of the inventory and its rendering."),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Report every gap and drift in the policy, one line each with its location; exit 1
    when any is found.

    Example: liveai policy lint --json
    """
    from dataclasses import asdict

    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.lint import lint_policy, lint_text
    from liveai.privacy.policy import render_policy

    settings = state.settings()
    if text is not None:
        issues = lint_text(_read(text), settings, source=str(text))
    else:
        from liveai.models import Base

        rendered = render_policy(DEFAULT_INVENTORY, settings, fmt="txt").text
        issues = lint_policy(DEFAULT_INVENTORY, settings, rendered, Base.metadata)
    if json_:
        output.emit_json({"ok": not issues, "issues": [asdict(i) for i in issues]})
    else:
        for issue in issues:
            output.text(f"{issue.location}: {issue.code}: {issue.message}")
        output.info(f"{len(issues)} issue(s)" if issues else "policy lint clean")
    if issues:
        raise typer.Exit(1)


def _read(path: Path) -> str:
    from liveai.errors import InvalidInput

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", hint="give a UTF-8 text file") from None


@app.command("app-privacy")
def app_privacy(
    json_: JsonOption = False,
    xcprivacy: Annotated[
        bool, typer.Option("--xcprivacy", help="Print a PrivacyInfo.xcprivacy fragment.")
    ] = False,
) -> None:
    """Show Apple's App Privacy details: data types, purposes, linked, tracking.

    Example: liveai policy app-privacy --json
    """
    from liveai.privacy import labels
    from liveai.privacy.inventory import DEFAULT_INVENTORY

    if xcprivacy:
        output.text(labels.xcprivacy(DEFAULT_INVENTORY).rstrip("\n"))
        return
    label = labels.app_privacy(DEFAULT_INVENTORY)
    if json_:
        output.emit_json(label)
        return
    rows = [
        {**d, "linked": _yes(d["linked"]), "tracking": _yes(d["tracking"])}
        for d in label["data_types"]
    ]
    output.table(rows, ["group", "data_type", "linked", "tracking", "purposes"])
    output.info(f"used to track you: {_yes(label['tracking'])}")


def _yes(flag: Any) -> str:
    return "yes" if flag else "no"


@app.command("ropa")
def ropa(
    fmt: Annotated[choices.RopaFormat, typer.Option("--format", help="The file format.")] = "md",
) -> None:
    """Print the record of processing activities (GDPR art. 30, PIPL disclosures).

    Example: liveai policy ropa --format json
    """
    from liveai.errors import InvalidInput
    from liveai.privacy import labels
    from liveai.privacy.inventory import DEFAULT_INVENTORY

    settings = state.settings()
    if fmt == "json":
        output.emit_json(labels.ropa(DEFAULT_INVENTORY, settings))
    elif fmt == "md":
        output.text(labels.ropa_markdown(DEFAULT_INVENTORY, settings).rstrip("\n"))
    else:
        raise InvalidInput(f"unknown format {fmt!r}", hint="use md or json")


@app.command("publish")
def publish() -> None:
    """Record the current policy version (its hash, update date and facts) as published.

    Example: liveai policy publish
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.versions import publish as publish_version

    with state.session() as session:
        row, created = publish_version(
            session, DEFAULT_INVENTORY, state.settings(), actor=state.actor()
        )
        version, published = row.version, row.published_at.isoformat()
    if created:
        output.info(f"published policy version {version}")
    else:
        output.info(f"policy version {version} was already published at {published}")
    output.text(version)


@app.command("versions")
@output.list_options
def versions(fmt: output.Format = output.HUMAN) -> None:
    """List the published policy versions, oldest first.

    Example: liveai policy versions --json
    """
    from liveai.privacy.versions import list_versions, version_to_dict

    with state.session() as session:
        rows = [version_to_dict(v) for v in list_versions(session)]
    columns = ["version", "updated", "published_at", "actor", "categories"]
    output.emit(rows, fmt, columns, empty="no policy version published yet")


@app.command("diff")
def diff(
    old: Annotated[str, typer.Argument(help="A published version (hash or prefix), or current.")],
    new: Annotated[str, typer.Argument(help="A published version, or current.")] = "current",
    json_: JsonOption = False,
) -> None:
    """Show what changed between two policy versions and flag changes that need fresh consent.

    Example: liveai policy diff 3f2a9c current
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.versions import diff_versions

    with state.session() as session:
        result = diff_versions(session, old, new, DEFAULT_INVENTORY, state.settings())
    if json_:
        output.emit_json(result.to_dict())
        return
    for line in result.material:
        output.text(f"MATERIAL  {line}")
    for line in result.changes:
        output.text(f"changed   {line}")
    for line in result.text_diff:
        output.text(line)
    if result.needs_consent:
        output.warn("material change: users must consent again before new data is processed")
    elif not result.text_diff:
        output.info(f"{result.old} and {result.new} are the same")
