"""The credits ledger: idempotent double-entry transfers, holds, no overdraft.

TigerBeetle's semantics on SQL. Each user has one credits account that never goes below
zero; system accounts (App Store, promotions, consumption, clawbacks, corrections) are
the other side of every transfer, so all balances sum to zero. A transfer is immutable
and carries a unique idempotency key: the same key with the same request returns the
recorded transfer and changes nothing; with a different request it is a Conflict naming
the differing field. Holds reserve credits until posted (fully or for less), voided, or
expired. Every function works in the caller's transaction and raises before it writes;
`Ledger` runs the hot ones (consume, hold, post, void) each in a transaction of its own.
"""

from liveai.ledger.accounts import SYSTEM_SHARDS, SystemAccount
from liveai.ledger.autocommit import Ledger
from liveai.ledger.core import find as find_transfer
from liveai.ledger.holds import expire_holds, get_hold, hold, list_holds, post_hold, void_hold
from liveai.ledger.keys import TaskKeys, purchase_key, task_keys
from liveai.ledger.operations import (
    clawback,
    consume,
    correction,
    credit_purchase,
    grant,
    refund,
)
from liveai.ledger.queries import (
    Balance,
    balance,
    get_transfer,
    history,
    transfer_to_dict,
    user_delta,
)
from liveai.ledger.reconcile import Mismatch, ReconcileReport, reconcile
from liveai.models import HoldState, Transfer, TransferKind, TransferPhase

__all__ = [
    "SYSTEM_SHARDS",
    "Balance",
    "HoldState",
    "Ledger",
    "Mismatch",
    "ReconcileReport",
    "SystemAccount",
    "TaskKeys",
    "Transfer",
    "TransferKind",
    "TransferPhase",
    "balance",
    "clawback",
    "consume",
    "correction",
    "credit_purchase",
    "expire_holds",
    "find_transfer",
    "get_hold",
    "get_transfer",
    "grant",
    "history",
    "hold",
    "list_holds",
    "post_hold",
    "purchase_key",
    "reconcile",
    "refund",
    "task_keys",
    "transfer_to_dict",
    "user_delta",
    "void_hold",
]
