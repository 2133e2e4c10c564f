"""liveai policy: render, lint and publish the privacy policy; versions, diff; App Privacy
label and manifest; ROPA and the PIPL lists."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from liveai_cli import choices, output, state
from liveai_cli.app import App
from liveai_cli.groups import summary
from liveai_cli.infiles import read_text

if TYPE_CHECKING:
    from liveai.privacy.facts import OperatorFacts
    from liveai.privacy.lint import LintIssue

app = App(help=summary("policy"))


def _facts() -> OperatorFacts:
    """The operator facts the settings point at (none given: every fact is missing)."""
    from liveai.privacy.facts import load_facts
    from liveai.privacy.inventory import DEFAULT_INVENTORY

    return load_facts(state.settings().policy_facts_file, DEFAULT_INVENTORY)


@app.command("render")
def render(
    lang: Annotated[choices.PolicyLang, typer.Option(help="both: Chinese first.")] = "both",
    fmt: Annotated[choices.PolicyFormat, typer.Option("--format", help="The file format.")] = "md",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Render the current (unpublished) policy from the inventory and the operator facts.

    Example: liveai policy render --lang both --format html --out policy.html
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.policy import render_policy
    from liveai_cli.outfiles import writable_file

    if out is not None:
        writable_file(out, "--out")
    rendered = render_policy(DEFAULT_INVENTORY, state.settings(), _facts(), lang=lang, fmt=fmt)
    if out is None:
        output.text(rendered.text.rstrip("\n"))
        return
    out.write_text(rendered.text, encoding="utf-8")
    output.info(f"wrote {out} (version {rendered.version}, draft)")


@app.command("lint")
@output.json_option
def lint(
    text: Annotated[
        Path | None,
        typer.Option(help="Lint this policy text instead of the inventory and its rendering."),
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Report every gap and drift in the policy: rule id, severity, where, the line it is
    about, and how to fix it; exit 1 when any finding is an error.

    Example: liveai policy lint --json
    """
    from dataclasses import asdict

    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.lint import errors, lint_policy, lint_text

    settings = state.settings()
    if text is not None:
        issues = lint_text(read_text(text), settings, source=str(text))
    else:
        from liveai.models import Base

        issues = lint_policy(DEFAULT_INVENTORY, settings, _facts(), Base.metadata)
    failed = errors(issues)
    if fmt.json:
        fields = ("code", "severity", "location", "line", "message", "hint", "excerpt")
        rows = [{k: asdict(i)[k] for k in fields} for i in issues]
        output.emit({"ok": not failed, "issues": rows}, fmt)
    else:
        for issue in issues:
            output.text(_finding(issue))
        output.info(
            f"{len(failed)} error(s), {len(issues) - len(failed)} warning(s)"
            if issues
            else "policy lint clean"
        )
    if failed:
        raise typer.Exit(1)


def _finding(issue: LintIssue) -> str:
    line = f" (line {issue.line})" if issue.line else ""
    return (
        f"{issue.location}{line}: {issue.severity} {issue.code}: {issue.message}. Fix: {issue.hint}"
    )


@app.command("app-privacy")
@output.json_option
def app_privacy(
    fmt: output.Format = output.HUMAN,
    xcprivacy: Annotated[
        bool,
        typer.Option(
            "--xcprivacy",
            help="Print PrivacyInfo.xcprivacy; refuses when the operator facts give no "
            "required-reason API entries.",
        ),
    ] = False,
) -> None:
    """Show Apple's App Privacy details: data types, purposes, linked, tracking.

    Example: liveai policy app-privacy --json
    """
    from liveai.privacy import labels
    from liveai.privacy.inventory import DEFAULT_INVENTORY

    settings = state.settings()
    if xcprivacy:
        facts_file = str(settings.policy_facts_file) if settings.policy_facts_file else None
        output.text(labels.xcprivacy(DEFAULT_INVENTORY, _facts(), facts_file).rstrip("\n"))
        return
    label = labels.app_privacy(DEFAULT_INVENTORY, settings, _facts())
    if fmt.json:
        output.emit(label, fmt)
        return
    rows = [
        {**d, "linked": _yes(d["linked"]), "tracking": _yes(d["tracking"])}
        for d in label["data_types"]
    ]
    output.table(rows, ["group", "data_type", "linked", "tracking", "purposes"])
    for d in label["data_types"]:
        for note in d["notes"]:
            output.info(f"note: {note}")
    sdks = label["client_sdks"]
    if sdks is None:
        output.warn("the operator facts do not list the app's client SDKs (app.client_sdks)")
    elif sdks:
        output.info(f"client SDKs (answers must cover them): {', '.join(sdks)}")
    output.info(f"used to track you: {_yes(label['tracking'])}")


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


@app.command("ropa")
def ropa(
    fmt: Annotated[choices.RopaFormat, typer.Option("--format", help="The file format.")] = "md",
) -> None:
    """Print the record of processing activities (GDPR art. 30(1)(a)-(g), PIPL), in both
    languages.

    Example: liveai policy ropa --format json
    """
    from liveai.errors import InvalidInput
    from liveai.privacy import ropa as record
    from liveai.privacy.inventory import DEFAULT_INVENTORY

    settings = state.settings()
    if fmt == "json":
        output.emit(record.ropa(DEFAULT_INVENTORY, settings, _facts()), output.Format("json"))
    elif fmt == "md":
        output.text(record.ropa_markdown(DEFAULT_INVENTORY, settings, _facts()).rstrip("\n"))
    else:
        raise InvalidInput(f"unknown format {fmt!r}", hint="use md or json")


