"""Published policy versions, and what changed between two of them.

A version is named by its content hash (its identity) and shown to users by a date-based
label. Publishing refuses while `policy lint` has errors unless the operator accepts the
risk, which the audit log records with the reason and the findings. The published text is
stored exactly as published (Markdown, HTML and plain text, with its updated and effective
dates), together with a snapshot of the facts it was rendered from, so `diff` can tell a
material change from a rewording (`liveai.privacy.changes`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

from sqlalchemy import MetaData, func, select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import InvalidInput, NotFound, PolicyLintFailed
from liveai.models import PolicyVersion
from liveai.privacy.changes import Change, compare, snapshot
from liveai.privacy.document import Dates
from liveai.privacy.facts import EMPTY, OperatorFacts
from liveai.privacy.inventory_types import Inventory
from liveai.privacy.lint import errors, lint_policy
from liveai.privacy.policy import FORMATS, policy_version, render_policy
from liveai.settings import Settings

CURRENT = "current"
FRESH_CONSENT = frozenset({"new_category", "new_purpose"})


def facts(
    inventory: Inventory, settings: Settings, operator_facts: OperatorFacts = EMPTY
) -> dict[str, Any]:
    """The facts a change of which can need fresh consent, as plain JSON."""
    return snapshot(inventory, settings, operator_facts)


def _label(session: Session, day: date) -> str:
    same_day = session.scalar(
        select(func.count())
        .select_from(PolicyVersion)
        .where(PolicyVersion.label.startswith(day.isoformat()))
    )
    return day.isoformat() if not same_day else f"{day.isoformat()}.{same_day + 1}"


def _finding(issue: Any) -> str:
    line = f" (line {issue.line})" if issue.line else ""
    return f"{issue.location}{line}: {issue.code}: {issue.message}"


def publish(
    session: Session,
    inventory: Inventory,
    settings: Settings,
    operator_facts: OperatorFacts = EMPTY,
    *,
    actor: str = "system",
    effective: date | None = None,
    accept_risk: str | None = None,
    metadata: MetaData | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[PolicyVersion, bool]:
    """Publish the current version; returns it and whether it is new (publishing the same
    content twice is harmless). Refuses while lint has errors, unless ``accept_risk`` gives
    the reason to publish anyway."""
    today = clock.now().astimezone(UTC).date()
    if effective is not None and effective < today:
        raise InvalidInput(
            f"effective date {effective} is before today ({today})",
            hint="give today or a later date",
        )
    version = policy_version(inventory, settings, operator_facts)
    existing = session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
    if existing is not None:
        return existing, False
    findings = [
        _finding(i) for i in errors(lint_policy(inventory, settings, operator_facts, metadata))
    ]
    if accept_risk is not None and not accept_risk.strip():
        raise InvalidInput("--accept-risk needs a reason", hint="say why it is published anyway")
    if findings and accept_risk is None:
        raise PolicyLintFailed(findings)
    dates = Dates(updated=today, effective=effective or today, label=_label(session, today))
    texts = {
        fmt: render_policy(inventory, settings, operator_facts, fmt=fmt, dates=dates).text
        for fmt in FORMATS
    }
    row = PolicyVersion(
        version=version,
        label=dates.label,
        updated_on=dates.updated,
        effective_on=dates.effective,
        published_at=clock.now().astimezone(UTC),
        actor=actor,
        facts=snapshot(inventory, settings, operator_facts),
        text_md=texts["md"],
        text_html=texts["html"],
        text_txt=texts["txt"],
    )
    session.add(row)
    session.flush()
    events = [
        audit.Event(
            "policy.published",
            None,
            {
                "version": version,
                "label": dates.label,
                "updated": dates.updated.isoformat(),
                "effective": dates.effective.isoformat(),
            },
            actor,
        )
    ]
    if findings:
        events.append(
            audit.Event(
                "policy.risk_accepted",
                None,
                {"version": version, "reason": accept_risk, "findings": findings},
                actor,
            )
        )
    audit.record_many(session, events, clock=clock)
    return row, True


def list_versions(session: Session) -> Sequence[PolicyVersion]:
    return session.scalars(select(PolicyVersion).order_by(PolicyVersion.id)).all()


def latest_version(session: Session) -> PolicyVersion | None:
    return session.scalar(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1))


def get_version(session: Session, ref: str) -> PolicyVersion:
    """A published version by its label, its hash or a unique prefix of the hash (at least 4
    characters)."""
    by_label = session.scalar(select(PolicyVersion).where(PolicyVersion.label == ref))
    if by_label is not None:
        return by_label
    if len(ref) < 4:
        raise InvalidInput(f"version {ref!r} is too short", hint="give at least 4 characters")
    rows = session.scalars(
        select(PolicyVersion).where(PolicyVersion.version.startswith(ref, autoescape=True))
    ).all()
    if len(rows) > 1:
        raise InvalidInput(f"version {ref!r} is ambiguous", hint="give more characters")
    if not rows:
        raise NotFound(f"no published policy version {ref!r}", hint="see `liveai policy versions`")
    return rows[0]


def published_text(row: PolicyVersion, fmt: str = "md") -> str:
    """A version's text exactly as it was published."""
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", hint="use md, html or txt")
    text = {"md": row.text_md, "html": row.text_html, "txt": row.text_txt}[fmt]
    if text is None:
        raise NotFound(
            f"version {row.version} was published before {fmt} was kept",
            hint="use --format md",
        )
    return text


