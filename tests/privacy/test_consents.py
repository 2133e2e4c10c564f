"""Consent records: requirements derived from the inventory, an append-only history, what
stands, bad input refused with nothing written, and policy materiality per purpose."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from liveai.clock import FixedClock
from liveai.errors import ConsentMissing, ExitCode, InvalidInput, NotFound
from liveai.models import AuditEvent, Consent, PolicyVersion, User, UserStatus
from liveai.privacy import consents
from liveai.privacy.consent_rules import Need, required_consents, requirements_table
from liveai.privacy.consents import Evidence
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.inventory_types import Inventory, Text, ThirdParty
from liveai.privacy.versions import publish
from liveai.settings import Settings
from liveai.users import create_user

CLOCK = FixedClock(datetime(2026, 7, 1, 8, 0, tzinfo=UTC))
APP = Evidence(app_version="2.3.0", request_id="req-1")


def names(needs: list[Need]) -> list[str]:
    return [n.name for n in needs]


def new_user(session: Session) -> uuid.UUID:
    return create_user(session, issuer="https://t", subject=uuid.uuid4().hex, clock=CLOCK).id


def rows(session: Session) -> tuple[int, int]:
    consents_ = session.scalar(select(func.count()).select_from(Consent))
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    return consents_ or 0, events or 0


def test_requirements_follow_role_region_and_sensitivity() -> None:
    face = ["face_editing", "sensitive:photos"]
    assert names(required_consents("generation", "fal")) == ["cross_border:fal", *face]
    assert names(required_consents("generation", "kling")) == face
    assert names(required_consents("generation", "ark")) == face  # volcengine, by provider
    assert names(required_consents("generation", None)) == face  # our own renderer
    assert names(required_consents("generation", "kling", region="overseas")) == [
        "cross_border:kling",
        *face,
    ]
    assert names(required_consents("moderation", "wan")) == ["sensitive:photos"]
    assert names(required_consents("consumption", "app_store")) == [
        "consumption_data",
        "cross_border:app_store",
        "provide:app_store",
    ]


ACME = ThirdParty(
    key="acme",
    name=Text(zh="Acme", en="Acme"),
    summary=Text(zh="生成。", en="generation."),
    region="mainland_china",
    purpose=Text(zh="生成", en="generation"),
    data_received=Text(zh="图片", en="image"),
    policy_url=None,
    provider="acme",
    role="independent",
    categories=("photos",),
)


def test_an_independent_handler_in_the_inventory_needs_provide() -> None:
    inventory = dataclasses.replace(
        DEFAULT_INVENTORY, third_parties=(*DEFAULT_INVENTORY.third_parties, ACME)
    )
    assert names(required_consents("generation", "acme", inventory)) == [
        "face_editing",
        "provide:acme",
        "sensitive:photos",
    ]
    no_longer_sensitive = tuple(
        dataclasses.replace(c, sensitive=False) for c in inventory.categories
    )
    plain = dataclasses.replace(inventory, categories=no_longer_sensitive)
    assert names(required_consents("generation", "acme", plain)) == [
        "face_editing",
        "provide:acme",
    ]


def test_recipients_name_known_categories_and_providers_receive_the_photo() -> None:
    keys = {c.key for c in DEFAULT_INVENTORY.categories}
    for party in DEFAULT_INVENTORY.third_parties:
        assert set(party.categories) <= keys, party.key
        if party.provider:  # what consent enforcement relies on
            assert "photos" in party.categories, party.key


def test_the_requirements_table_covers_every_purpose_and_recipient() -> None:
    table = {(r["purpose"], r["recipient"]): r for r in requirements_table()}
    assert table[("generation", "fal")]["needs"] == [
        "cross_border:fal",
        "face_editing",
        "sensitive:photos",
    ]
    assert table[("generation", "local")]["role"] == "ourselves"
    assert table[("consumption", "app_store")]["role"] == "independent"
    assert {p for p, _ in table} == {"generation", "moderation", "consumption"}


def test_grants_and_withdrawals_append_and_what_stands_is_derived(session: Session) -> None:
    user = new_user(session)
    assert names(consents.check(session, user, "generation", "fal")) == [
        "cross_border:fal",
        "face_editing",
        "sensitive:photos",
    ]
    for kind in ("cross_border:fal", "face_editing", "sensitive:photos"):
        consents.grant(session, user, kind, source="in-app", evidence=APP, clock=CLOCK)
    assert consents.check(session, user, "generation", "fal") == []
    consents.require(session, user, "generation", "fal")
    first = consents.history(session, user)[0]
    CLOCK.advance(timedelta(hours=1))
    result = consents.withdraw(
        session, user, "cross_border", "fal", settings=Settings(), source="in-app", clock=CLOCK
    )
    assert result.record.action == "withdrawn" and result.cancelled == []
    assert result.record.evidence["effect"].endswith("processing before it is unaffected")
    assert first.action == "granted" and first.at == CLOCK.now() - timedelta(hours=1)
    assert [s.name for s in consents.current(session, user)] == ["face_editing", "sensitive:photos"]
    assert [(r.kind, r.scope, r.action) for r in consents.history(session, user)][-1] == (
        "cross_border",
        "fal",
        "withdrawn",
    )
    with pytest.raises(ConsentMissing) as raised:
        consents.require(session, user, "generation", "fal")
    assert raised.value.exit_code is ExitCode.AUTH
    assert raised.value.missing == ["cross_border:fal"]
    assert "cross_border:fal" in str(raised.value)
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-4:] == ["consent.granted"] * 3 + ["consent.withdrawn"]


def test_a_provider_name_and_the_short_form_stand_for_the_recipient(session: Session) -> None:
    user = new_user(session)
    row = consents.grant(session, user, "cross_border", "ark", source="staff", evidence=APP)
    assert (row.kind, row.scope) == ("cross_border", "volcengine")
    again = consents.grant(session, user, "sensitive:photos", source="staff", evidence=APP)
    assert (again.kind, again.scope) == ("sensitive", "photos")


@pytest.mark.parametrize(
    ("kind", "scope", "evidence", "error", "match"),
    [
        ("marketing", None, APP, InvalidInput, "unknown consent kind"),
        ("cross_border", "acme", APP, InvalidInput, "'acme' is not a recipient"),
        ("cross_border", None, APP, InvalidInput, "needs a recipient"),
        ("sensitive", "prompts", APP, InvalidInput, "'prompts' is not a sensitive category"),
        ("face_editing", "fal", APP, InvalidInput, "takes no scope"),
        ("face_editing", None, Evidence(note="  "), InvalidInput, "needs evidence"),
        ("policy", None, APP, NotFound, "no policy version is published"),
    ],
)
def test_bad_grants_are_refused_and_write_nothing(
    session: Session, kind: str, scope: str | None, evidence: Evidence, error: type, match: str
) -> None:
    user = new_user(session)
    before = rows(session)
    with pytest.raises(error, match=match):
        consents.grant(session, user, kind, scope, source="in-app", evidence=evidence)
    assert rows(session) == before


def test_a_future_time_an_unknown_user_and_a_bad_source_are_refused(session: Session) -> None:
    user = new_user(session)
    before = rows(session)
    later = CLOCK.now() + timedelta(days=1)
    with pytest.raises(InvalidInput, match="in the future"):
        consents.grant(
            session, user, "face_editing", source="in-app", evidence=APP, at=later, clock=CLOCK
        )
    with pytest.raises(NotFound, match="no user"):
        consents.grant(session, uuid.uuid4(), "face_editing", source="in-app", evidence=APP)
    with pytest.raises(InvalidInput, match="unknown source"):
        consents.grant(session, user, "face_editing", source="email", evidence=APP)
    with pytest.raises(NotFound, match="no standing face_editing consent"):
        consents.withdraw(session, user, "face_editing", settings=Settings())
    assert rows(session) == before


def publish_unlinted(session: Session, inventory: Inventory, settings: Settings) -> PolicyVersion:
    """Publish past lint (an inventory changed by the test lacks operator facts)."""
    row, _ = publish(session, inventory, settings, accept_risk="test inventory", clock=CLOCK)
    return row


def test_policy_acceptance_is_asked_again_only_for_material_changes(session: Session) -> None:
    user = new_user(session)
    for kind in ("face_editing", "sensitive:photos"):
        consents.grant(session, user, kind, source="in-app", evidence=APP, clock=CLOCK)
    assert consents.check(session, user, "generation", "kling") == []  # nothing published
    first = publish_unlinted(session, DEFAULT_INVENTORY, Settings())
    assert names(consents.check(session, user, "generation", "kling")) == ["policy"]
    consents.grant(session, user, "policy", source="in-app", evidence=APP, clock=CLOCK)
    assert consents.history(session, user)[-1].policy_version == first.version
    publish_unlinted(session, DEFAULT_INVENTORY, Settings(log_retention_days=14))
    assert consents.check(session, user, "generation", "kling") == []  # a shorter retention
    photos = DEFAULT_INVENTORY.category("photos")
    wider = dataclasses.replace(photos, recipients=(*photos.recipients, "acme"))
    changed = dataclasses.replace(
        DEFAULT_INVENTORY,
        categories=tuple(wider if c.key == "photos" else c for c in DEFAULT_INVENTORY.categories),
        third_parties=(*DEFAULT_INVENTORY.third_parties, ACME),
    )
    publish_unlinted(session, changed, Settings(log_retention_days=14))
    (need,) = consents.check(session, user, "generation", "kling")
    assert need.name == "policy" and "will now also receive: uploaded photos" in need.reason
    assert consents.check(session, user, "consumption", "app_store", inventory=changed) != []
    assert "policy" not in names(consents.check(session, user, "consumption", "app_store"))


def test_policy_acceptance_follows_the_one_classification_policy_diff_uses(
    session: Session,
) -> None:
    """A longer retention of photos is material in `policy diff`, so a generation asks
    for the new version to be accepted; consumption, which does not use photos, does not."""
    from liveai.privacy.changes import compare

    user = new_user(session)
    for kind in ("face_editing", "sensitive:photos"):
        consents.grant(session, user, kind, source="in-app", evidence=APP, clock=CLOCK)
    first = publish_unlinted(session, DEFAULT_INVENTORY, Settings())
    consents.grant(session, user, "policy", source="in-app", evidence=APP, clock=CLOCK)
    longer = publish_unlinted(session, DEFAULT_INVENTORY, Settings(upload_retention_days=60))
    diff = [c for c in compare(first.facts, longer.facts) if c.material]
    assert [(c.kind, c.subject) for c in diff] == [("longer_retention", "photos")]
    (need,) = consents.check(session, user, "generation", "kling")
    assert need.name == "policy" and diff[0].en in need.reason
    assert "policy" not in names(consents.check(session, user, "consumption", "app_store"))


def test_withdrawing_policy_acceptance_restricts_until_given_again(session: Session) -> None:
    user = new_user(session)
    publish_unlinted(session, DEFAULT_INVENTORY, Settings())
    consents.grant(session, user, "policy", source="in-app", evidence=APP, clock=CLOCK)
    result = consents.withdraw(session, user, "policy", settings=Settings(), clock=CLOCK)
    assert result.restricted
    assert session.get_one(User, user).status is UserStatus.RESTRICTED
    consents.grant(session, user, "policy", source="in-app", evidence=APP, clock=CLOCK)
    assert session.get_one(User, user).status is UserStatus.ACTIVE
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "user.processing_stopped" in actions and actions[-1] == "user.processing_resumed"


def test_the_migration_turns_old_rows_into_a_history_and_back(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from liveai.db import alembic_config, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    config = alembic_config(engine)
    command.upgrade(config, "0012_one_head")
    user = uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, status, created_at, updated_at) "
                "VALUES (:id, 'active', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ),
            {"id": user},
        )
        conn.execute(
            text(
                "INSERT INTO policy_versions (version, updated_on, published_at, actor, facts, "
                "text_md) VALUES ('abc', '2026-01-01', '2026-01-01 00:00:00', 't', '{}', 't')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO consents (id, user_id, kind, policy_version, granted_at, "
                "withdrawn_at) VALUES (:id, :user, 'cross_border', 'abc', "
                "'2026-01-02 00:00:00', '2026-01-03 00:00:00')"
            ),
            {"id": uuid.uuid4().hex, "user": user},
        )
    command.upgrade(config, "heads")
    with engine.connect() as conn:
        steps = conn.execute(text("SELECT action, at, evidence FROM consents ORDER BY id")).all()
    assert [s.action for s in steps] == ["granted", "withdrawn"]
    assert [s.at[:10] for s in steps] == ["2026-01-02", "2026-01-03"]
    assert "revision 0023" in steps[0].evidence
    command.downgrade(config, "0012_one_head")
    with engine.connect() as conn:
        old = conn.execute(text("SELECT kind, policy_version FROM consents")).all()
    assert [tuple(r) for r in old] == [("cross_border", "abc")]
    engine.dispose()
