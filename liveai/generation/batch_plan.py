"""A batch dry run: every manifest line validated and priced, the total against the balance."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from liveai import ledger
from liveai.errors import LiveAIError
from liveai.generation.batch import Item, item_key
from liveai.generation.lifecycle import Lifecycle
from liveai.generation.pricing import hold_amount
from liveai.images import IntakeLimits, prepare_image
from liveai.models import Task, TaskState
from liveai.providers.registry import candidates


@dataclass(frozen=True)
class PlannedItem:
    line: int
    image: str
    price: int
    state: str
    problem: str | None = None


@dataclass(frozen=True)
class BatchPlan:
    items: list[PlannedItem] = field(default_factory=list)
    available: int = 0

    @property
    def total(self) -> int:
        return sum(item.price for item in self.items)

    @property
    def payable(self) -> bool:
        return self.total <= self.available

    @property
    def valid(self) -> bool:
        return all(item.problem is None for item in self.items)

    def to_dict(self) -> dict[str, object]:
        return {
            "items": [vars(item) for item in self.items],
            "total": self.total,
            "available": self.available,
            "payable": self.payable,
            "valid": self.valid,
        }


def plan_batch(lifecycle: Lifecycle, user_id: uuid.UUID, items: list[Item]) -> BatchPlan:
    """What running the manifest would cost: lines already done are free, bad lines named."""
    planned = [_plan_item(lifecycle, user_id, item) for item in items]
    with lifecycle.database.transaction() as session:
        available = ledger.balance(session, user_id).available
    return BatchPlan(planned, available)


def _plan_item(lifecycle: Lifecycle, user_id: uuid.UUID, item: Item) -> PlannedItem:
    settings = lifecycle.settings
    try:
        data = item.image.read_bytes()
    except OSError as exc:
        problem = f"cannot read {item.image}: {exc.strerror}"
        return PlannedItem(item.line, str(item.image), 0, "refused", problem)
    if _already_done(lifecycle, item_key(user_id, item, data)):
        return PlannedItem(item.line, str(item.image), 0, "skipped")
    try:
        prepare_image(data, IntakeLimits.from_settings(settings))
        names = candidates(lifecycle.providers, settings, item.provider)
        duration = item.duration_s or settings.generation_default_duration_s
        price = hold_amount(settings, names, duration)
    except LiveAIError as exc:
        return PlannedItem(item.line, str(item.image), 0, "refused", str(exc))
    return PlannedItem(item.line, str(item.image), price, "would run")


def _already_done(lifecycle: Lifecycle, key: str) -> bool:
    with lifecycle.database.transaction() as session:
        state = session.scalar(
            select(Task.state)
            .where(or_(Task.client_key == key, Task.client_key.like(f"{key}:%")))
            .order_by(Task.created_at.desc())
            .limit(1)
        )
    return state is TaskState.SUCCEEDED
