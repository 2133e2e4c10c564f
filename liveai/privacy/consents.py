"""Consent records: grants and withdrawals, what stands, and what a step is missing.

The history is append-only: a grant and a withdrawal are each a row, and what stands is
the latest step per kind and scope (GDPR art. 7(1): the controller can show when, on
which policy and how each consent was given). A step's needs come from the inventory
(`consent_rules`); `confirm` checks them in the transaction that records the data
transfer, with the user's row locked for share, while grants and withdrawals lock it for
(no key) update: a withdrawal racing a submit either commits first (the submit sees it
and sends nothing) or waits until the transfer is recorded.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Executable, Result, Table, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from liveai import audit, ledger
from liveai.clock import SYSTEM_CLOCK, Clock
from liveai.errors import ConsentMissing, InvalidInput, LiveAIError, NotFound
from liveai.models import Consent, PolicyVersion, Task, TaskState, Upload, User, UserStatus
from liveai.privacy import consent_rules as rules
from liveai.privacy.changes import compare
from liveai.privacy.consent_rules import Need
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.inventory_types import Inventory
from liveai.privacy.versions import get_version
from liveai.settings import Settings
from liveai.users import get_user

SOURCES = ("in-app", "staff")
GRANTED = "granted"
WITHDRAWN = "withdrawn"
MAX_NOTE = 500
GRANT_HINT = "record it: liveai consents grant USER KIND --source in-app --evidence TEXT"


@dataclass(frozen=True)
class Evidence:
    """What shows the consent was given or withdrawn: the app version and request id the
    app sent, or a staff note."""

    note: str | None = None
    app_version: str | None = None
    request_id: str | None = None

    def to_json(self) -> dict[str, str]:
        values = {k: v.strip() for k, v in self.__dict__.items() if v and v.strip()}
        for name, value in values.items():
            if len(value) > MAX_NOTE:
                raise InvalidInput(f"the evidence {name} is {len(value)} characters, at most 500")
        return values


@dataclass(frozen=True)
class Standing:
    """A consent that stands: its latest step is a grant."""

    kind: str
    scope: str | None
    granted_at: datetime
    policy_version: str | None
    source: str

    @property
    def name(self) -> str:
        return self.kind if self.scope is None else f"{self.kind}:{self.scope}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "consent": self.name,
            "kind": self.kind,
            "scope": self.scope,
            "granted_at": self.granted_at.isoformat(),
            "policy_version": self.policy_version,
            "source": self.source,
        }


@dataclass(frozen=True)
class Withdrawal:
    """A recorded withdrawal and what it stopped; past processing is unaffected."""

    record: Consent
    cancelled: list[uuid.UUID] = field(default_factory=list)
    restricted: bool = False


class NotConsented(LiveAIError):
    """A step may not send data to this recipient: these consents are missing."""

    def __init__(self, recipient: str, purpose: str, needs: Sequence[Need]) -> None:
        self.recipient = recipient
        self.purpose = purpose
        self.needs = list(needs)
        super().__init__(f"skipped: no {_short(needs, recipient)} consent for {recipient}")


def _short(needs: Iterable[Need], recipient: str) -> str:
    """Kinds scoped to this very recipient are named by kind alone."""
    party = rules.recipient(recipient)
    own = {recipient, party.key if party else recipient}
    return ", ".join(n.kind if n.scope in own else n.name for n in needs)


# --- reading ---------------------------------------------------------------------

_CONSENTS = cast(Table, Consent.__table__)
_USERS = cast(Table, User.__table__)
_POLICIES = cast(Table, PolicyVersion.__table__)

# A worker checks consents before every submit: the checks are two prebuilt statements
# (the row lock, then what stands with the latest policy's version), no ORM objects.
_LOCK = {
    share: select(_USERS.c.id)
    .where(_USERS.c.id == bindparam("user_id"))
    .with_for_update(read=share, key_share=not share)
    for share in (True, False)
}
_NEWEST_FIRST = (_CONSENTS.c.at.desc(), _CONSENTS.c.recorded_at.desc(), _CONSENTS.c.id.desc())
_PLACE = func.row_number().over(
    partition_by=(_CONSENTS.c.kind, _CONSENTS.c.scope), order_by=_NEWEST_FIRST
)
_STEP_COLUMNS = ("kind", "scope", "action", "policy_version", "at", "source")
_STEPS = (
    select(*(_CONSENTS.c[name] for name in _STEP_COLUMNS))
    .add_columns(_PLACE.label("place"))
    .where(_CONSENTS.c.user_id == bindparam("user_id"))
    .subquery()
)
_LATEST_POLICY = select(
    select(_POLICIES.c.version)
    .order_by(_POLICIES.c.id.desc())
    .limit(1)
    .scalar_subquery()
    .label("latest")
).subquery()
# One row per standing consent, each with the latest policy's version; one row with
# only that version when nothing stands.
_STANDING = select(
    _LATEST_POLICY.c.latest, _STEPS.c.kind, _STEPS.c.scope, _STEPS.c.policy_version
).select_from(
    _LATEST_POLICY.outerjoin(_STEPS, and_(_STEPS.c.place == 1, _STEPS.c.action == GRANTED))
)
# The latest step of each kind and scope, where it is a grant: the consents that stand.
_CURRENT = select(_STEPS).where(_STEPS.c.place == 1, _STEPS.c.action == GRANTED)
_FACTS = select(_POLICIES.c.facts).where(_POLICIES.c.version == bindparam("version"))

Accepted = dict[tuple[str, str | None], str | None]
"""The consents that stand, by kind and scope: the policy version each was given on."""


def history(session: Session, user_id: uuid.UUID) -> Sequence[Consent]:
    """Every grant and withdrawal of the user, oldest first."""
    query = (
        select(Consent)
        .where(Consent.user_id == user_id)
        .order_by(Consent.at, Consent.recorded_at, Consent.id)
    )
    return session.scalars(query).all()


def current(session: Session, user_id: uuid.UUID) -> list[Standing]:
    """The consents that stand now, derived from the history: each kind and scope whose
    latest step is a grant."""
    rows = _execute(session, _CURRENT, {"user_id": user_id}).all()
    return [
        Standing(row.kind, row.scope, row.at, row.policy_version, row.source)
        for row in sorted(rows, key=lambda r: (r.kind, r.scope or ""))
    ]


def record_to_dict(row: Consent) -> dict[str, Any]:
    return {
        "consent": row.kind if row.scope is None else f"{row.kind}:{row.scope}",
        "action": row.action,
        "at": row.at.isoformat(),
        "recorded_at": row.recorded_at.isoformat(),
        "policy_version": row.policy_version,
        "source": row.source,
        "evidence": row.evidence,
        "actor": row.actor,
    }


def check(
    session: Session,
    user_id: uuid.UUID,
    purpose: str,
    recipient: str | None,
    *,
    region: str | None = None,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> list[Need]:
    """What the user has not consented to that ``purpose`` at ``recipient`` needs."""
    standing, latest = _standing(session, user_id)
    needs = rules.required_consents(purpose, recipient, inventory, region=region)
    missing = [n for n in needs if (n.kind, n.scope) not in standing]
    policy = _policy_need(session, standing, latest, purpose, recipient, inventory)
    return sorted([*missing, policy]) if policy else missing


def _standing(session: Session, user_id: uuid.UUID) -> tuple[Accepted, str | None]:
    """What stands now (the steps `current` reads), and the latest published policy's
    version (None while none is published): one statement."""
    found = _execute(session, _STANDING, {"user_id": user_id}).all()
    standing = {(r.kind, r.scope): r.policy_version for r in found if r.kind is not None}
    return standing, found[0].latest


def _execute(session: Session, statement: Executable, params: Mapping[str, Any]) -> Result[Any]:
    """A prebuilt Core statement on the session's connection, without the ORM's per-call
    work; pending objects are flushed first, as an ORM statement would."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, params)


