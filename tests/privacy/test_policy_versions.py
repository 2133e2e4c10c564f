"""Publishing versions (gated by lint), showing them as published, classifying changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.errors import InvalidInput, NotFound, PolicyLintFailed
from liveai.models import AuditEvent, PolicyVersion
from liveai.privacy.changes import compare
from liveai.privacy.facts import EMPTY, EXAMPLE, load_facts
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.inventory_types import Inventory, LegalBasis, Text
from liveai.privacy.policy import policy_version
from liveai.privacy.versions import (
    diff_versions,
    facts,
    get_version,
    latest_version,
    list_versions,
    publish,
    published_text,
    version_to_dict,
)
from liveai.settings import Settings

CLOCK = FixedClock(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
FILLED = load_facts(EXAMPLE, DEFAULT_INVENTORY)


def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 5, 8, 0, tzinfo=UTC))


def replaced(inventory: Inventory = DEFAULT_INVENTORY, **changes: object) -> Inventory:
    return dataclasses.replace(inventory, **changes)  # type: ignore[arg-type]


def with_category(key: str, **changes: object) -> Inventory:
    new = dataclasses.replace(DEFAULT_INVENTORY.category(key), **changes)  # type: ignore[arg-type]
    return replaced(
        categories=tuple(new if c.key == key else c for c in DEFAULT_INVENTORY.categories)
    )


def with_party(key: str, **changes: object) -> Inventory:
    new = dataclasses.replace(DEFAULT_INVENTORY.third_party(key), **changes)  # type: ignore[arg-type]
    return replaced(
        third_parties=tuple(new if t.key == key else t for t in DEFAULT_INVENTORY.third_parties)
    )


def test_publish_refuses_while_lint_has_errors_and_publishes_nothing(session: Session) -> None:
    with pytest.raises(PolicyLintFailed) as refused:
        publish(session, DEFAULT_INVENTORY, Settings(), EMPTY, clock=clock())
    assert refused.value.exit_code == 1
    assert any(
        "operator.contact_email" in f and "missing-contact" in f for f in refused.value.findings
    )
    assert any("third_parties.fal.pipl39" in f for f in refused.value.findings)
    assert list_versions(session) == []
    assert session.scalars(select(AuditEvent)).all() == []


def test_accepting_the_risk_publishes_and_records_who_why_and_which(session: Session) -> None:
    row, created = publish(
        session,
        DEFAULT_INVENTORY,
        Settings(),
        EMPTY,
        actor="cli:ops",
        accept_risk="counsel signed off on 2026-12-04",
        clock=clock(),
    )
    assert created
    risk = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "policy.risk_accepted")
    ).one()
    assert risk.actor == "cli:ops" and risk.details["reason"] == "counsel signed off on 2026-12-04"
    assert risk.details["version"] == row.version
    assert any("missing-contact" in f for f in risk.details["findings"])
    with pytest.raises(InvalidInput, match="needs a reason"):
        publish(session, DEFAULT_INVENTORY, Settings(log_retention_days=9), EMPTY, accept_risk=" ")


def test_publish_records_dates_label_and_the_text_exactly_once(session: Session) -> None:
    settings = Settings()
    row, created = publish(
        session,
        DEFAULT_INVENTORY,
        settings,
        FILLED,
        actor="cli:ops",
        effective=date(2026, 12, 20),
        clock=clock(),
    )
    assert created and row.version == policy_version(DEFAULT_INVENTORY, settings, FILLED)
    assert row.label == "2026-12-05" and row.updated_on == date(2026, 12, 5)
    assert row.effective_on == date(2026, 12, 20)
    assert row.facts == facts(DEFAULT_INVENTORY, settings, FILLED)
    assert (
        "更新日期:2026 年 12 月 5 日" in row.text_md
        and "生效日期:2026 年 12 月 20 日" in row.text_md
    )
    assert f"Version: 2026-12-05 ({row.version})" in row.text_md
    assert (row.text_html or "").startswith("<!DOCTYPE html>") and row.text_txt
    again, created_again = publish(session, DEFAULT_INVENTORY, settings, FILLED, clock=clock())
    assert again.id == row.id and not created_again
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "policy.published"))
    assert [e.details for e in events] == [
        {
            "version": row.version,
            "label": "2026-12-05",
            "updated": "2026-12-05",
            "effective": "2026-12-20",
        }
    ]
    assert version_to_dict(row)["effective"] == "2026-12-20"


def test_the_effective_date_is_not_before_today(session: Session) -> None:
    with pytest.raises(InvalidInput, match="before today"):
        publish(
            session,
            DEFAULT_INVENTORY,
            Settings(),
            FILLED,
            effective=date(2026, 12, 4),
            clock=clock(),
        )
    row, _ = publish(session, DEFAULT_INVENTORY, Settings(), FILLED, clock=clock())
    assert row.effective_on == row.updated_on == date(2026, 12, 5)


def test_labels_are_dates_and_a_past_version_shows_exactly_as_published(session: Session) -> None:
    first, _ = publish(session, DEFAULT_INVENTORY, Settings(), FILLED, clock=clock())
    second, _ = publish(session, replaced(sla_working_days=14), Settings(), FILLED, clock=clock())
    later = clock()
    later.advance(timedelta(days=3))
    third, _ = publish(session, replaced(sla_working_days=13), Settings(), FILLED, clock=later)
    assert [v.label for v in list_versions(session)] == ["2026-12-05", "2026-12-05.2", "2026-12-08"]
    assert latest_version(session) == third
    shown = get_version(session, "2026-12-05")
    assert shown.id == first.id and get_version(session, second.version[:6]).id == second.id
    assert published_text(shown, "md") == first.text_md and "日志,保留 30 天" in first.text_md
    assert "更新日期:2026 年 12 月 5 日" in published_text(shown, "txt")
    with pytest.raises(NotFound, match="liveai policy versions"):
        get_version(session, "ffffffff")
    with pytest.raises(InvalidInput, match="too short"):
        get_version(session, "ab")


def _snapshot(inventory: Inventory = DEFAULT_INVENTORY, settings: Settings | None = None) -> dict:  # type: ignore[type-arg]
    return facts(inventory, settings or Settings(), FILLED)


NEW_CATEGORY = replaced(
    categories=(
        *DEFAULT_INVENTORY.categories,
        dataclasses.replace(
            DEFAULT_INVENTORY.category("photos"),
            key="face_geometry",
            name=Text(zh="面部特征", en="face geometry"),
        ),
    )
)
NEW_RECIPIENT = replaced(
    third_parties=(
        *DEFAULT_INVENTORY.third_parties,
        dataclasses.replace(
            DEFAULT_INVENTORY.third_party("kling"),
            key="acme",
            name=Text("Acme", "Acme"),
            provider=None,
        ),
    )
)
CHANGES = [
    ("new_category", NEW_CATEGORY, None),
    ("new_recipient", NEW_RECIPIENT, None),
    ("new_region", with_party("fal", region="mainland_china"), None),
    ("new_cross_border", with_party("kling", region="overseas"), None),
    ("longer_retention", DEFAULT_INVENTORY, Settings(upload_retention_days=60)),
    ("lower_minimum_age", replaced(min_age=16), None),
    (
        "changed_legal_basis",
        with_category(
            "device_token",
            legal_basis=dataclasses.replace(
                cast(LegalBasis, DEFAULT_INVENTORY.category("app_versions").legal_basis)
            ),
        ),
        None,
    ),
    (
        "removed_promise",
        replaced(
            not_collected=DEFAULT_INVENTORY.not_collected[:1] + DEFAULT_INVENTORY.not_collected[2:]
        ),
        None,
    ),
    ("changed_deadline", replaced(sla_working_days=20), None),
    ("new_purpose", with_category("photos", purpose=Text("训练模型", "train models")), None),
    ("changed_role", with_party("kling", role="independent"), None),
]


@pytest.mark.parametrize(("kind", "inventory", "settings"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_material_change_is_classified_with_a_bilingual_notice(
    kind: str, inventory: Inventory, settings: Settings | None
) -> None:
    changes = compare(_snapshot(), _snapshot(inventory, settings))
    found = [c for c in changes if c.kind == kind]
    assert found and all(c.material for c in found), changes
    assert all(c.zh and c.en and c.zh != c.en for c in found)


@pytest.mark.parametrize(
    ("kind", "inventory", "settings"),
    [
        ("shorter_retention", DEFAULT_INVENTORY, Settings(upload_retention_days=7)),
        (
            "reworded_retention",
            with_category(
                "photos",
                retention=dataclasses.replace(
                    DEFAULT_INVENTORY.category("photos").retention,
                    text=Text(
                        "最长 {upload_retention_days} 天", "at most {upload_retention_days} days"
                    ),
                ),
            ),
            None,
        ),
        ("higher_minimum_age", replaced(min_age=18), None),
        ("removed_recipient", replaced(third_parties=DEFAULT_INVENTORY.third_parties[:-1]), None),
    ],
)
def test_editorial_changes_are_not_material(kind, inventory, settings) -> None:  # type: ignore[no-untyped-def]
    changes = compare(_snapshot(), _snapshot(inventory, settings))
    assert kind in {c.kind for c in changes}
    assert not any(c.material for c in changes if c.kind == kind)


def test_the_gps_promise_dropped_is_named_in_the_notice() -> None:
    dropped = replaced(
        not_collected=tuple(t for t in DEFAULT_INVENTORY.not_collected if "GPS" not in t.en)
    )
    notice = [c for c in compare(_snapshot(), _snapshot(dropped)) if c.kind == "removed_promise"]
    assert [c.en for c in notice] == [
        "We removed the promise not to collect: Precise geolocation (GPS)."
    ]
    assert "精确地理位置(GPS)" in notice[0].zh


def test_diff_between_published_and_current(session: Session) -> None:
    old, _ = publish(session, DEFAULT_INVENTORY, Settings(), FILLED, clock=clock())
    result = diff_versions(session, old.label or "", "current", NEW_RECIPIENT, Settings(), FILLED)
    assert result.needs_notice and not result.needs_consent
    assert result.old == "2026-12-05" and result.new == "current"
    new_data = diff_versions(session, old.version, "current", NEW_CATEGORY, Settings(), FILLED)
    assert new_data.needs_notice and new_data.needs_consent
    assert {c.kind for c in result.material} == {"new_recipient", "category_recipient"}
    assert "New recipient: Acme (mainland China)." in result.summary()["en"]
    assert "新增第三方接收方:Acme(中国境内)。" in result.summary()["zh"]
    assert "Acme will now also receive: uploaded photos." in result.summary()["en"]
    assert any(line.startswith("+") and "Acme" in line for line in result.text_diff)
    as_dict = result.to_dict()
    assert as_dict["needs_notice"] and as_dict["editorial"] == []
    same = diff_versions(session, old.version, "current", DEFAULT_INVENTORY, Settings(), FILLED)
    assert same.changes == [] and same.text_diff == []
    wording = diff_versions(
        session,
        old.version,
        "current",
        with_party("kling", summary=Text("主要供应商。", "main provider.")),
        Settings(),
        FILLED,
    )
    assert [(c.kind, c.material) for c in wording.changes] == [("wording", False)]


def test_a_version_published_before_html_was_kept_says_so(session: Session) -> None:
    row = PolicyVersion(
        version="0123456789ab",
        updated_on=date(2026, 6, 20),
        published_at=CLOCK.now(),
        actor="cli:ops",
        facts={"categories": {}, "recipients": {}},
        text_md="# 隐私政策\n",
    )
    session.add(row)
    session.flush()
    assert published_text(get_version(session, "0123"), "md") == "# 隐私政策\n"
    with pytest.raises(NotFound, match="use --format md"):
        published_text(row, "html")
    assert version_to_dict(row)["label"] == "0123456789ab"
    with pytest.raises(InvalidInput, match="unknown format"):
        published_text(row, "pdf")
