"""What an interrupted run left behind, said in one line with the commands that finish it."""

from __future__ import annotations

import uuid

from liveai.db import Database
from liveai.models import Task
from liveai.stopping import Stopped


def left_behind(database: Database, task_id: uuid.UUID) -> Stopped:
    """The error to raise after an interrupt: the task's state, its held credits, and how
    to release or finish them (the runner has handed the task back)."""
    try:
        with database.transaction() as session:
            task = session.get(Task, task_id)
            state, price = (task.state, task.price) if task is not None else (None, 0)
    except Exception:
        return Stopped(
            f"interrupted; task {task_id} may be unfinished",
            hint=f"`liveai tasks show {task_id}` says where it stands",
        )
    if state is None or state.terminal:
        where = state.value if state is not None else "gone"
        return Stopped(f"interrupted; task {task_id} had already ended: {where}")
    return Stopped(
        f"interrupted: task {task_id} left {state.value}, {price} credits held",
        hint=f"`liveai tasks cancel {task_id}` releases them, `liveai tasks resume` finishes it",
    )