def _policy_need(
    session: Session,
    standing: Accepted,
    latest: str | None,
    purpose: str,
    recipient: str | None,
    inventory: Inventory,
) -> Need | None:
    """Acceptance of the latest published policy, when it changed materially for this
    step since the version the user accepted (policy §8): a change `policy diff` calls
    material to a category the step uses or to its recipient. Nothing while none is
    published."""
    if latest is None:
        return None
    if (rules.POLICY, None) not in standing:
        return Need(rules.POLICY, reason=f"policy {latest[:12]} not accepted")
    accepted = standing[(rules.POLICY, None)]
    if accepted == latest:
        return None
    facts = _execute(session, _FACTS, {"version": latest}).scalar_one()
    old = _execute(session, _FACTS, {"version": accepted}).scalar()
    party = rules.recipient(recipient, inventory) if recipient else None
    touched = {*rules.purpose(purpose).categories, party.key if party else recipient}
    changes = [c.en for c in compare(old or {}, facts) if c.material and c.subject in touched]
    if not changes:
        return None
    return Need(rules.POLICY, reason=f"policy {latest[:12]}: {' '.join(changes)}")


def require(
    session: Session,
    user_id: uuid.UUID,
    purpose: str,
    recipient: str | None,
    *,
    region: str | None = None,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> None:
    """Raise ConsentMissing naming what ``purpose`` at ``recipient`` still needs."""
    missing = check(session, user_id, purpose, recipient, region=region, inventory=inventory)
    if missing:
        names = ", ".join(n.name for n in missing)
        where = f" at {recipient}" if recipient else ""
        raise ConsentMissing(
            f"user {user_id} has not consented to {names} ({purpose}{where})",
            missing=[n.name for n in missing],
            hint=GRANT_HINT,
        )


def confirm(
    session: Session,
    user_id: uuid.UUID,
    purpose: str,
    recipient: str,
    *,
    region: str | None = None,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> None:
    """In the transaction that records a transfer: lock the user's row for share (a
    withdrawal waits, or has committed and is seen), then raise NotConsented when a
    consent the step needs is missing."""
    _lock(session, user_id, share=True)
    missing = check(session, user_id, purpose, recipient, region=region, inventory=inventory)
    if missing:
        raise NotConsented(recipient, purpose, missing)


Route = tuple[str, str | None]
"""A recipient's name and the region it is configured in (None: as the inventory says)."""


def route_missing(
    session: Session,
    user_id: uuid.UUID,
    route: Route,
    screening: Sequence[Route] = (),
    *,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> list[Need]:
    """What a generation by the provider ``route`` still needs, with the moderation of the
    photo by each ``screening`` recipient first (the runner confirms both)."""
    name, region = route
    missing = set(check(session, user_id, "generation", name, region=region, inventory=inventory))
    for who, where in screening:
        missing.update(
            Need(n.kind, n.scope, f"{n.reason} (moderation at {who})")
            for n in check(session, user_id, "moderation", who, region=where, inventory=inventory)
            if n not in missing
        )
    return sorted(missing)


def require_any_route(
    session: Session,
    user_id: uuid.UUID,
    routes: Sequence[Route],
    *,
    screening: Mapping[str, Sequence[Route]] | None = None,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> None:
    """Before a generation is stored or held: raise ConsentMissing unless at least one of
    the (provider, region) routes it may take, moderation included, has every consent it
    needs."""
    screens = screening or {}
    missing = {
        name: route_missing(
            session, user_id, (name, region), screens.get(name, ()), inventory=inventory
        )
        for name, region in routes
    }
    if not routes or any(not needs for needs in missing.values()):
        return
    every = sorted({n.name for needs in missing.values() for n in needs})
    per_route = "; ".join(
        f"{name} needs {', '.join(n.name for n in m)}" for name, m in missing.items()
    )
    raise ConsentMissing(
        f"user {user_id} has not consented to a generation by any provider: {per_route}",
        missing=every,
        hint=GRANT_HINT,
    )


# --- writing ---------------------------------------------------------------------


def parse_kind(
    kind: str, scope: str | None = None, inventory: Inventory = DEFAULT_INVENTORY
) -> tuple[str, str | None]:
    """A kind and scope checked against the inventory; "cross_border:fal" is short for
    kind cross_border with scope fal. A provider name stands for its recipient."""
    if ":" in kind and scope is None:
        kind, scope = kind.split(":", 1)
    kind, scope = kind.strip(), scope.strip() if scope else None
    if kind not in rules.KINDS:
        raise InvalidInput(
            f"unknown consent kind {kind!r}", hint=f"pick one of: {', '.join(rules.KINDS)}"
        )
    if kind in rules.RECIPIENT_SCOPED:
        return kind, _recipient_scope(kind, scope, inventory)
    if kind == rules.SENSITIVE:
        return kind, _category_scope(scope, inventory)
    if scope:
        raise InvalidInput(f"a {kind} consent takes no scope", hint="leave out --scope")
    return kind, None


def _recipient_scope(kind: str, scope: str | None, inventory: Inventory) -> str:
    keys = ", ".join(t.key for t in inventory.third_parties)
    party = rules.recipient(scope, inventory) if scope else None
    if party is None:
        what = f"{scope!r} is not a recipient in the inventory" if scope else "no recipient"
        raise InvalidInput(
            f"a {kind} consent needs a recipient: {what}", hint=f"--scope one of: {keys}"
        )
    return party.key


def _category_scope(scope: str | None, inventory: Inventory) -> str:
    sensitive = [c.key for c in inventory.categories if c.sensitive]
    if scope not in sensitive:
        what = f"{scope!r} is not a sensitive category" if scope else "no category"
        raise InvalidInput(
            f"a sensitive consent needs a category: {what}",
            hint=f"--scope one of: {', '.join(sensitive)}",
        )
    return scope


def _when(at: datetime | None, clock: Clock) -> datetime:
    now = clock.now()
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidInput(
            f"the time {at.isoformat()} has no time zone", hint="add one, e.g. +00:00"
        )
    if at > now + timedelta(seconds=5):
        raise InvalidInput(
            f"the time {at.isoformat()} is in the future", hint="give when it happened"
        )
    return at


def _lock(session: Session, user_id: uuid.UUID, *, share: bool) -> None:
    """FOR SHARE to check, FOR NO KEY UPDATE to change: the two exclude each other, while
    rows that merely refer to the user (a ledger transfer, a data transfer) still insert."""
    _execute(session, _LOCK[share], {"user_id": user_id})


def _user(session: Session, user_ref: str | uuid.UUID) -> User:
    user = get_user(session, user_ref)
    if user.status is UserStatus.ERASED:
        raise NotFound(f"no user {user_ref!r}", hint="see `liveai users list`")
    _lock(session, user.id, share=False)
    return user


def grant(
    session: Session,
    user_ref: str | uuid.UUID,
    kind: str,
    scope: str | None = None,
    *,
    source: str,
    evidence: Evidence,
    policy_version: str | None = None,
    at: datetime | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> Consent:
    """Record a grant. ``policy_version`` is the version the user was shown (default:
    the latest published); a policy acceptance needs one to be published."""
    kind, scope = parse_kind(kind, scope, inventory)
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}", hint=f"pick one of: {', '.join(SOURCES)}")
    shown = evidence.to_json()
    if not shown:
        raise InvalidInput(
            "a grant needs evidence",
            hint="give --evidence (app version, request id or a staff note)",
        )
    when = _when(at, clock)
    user = _user(session, user_ref)
    version = _shown_version(session, policy_version, required=kind == rules.POLICY)
    row = _append(session, user, kind, scope, GRANTED, version, when, source, shown, actor, clock)
    if kind == rules.POLICY and user.status is UserStatus.RESTRICTED:
        _set_restricted(session, user, False, actor, clock)
    return row


def _shown_version(session: Session, ref: str | None, *, required: bool) -> str | None:
    if ref is not None:
        return get_version(session, ref).version
    latest = session.scalar(
        select(PolicyVersion.version).order_by(PolicyVersion.id.desc()).limit(1)
    )
    if latest is None and required:
        raise NotFound("no policy version is published", hint="run `liveai policy publish` first")
    return latest


def _append(
    session: Session,
    user: User,
    kind: str,
    scope: str | None,
    action: str,
    version: str | None,
    at: datetime,
    source: str,
    evidence: dict[str, Any],
    actor: str,
    clock: Clock,
) -> Consent:
    row = Consent(
        user_id=user.id,
        kind=kind,
        scope=scope,
        action=action,
        policy_version=version,
        at=at,
        recorded_at=clock.now(),
        source=source,
        evidence=evidence,
        actor=actor,
    )
    session.add(row)
    session.flush()
    name = kind if scope is None else f"{kind}:{scope}"
    details = {"consent": name, "source": source, "policy_version": version}
    audit.record(
        session, f"consent.{action}", user_id=user.id, details=details, actor=actor, clock=clock
    )
    return row


def withdraw(
    session: Session,
    user_ref: str | uuid.UUID,
    kind: str,
    scope: str | None = None,
    *,
    settings: Settings,
    source: str = "staff",
    evidence: Evidence = Evidence(),
    at: datetime | None = None,
    available: Collection[str] | None = None,
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> Withdrawal:
    """Record a withdrawal; it stops future processing at once. Queued tasks that no
    provider can run without it are cancelled and their holds voided; tasks whose data
    has already been sent finish. Withdrawing policy acceptance restricts the account
    until it is given again. ``available`` names the providers this machine runs (default:
    the settings' order)."""
    kind, scope = parse_kind(kind, scope, inventory)
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}", hint=f"pick one of: {', '.join(SOURCES)}")
    shown = evidence.to_json()
    when = _when(at, clock)
    user = _user(session, user_ref)
    standing = {(s.kind, s.scope): s for s in current(session, user.id)}
    name = kind if scope is None else f"{kind}:{scope}"
    if (kind, scope) not in standing:
        raise NotFound(
            f"user {user.id} has no standing {name} consent to withdraw",
            hint=f"see `liveai consents list {user.id}`",
        )
    note = f"stops processing from {when.isoformat()}; processing before it is unaffected"
    shown = {**shown, "effect": note}
    version = standing[(kind, scope)].policy_version
    row = _append(session, user, kind, scope, WITHDRAWN, version, when, source, shown, actor, clock)
    restricted = kind == rules.POLICY and user.status is UserStatus.ACTIVE
    if restricted:
        _set_restricted(session, user, True, actor, clock)
    cancelled = _cancel_queued(
        session, user, (kind, scope), settings, available, inventory, actor, clock
    )
    return Withdrawal(row, cancelled, restricted)


def _set_restricted(
    session: Session, user: User, restricted: bool, actor: str, clock: Clock
) -> None:
    """Like a guardian's request (policy §6): nothing is processed while restricted."""
    user.status = UserStatus.RESTRICTED if restricted else UserStatus.ACTIVE
    user.updated_at = clock.now()
    action = "user.processing_stopped" if restricted else "user.processing_resumed"
    details = {"reason": "policy acceptance " + ("withdrawn" if restricted else "given again")}
    audit.record(session, action, user_id=user.id, details=details, actor=actor, clock=clock)


def routes(task: Task, settings: Settings, available: Collection[str] | None = None) -> list[str]:
    """The providers a queued task may still go to, by the settings (and what runs here)."""
    if task.requested_provider:
        return [task.requested_provider]
    return routes_from(settings, available) or [rules.LOCAL]


def routes_from(settings: Settings, available: Collection[str] | None = None) -> list[str]:
    """The providers in the settings' order that may be used here (overseas ones only with
    LIVEAI_ALLOW_OVERSEAS)."""
    return [
        name
        for name in settings.providers_in_order
        if (available is None or name in available) and _region_allowed(name, settings)
    ]


def _region_allowed(name: str, settings: Settings) -> bool:
    party = rules.recipient(name)
    return settings.allow_overseas or (party is not None and party.region != "overseas")


def _cancel_queued(
    session: Session,
    user: User,
    withdrawn: tuple[str, str | None],
    settings: Settings,
    available: Collection[str] | None,
    inventory: Inventory,
    actor: str,
    clock: Clock,
) -> list[uuid.UUID]:
    """Cancel the user's queued tasks that nobody runs right now and that no provider can
    take without the withdrawn consent. A task a runner holds is left to it: its own check
    sees the withdrawal before anything more is sent. Locked rows are skipped, so this
    never waits on a runner that waits on us."""
    now = clock.now()
    queued = session.scalars(
        select(Task)
        .where(
            Task.user_id == user.id,
            Task.state == TaskState.QUEUED,
            Task.deleted_at.is_(None),
            or_(Task.lease_until.is_(None), Task.lease_until <= now),
        )
        .with_for_update(skip_locked=True)
    ).all()
    cancelled = []
    for task in queued:
        missing = [
            {
                (n.kind, n.scope)
                for n in check(session, user.id, "generation", name, inventory=inventory)
            }
            for name in routes(task, settings, available)
        ]
        if all(withdrawn in needs for needs in missing):
            _cancel(
                session,
                task,
                f"{withdrawn[0]}{':' + withdrawn[1] if withdrawn[1] else ''}",
                settings,
                actor,
                clock,
            )
            cancelled.append(task.id)
    return cancelled


def _cancel(
    session: Session, task: Task, name: str, settings: Settings, actor: str, clock: Clock
) -> None:
    now = clock.now()
    task.state = TaskState.CANCELLED
    task.error_code = "consent_withdrawn"
    task.error = f"cancelled: the {name} consent was withdrawn; nothing was sent"
    task.finished_at = task.updated_at = now
    task.charged = 0
    task.lease_owner, task.lease_until = None, None
    upload = session.get(Upload, task.upload_id)
    if upload is not None and upload.delete_after is None:
        upload.delete_after = now + timedelta(days=settings.upload_retention_days)
    # Already expired or voided: the credits are back either way.
    with contextlib.suppress(LiveAIError):
        ledger.void_hold(
            session,
            task.hold_key,
            key=ledger.task_keys(task.id).void,
            reason="consent withdrawn",
            clock=clock,
        )
    details = {"task_id": str(task.id), "code": task.error_code, "charged": 0}
    audit.record(
        session, "task.cancelled", user_id=task.user_id, details=details, actor=actor, clock=clock
    )


def grant_needed(
    session: Session,
    user: User,
    names: Iterable[str],
    *,
    evidence: Evidence,
    screening: Sequence[Route] = (),
    actor: str = "system",
    clock: Clock = SYSTEM_CLOCK,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> list[str]:
    """Grant (as staff) whatever a generation at any of the providers ``names``, with the
    moderation by ``screening`` first, still needs; the names granted."""
    granted: list[str] = []
    for name in names:
        for need in route_missing(session, user.id, (name, None), screening, inventory=inventory):
            if need.name not in granted:
                grant(
                    session,
                    user.id,
                    need.kind,
                    need.scope,
                    source="staff",
                    evidence=evidence,
                    actor=actor,
                    clock=clock,
                    inventory=inventory,
                )
                granted.append(need.name)
    return granted


def check_routes(
    session: Session,
    user_ref: str | uuid.UUID,
    routes: Sequence[Route],
    *,
    screening: Mapping[str, Sequence[Route]] | None = None,
    inventory: Inventory = DEFAULT_INVENTORY,
) -> dict[str, Any]:
    """For each (provider, region) a generation may use, and the recipients that moderate
    its photo first: what the user still has to consent to, and why; ``ok`` when nothing
    is missing anywhere."""
    user = get_user(session, user_ref)
    screens = screening or {}
    checked = [
        (
            name,
            route_missing(
                session, user.id, (name, region), screens.get(name, ()), inventory=inventory
            ),
        )
        for name, region in routes
    ]
    return {
        "user": str(user.id),
        "ok": all(not missing for _, missing in checked),
        "providers": [
            {
                "provider": name,
                "moderated_by": [who for who, _ in screens.get(name, ())],
                "missing": [n.name for n in missing],
                "why": [f"{n.name}: {n.reason}" for n in missing],
            }
            for name, missing in checked
        ],
    }


ERASED_NOTE = "removed at erasure"
KEPT_EVIDENCE = ("app_version", "request_id", "effect")


def pseudonymise(session: Session, pseudonym: uuid.UUID) -> int:
    """After an erasure moved a user's consent history to ``pseudonym``: keep only what
    proves the consents (kind, scope, when, policy shown, source, app version, request id)
    and drop staff notes, which may name the person; how many rows had a note."""
    rows = session.scalars(select(Consent).where(Consent.user_id == pseudonym)).all()
    changed = 0
    for row in rows:
        if "note" in row.evidence:
            kept = {k: v for k, v in row.evidence.items() if k in KEPT_EVIDENCE}
            row.evidence = {**kept, "note": ERASED_NOTE}
            changed += 1
    session.flush()
    return changed
