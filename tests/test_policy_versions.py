"""Publishing versions and diffing them for material changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.errors import InvalidInput, NotFound
from liveai.models import AuditEvent
from liveai.privacy.inventory import DEFAULT_INVENTORY, Category, Text, ThirdParty
from liveai.privacy.policy import policy_version
from liveai.privacy.versions import (
    compare_facts,
    diff_versions,
    facts,
    get_version,
    latest_version,
    list_versions,
    publish,
)
from liveai.settings import Settings

CLOCK = FixedClock(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))


def with_new_category() -> tuple[Category, ...]:
    face = dataclasses.replace(
        DEFAULT_INVENTORY.category("photos"),
        key="face_geometry",
        name=Text(zh="面部特征", en="face geometry"),
        purpose=Text(zh="人脸对齐", en="align faces"),
        recipients=("acme",),
    )
    return (*DEFAULT_INVENTORY.categories, face)


ACME = ThirdParty(
    key="acme",
    name=Text(zh="Acme", en="Acme"),
    summary=Text(zh="人脸对齐。", en="face alignment."),
    region="overseas",
    purpose=Text(zh="人脸对齐", en="face alignment"),
    data_received=Text(zh="图片", en="image"),
    policy_url="https://acme.example/privacy",
)


def test_publish_records_the_version_once_with_an_audit_event(session: Session) -> None:
    settings = Settings()
    row, created = publish(session, DEFAULT_INVENTORY, settings, actor="cli:ops", clock=CLOCK)
    assert created and row.version == policy_version(DEFAULT_INVENTORY, settings)
    assert row.published_at == CLOCK.now() and row.updated_on.isoformat() == "2026-06-20"
    assert row.facts == facts(DEFAULT_INVENTORY, settings)
    assert f"版本:{row.version}" in row.text_md and f"Version: {row.version}" in row.text_md
    again, created_again = publish(session, DEFAULT_INVENTORY, settings, clock=CLOCK)
    assert again.id == row.id and not created_again
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.published"))
    assert [e.details for e in events] == [{"version": row.version, "updated": "2026-06-20"}]
    assert get_version(session, row.version[:6]).id == row.id
    assert latest_version(session) is not None


def test_versions_are_listed_in_order_and_found_by_prefix(session: Session) -> None:
    first, _ = publish(session, DEFAULT_INVENTORY, Settings(), clock=CLOCK)
    second, _ = publish(session, DEFAULT_INVENTORY, Settings(log_retention_days=14), clock=CLOCK)
    assert [v.version for v in list_versions(session)] == [first.version, second.version]
    assert latest_version(session) == second
    with pytest.raises(NotFound, match="liveai policy versions"):
        get_version(session, "ffffffff")
    with pytest.raises(InvalidInput, match="too short"):
        get_version(session, "ab")


def test_a_new_category_recipient_or_purpose_is_material(session: Session) -> None:
    old, _ = publish(session, DEFAULT_INVENTORY, Settings(), clock=CLOCK)
    changed = dataclasses.replace(
        DEFAULT_INVENTORY,
        categories=with_new_category(),
        third_parties=(*DEFAULT_INVENTORY.third_parties, ACME),
    )
    result = diff_versions(session, old.version, "current", changed, Settings())
    assert result.needs_consent
    assert result.material == ["new data category: face_geometry", "new recipient: acme (overseas)"]
    assert any(line.startswith("+") and "Acme" in line for line in result.text_diff)
    assert result.old == old.version and result.new == policy_version(changed, Settings())


def test_a_rewording_or_shorter_retention_is_not_material(session: Session) -> None:
    old, _ = publish(session, DEFAULT_INVENTORY, Settings(), clock=CLOCK)
    new, _ = publish(session, DEFAULT_INVENTORY, Settings(log_retention_days=14), clock=CLOCK)
    result = diff_versions(session, old.version, new.version, DEFAULT_INVENTORY, Settings())
    assert not result.needs_consent
    assert result.changes == [
        "retention_days: {'upload': 30, 'log': 30} -> {'upload': 30, 'log': 14}"
    ]
    assert any(line.startswith("-") and "nginx logs — 30 days" in line for line in result.text_diff)
    assert any(line.startswith("+") and "nginx logs — 14 days" in line for line in result.text_diff)
    same = diff_versions(session, "current", "current", DEFAULT_INVENTORY, Settings())
    assert same.material == same.changes == same.text_diff == []


def test_compare_facts_sees_a_new_purpose_and_a_recipient_for_a_category() -> None:
    old = facts(DEFAULT_INVENTORY, Settings())
    photos = dataclasses.replace(
        DEFAULT_INVENTORY.category("photos"),
        purpose=Text(zh="训练模型", en="train models"),
        recipients=(*DEFAULT_INVENTORY.category("photos").recipients, "apns"),
    )
    categories = tuple(photos if c.key == "photos" else c for c in DEFAULT_INVENTORY.categories)
    new = facts(dataclasses.replace(DEFAULT_INVENTORY, categories=categories), Settings())
    material, _ = compare_facts(old, new)
    assert material == ["new purpose for photos: train models", "photos now goes to apns"]