@app.command("lists")
def lists(
    fmt: Annotated[str, typer.Option("--format", help="md, html or csv.")] = "md",
    which: Annotated[
        str, typer.Option("--list", help="collection, sharing or both (csv: one of them).")
    ] = "both",
) -> None:
    """Print the PIPL lists: 个人信息收集清单 (personal information collected) and
    第三方共享清单 (third-party sharing).

    Example: liveai policy lists --format csv --list sharing
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.ropa import render_lists

    text = render_lists(DEFAULT_INVENTORY, state.settings(), _facts(), fmt=fmt, which=which)
    output.text(text.rstrip("\n"))


@app.command("publish")
@output.json_option
def publish(
    effective: Annotated[
        str | None,
        typer.Option(help="Effective date, YYYY-MM-DD, today or later (default: today)."),
    ] = None,
    accept_risk: Annotated[
        str | None,
        typer.Option(
            "--accept-risk",
            metavar="REASON",
            help="Publish although lint has errors; the reason and the findings go to the "
            "audit log.",
        ),
    ] = None,
    fmt: output.Format = output.HUMAN,
) -> None:
    """Publish the current policy: refuses while lint has errors; stores the text exactly
    as published, dated today, with a date-based label.

    Example: liveai policy publish --effective 2026-12-20
    """
    from liveai.errors import PolicyLintFailed
    from liveai.models import Base
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.versions import publish as publish_version
    from liveai.privacy.versions import version_to_dict

    when = state.day(effective) if effective else None
    facts = _facts()
    try:
        with state.session() as session:
            row, created = publish_version(
                session,
                DEFAULT_INVENTORY,
                state.settings(),
                facts,
                actor=state.actor(),
                effective=when,
                accept_risk=accept_risk,
                metadata=Base.metadata,
            )
            label, version = row.label or row.version, row.version
            published, effective_on = row.published_at.isoformat(), row.effective_on
            shown = {**version_to_dict(row), "created": created}
    except PolicyLintFailed as exc:
        for finding in exc.findings:
            output.text(finding)
        raise
    if fmt.json:
        output.emit(shown, fmt)
        return
    if created:
        output.info(f"published policy {label} (version {version}, effective {effective_on})")
    else:
        output.info(f"policy {label} (version {version}) was already published at {published}")
    output.text(label)


@app.command("versions")
@output.list_options
def versions(fmt: output.Format = output.HUMAN) -> None:
    """List the published policy versions, oldest first.

    Example: liveai policy versions --json
    """
    from liveai.privacy.versions import list_versions, version_to_dict

    with state.session() as session:
        rows = [version_to_dict(v) for v in list_versions(session)]
    columns = ["label", "version", "updated", "effective", "published_at", "actor"]
    output.emit(rows, fmt, columns, empty="no policy version published yet")


@app.command("show")
def show(
    version: Annotated[str, typer.Argument(help="A published label, hash or hash prefix.")],
    fmt: Annotated[choices.PolicyFormat, typer.Option("--format", help="The file format.")] = "md",
) -> None:
    """Print a published version exactly as it was published (历史版本).

    Example: liveai policy show 2026-12-05 --format html
    """
    from liveai.privacy.versions import get_version, published_text

    with state.session() as session:
        text = published_text(get_version(session, version), fmt)
    output.text(text.rstrip("\n"))


@app.command("diff")
@output.json_option
def diff(
    old: Annotated[str, typer.Argument(help="A published version (label or hash), or current.")],
    new: Annotated[str, typer.Argument(help="A published version, or current.")] = "current",
    fmt: output.Format = output.HUMAN,
) -> None:
    """Classify what changed between two versions as material (prominent notice, fresh
    consent for new data types) or editorial, with a bilingual summary for the in-app notice.

    Example: liveai policy diff 2026-12-05 current
    """
    from liveai.privacy.inventory import DEFAULT_INVENTORY
    from liveai.privacy.versions import diff_versions

    facts = _facts()
    with state.session() as session:
        result = diff_versions(session, old, new, DEFAULT_INVENTORY, state.settings(), facts)
    if fmt.json:
        output.emit(result.to_dict(), fmt)
        return
    for change in result.changes:
        kind = "MATERIAL " if change.material else "editorial"
        output.text(f"{kind}  {change.kind}: {change.en}")
    summary = result.summary()
    if result.changes:
        output.text("")
        output.text("通知 / notice:")
        for zh, en in zip(summary["zh"], summary["en"], strict=True):
            output.text(f"- {zh}")
            output.text(f"  {en}")
    if result.text_diff:
        output.text("")
    for line in result.text_diff:
        output.text(line)
    if result.needs_consent:
        output.warn(
            "material change: notify users prominently in the app and ask for their consent "
            "before processing the new data types or purposes"
        )
    elif result.needs_notice:
        output.warn("material change: notify users prominently in the app")
    elif not result.changes:
        output.info(f"{result.old} and {result.new} are the same")
