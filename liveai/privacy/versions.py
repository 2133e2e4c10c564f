"""Published policy versions, and what changed between two of them.

A version is named by its content hash. Publishing stores the facts it was rendered from,
so `diff` can tell a material change (a new data category, recipient or purpose: §8
promises to ask for consent again) from a rewording.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai import audit
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import InvalidInput, NotFound
from liveai.models import PolicyVersion
from liveai.privacy.inventory import Inventory
from liveai.privacy.policy import policy_version, render_policy, values
from liveai.settings import Settings

CURRENT = "current"


def facts(inventory: Inventory, settings: Settings) -> dict[str, Any]:
    """The facts a change of which can need fresh consent, as plain JSON."""
    vals = values(inventory, settings)
    return {
        "updated": inventory.updated.isoformat(),
        "categories": {
            c.key: {
                "name": c.name.en,
                "purpose": c.purpose.en.format(**vals),
                "recipients": sorted(c.recipients),
                "retention": c.retention.kind,
                "erasure": c.erasure.action,
            }
            for c in inventory.categories
        },
        "recipients": {
            t.key: {"name": t.name.en, "region": t.region, "purpose": t.purpose.en}
            for t in inventory.third_parties
        },
        "retention_days": {
            "upload": settings.upload_retention_days,
            "log": settings.log_retention_days,
        },
        "sla_working_days": inventory.sla_working_days,
    }


def publish(
    session: Session,
    inventory: Inventory,
    settings: Settings,
    *,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[PolicyVersion, bool]:
    """Record the current version; returns it and whether it is new (publishing twice is
    harmless)."""
    version = policy_version(inventory, settings)
    existing = session.scalar(select(PolicyVersion).where(PolicyVersion.version == version))
    if existing is not None:
        return existing, False
    row = PolicyVersion(
        version=version,
        updated_on=inventory.updated,
        published_at=clock.now().astimezone(UTC),
        actor=actor,
        facts=facts(inventory, settings),
        text_md=render_policy(inventory, settings, lang="both", fmt="md").text,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "policy.published",
        details={"version": version, "updated": inventory.updated.isoformat()},
        actor=actor,
        clock=clock,
    )
    return row, True


def list_versions(session: Session) -> Sequence[PolicyVersion]:
    return session.scalars(select(PolicyVersion).order_by(PolicyVersion.id)).all()


def latest_version(session: Session) -> PolicyVersion | None:
    return session.scalar(select(PolicyVersion).order_by(PolicyVersion.id.desc()).limit(1))


def get_version(session: Session, ref: str) -> PolicyVersion:
    """A published version by its hash or a unique prefix of it (at least 4 characters)."""
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


def version_to_dict(row: PolicyVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "updated": row.updated_on.isoformat(),
        "published_at": row.published_at.isoformat(),
        "actor": row.actor,
        "categories": len(row.facts.get("categories", {})),
        "recipients": len(row.facts.get("recipients", {})),
    }


@dataclass(frozen=True)
class PolicyDiff:
    old: str
    new: str
    material: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    text_diff: list[str] = field(default_factory=list)

    @property
    def needs_consent(self) -> bool:
        return bool(self.material)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "needs_consent": self.needs_consent,
            "material": self.material,
            "changes": self.changes,
            "text_diff": self.text_diff,
        }


def _side(
    session: Session, ref: str, inventory: Inventory, settings: Settings
) -> tuple[str, dict[str, Any], str]:
    if ref == CURRENT:
        rendered = render_policy(inventory, settings, lang="both", fmt="md")
        return rendered.version, facts(inventory, settings), rendered.text
    row = get_version(session, ref)
    return row.version, row.facts, row.text_md


def diff_versions(
    session: Session, old: str, new: str, inventory: Inventory, settings: Settings
) -> PolicyDiff:
    """Compare two versions (published hashes, or "current" for the unpublished inventory)."""
    old_name, old_facts, old_text = _side(session, old, inventory, settings)
    new_name, new_facts, new_text = _side(session, new, inventory, settings)
    material, changes = compare_facts(old_facts, new_facts)
    text_diff = list(
        difflib.unified_diff(
            old_text.splitlines(), new_text.splitlines(), old_name, new_name, lineterm=""
        )
    )
    return PolicyDiff(old_name, new_name, material, changes, text_diff)


def compare_facts(old: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(material changes, other changes) between two fact sets."""
    material: list[str] = []
    changes: list[str] = []
    old_cats, new_cats = old.get("categories", {}), new.get("categories", {})
    for key in sorted(set(new_cats) - set(old_cats)):
        material.append(f"new data category: {key}")
    for key in sorted(set(old_cats) - set(new_cats)):
        changes.append(f"data category no longer processed: {key}")
    for key in sorted(set(old_cats) & set(new_cats)):
        before, after = old_cats[key], new_cats[key]
        if before["purpose"] != after["purpose"]:
            material.append(f"new purpose for {key}: {after['purpose']}")
        for recipient in sorted(set(after["recipients"]) - set(before["recipients"])):
            material.append(f"{key} now goes to {recipient}")
        for name in ("retention", "erasure"):
            if before[name] != after[name]:
                changes.append(f"{key} {name}: {before[name]} -> {after[name]}")
    old_rec, new_rec = old.get("recipients", {}), new.get("recipients", {})
    for key in sorted(set(new_rec) - set(old_rec)):
        material.append(f"new recipient: {key} ({new_rec[key]['region']})")
    for key in sorted(set(old_rec) & set(new_rec)):
        if old_rec[key]["purpose"] != new_rec[key]["purpose"]:
            material.append(f"new purpose for recipient {key}: {new_rec[key]['purpose']}")
        if old_rec[key]["region"] != new_rec[key]["region"]:
            material.append(f"recipient {key} moved to {new_rec[key]['region']}")
    for key in sorted(set(old_rec) - set(new_rec)):
        changes.append(f"recipient removed: {key}")
    for name in ("retention_days", "sla_working_days", "updated"):
        if old.get(name) != new.get(name):
            changes.append(f"{name}: {old.get(name)} -> {new.get(name)}")
    return material, changes
