"""The idempotency keys the ledger's callers spell: one function per kind of transfer, so
a retried credit or settle finds the transfer it already made."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


def purchase_key(transaction_id: str) -> str:
    """The idempotency key of an App Store purchase's credit (surrounding blanks dropped)."""
    return f"appstore:{transaction_id.strip()}"


@dataclass(frozen=True)
class TaskKeys:
    """The ledger's keys for a generation task: its hold, the posting or voiding of that
    hold (each happens once however often it is tried), and the reference the hold carries."""

    hold: str
    post: str
    void: str
    reference: str


def task_keys(task_id: uuid.UUID) -> TaskKeys:
    prefix = f"task:{task_id}"
    return TaskKeys(f"{prefix}:hold", f"{prefix}:post", f"{prefix}:void", prefix)