def version_to_dict(row: PolicyVersion) -> dict[str, Any]:
    return {
        "label": row.label or row.version,
        "version": row.version,
        "updated": row.updated_on.isoformat(),
        "effective": row.effective_on.isoformat() if row.effective_on else None,
        "published_at": row.published_at.isoformat(),
        "actor": row.actor,
        "categories": len(row.facts.get("categories", {})),
        "recipients": len(row.facts.get("recipients", {})),
    }


@dataclass(frozen=True)
class PolicyDiff:
    old: str
    new: str
    changes: list[Change] = field(default_factory=list)
    text_diff: list[str] = field(default_factory=list)

    @property
    def material(self) -> list[Change]:
        return [c for c in self.changes if c.material]

    @property
    def editorial(self) -> list[Change]:
        return [c for c in self.changes if not c.material]

    @property
    def needs_notice(self) -> bool:
        """§8: a material change is announced prominently in the app."""
        return bool(self.material)

    @property
    def needs_consent(self) -> bool:
        """§8: new data types (or a new purpose) are processed only after fresh consent."""
        return any(c.kind in FRESH_CONSENT for c in self.changes)

    def summary(self) -> dict[str, list[str]]:
        """The plain-language notice for the app, material changes first."""
        return {lang: [getattr(c, lang) for c in self.changes] for lang in ("zh", "en")}

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "needs_notice": self.needs_notice,
            "needs_consent": self.needs_consent,
            "material": [c.to_dict() for c in self.material],
            "editorial": [c.to_dict() for c in self.editorial],
            "summary": self.summary(),
            "text_diff": self.text_diff,
        }


def _side(
    session: Session,
    ref: str,
    inventory: Inventory,
    settings: Settings,
    operator_facts: OperatorFacts,
) -> tuple[str, dict[str, Any], str]:
    if ref == CURRENT:
        rendered = render_policy(inventory, settings, operator_facts, lang="both", fmt="md")
        return CURRENT, snapshot(inventory, settings, operator_facts), rendered.text
    row = get_version(session, ref)
    return row.label or row.version, row.facts, row.text_md


_META = ("更新日期", "生效日期", "版本", "Last Updated", "Effective", "Version")


def _body(text: str) -> list[str]:
    """The text without its date and version lines, which differ between any two versions."""
    return [line for line in text.splitlines() if not line.lstrip("# ").startswith(_META)]


def diff_versions(
    session: Session,
    old: str,
    new: str,
    inventory: Inventory,
    settings: Settings,
    operator_facts: OperatorFacts = EMPTY,
) -> PolicyDiff:
    """Compare two versions (labels, hashes, or "current" for the unpublished inventory)."""
    old_name, old_facts, old_text = _side(session, old, inventory, settings, operator_facts)
    new_name, new_facts, new_text = _side(session, new, inventory, settings, operator_facts)
    changes = compare(old_facts, new_facts)
    text_diff = list(
        difflib.unified_diff(_body(old_text), _body(new_text), old_name, new_name, lineterm="")
    )
    if text_diff and not changes:
        changes = [
            Change(
                "wording",
                False,
                "text",
                "措辞调整,不涉及处理方式的变化。",
                "Wording changed; how your data is processed did not.",
            )
        ]
    return PolicyDiff(old_name, new_name, changes, text_diff)
