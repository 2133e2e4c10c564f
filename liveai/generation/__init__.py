"""The generation lifecycle: a photo and a prompt in, a stored video out, credits settled.

``create_task`` validates, stores and queues a task with its price held on the ledger
(one transaction, the caller's). ``Lifecycle.run`` drives a task to its end in short
transactions of its own; ``work`` runs many with leases, on any number of machines.
"""

from liveai.generation.lifecycle import Lifecycle
from liveai.generation.pricing import developer_user, hold_amount, price_for, resolve_user
from liveai.generation.settle import Outcome
from liveai.generation.tasks import (
    NewTask,
    create_task,
    delete_task,
    find_by_client_key,
    get_task,
    list_tasks,
    parse_motion,
    request_cancel,
    task_to_dict,
)
from liveai.generation.transfers import transfers_of
from liveai.generation.worker import WorkReport, work

__all__ = [
    "Lifecycle",
    "NewTask",
    "Outcome",
    "WorkReport",
    "create_task",
    "delete_task",
    "developer_user",
    "find_by_client_key",
    "get_task",
    "hold_amount",
    "list_tasks",
    "parse_motion",
    "price_for",
    "request_cancel",
    "resolve_user",
    "task_to_dict",
    "transfers_of",
    "work",
]
