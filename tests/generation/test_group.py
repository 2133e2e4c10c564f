"""Group commit: steps of many threads share transactions; a failing step is left out."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session

from liveai import audit
from liveai.db import Database
from liveai.generation.group import Step, Write, run_grouped
from liveai.models import User
from liveai.users import create_user


def test_steps_that_arrive_together_share_one_commit(database: Database) -> None:
    commits: list[object] = []
    event.listen(database.engine, "commit", commits.append)
    inside, release = threading.Event(), threading.Event()
    results: dict[int, Any] = {}

    def first(session: Session) -> int:
        inside.set()
        release.wait(5)
        return 0

    def own(n: int) -> Any:
        def write(session: Session) -> int:
            if n == 3:
                raise ValueError("step 3 refuses")
            return n * 10

        return write

    def run(n: int) -> None:
        step = Step(
            own=first if n == 0 else own(n),
            order=f"{n:02d}",
            events=[audit.Event(f"step.{n}", details={"n": n})],
        )
        try:
            results[n] = run_grouped(database, step)
        except ValueError as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(7)]
    threads[0].start()
    assert inside.wait(5)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.3)  # the others queue behind the first batch meanwhile
    release.set()
    for thread in threads:
        thread.join(10)

    assert isinstance(results.pop(3), ValueError)  # only its own caller sees the error
    assert results == {n: n * 10 for n in (0, 1, 2, 4, 5, 6)}
    assert len(commits) == 2  # the first step alone, then the five others together
    with database.transaction() as session:
        actions = [e.action for e in audit.list_events(session)]
        assert audit.verify_chain(session).ok
    assert actions == ["step.0", "step.1", "step.2", "step.4", "step.5", "step.6"]


def test_a_commit_that_fails_fails_every_step_of_its_batch(database: Database) -> None:
    def refuse(conn: object) -> None:
        raise RuntimeError("the database went away")

    event.listen(database.engine, "commit", refuse)
    step = Step(own=lambda session: 1, order="a", events=[audit.Event("never")])
    with pytest.raises(RuntimeError, match="went away"):
        run_grouped(database, step)
    event.remove(database.engine, "commit", refuse)
    assert run_grouped(database, Step(own=lambda session: 2, order="a")) == 2
    with database.transaction() as session:
        assert audit.list_events(session) == []


def test_writes_go_together_and_a_refused_one_fails_only_its_step(database: Database) -> None:
    with database.transaction() as session:
        ids = [create_user(session, issuer="https://t", subject=f"s{n}").id for n in range(4)]
    rename = update(User).where(User.id == bindparam("uid")).values(display_name=bindparam("name"))
    statements: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    missing = uuid.uuid4()  # a row that is not there: its guarded write changes nothing
    inside, release = threading.Event(), threading.Event()
    results: dict[int, Any] = {}

    def first(session: Session) -> None:
        inside.set()
        release.wait(5)

    def run(n: int) -> None:
        uid = missing if n == 2 else ids[n]
        refusal = LookupError(f"step {n}: no such row")
        step: Step[None] = Step(
            order=str(n),
            writes=[Write(rename, {"uid": uid, "name": f"name {n}"}, refusal)],
            own=first if n == 0 else None,
        )
        try:
            results[n] = run_grouped(database, step)
        except LookupError as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(5) if n != 4]
    threads[0].start()
    assert inside.wait(5)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.3)
    release.set()
    for thread in threads:
        thread.join(10)

    assert isinstance(results.pop(2), LookupError) and results == {0: None, 1: None, 3: None}
    with database.transaction() as session:
        names = {u.id: u.display_name for u in session.scalars(select(User))}
    assert names == {ids[0]: "name 0", ids[1]: "name 1", ids[2]: None, ids[3]: "name 3"}
    # Step 0 alone; steps 1-3 as one statement, refused; one by one up to the refused step;
    # steps 1 and 3 again.
    renames = [sql for sql in statements if sql.startswith("UPDATE users")]
    assert len(renames) == 1 + 1 + 2 + 2
