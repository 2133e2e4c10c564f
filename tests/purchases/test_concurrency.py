from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from liveai import ledger
from liveai.clock import FixedClock
from liveai.db import Database, make_engine
from liveai.models import Purchase, Transfer
from liveai.purchases.operations import redeem_receipt
from liveai.purchases.receipts import VerifiedReceipt
from liveai.purchases.service import ALREADY, CREDITED
from liveai.users import create_user
from tests.purchases.helpers import NOW, StorePki, in_app, receipt_body

THREADS = 8


@pytest.mark.postgres
def test_same_receipt_from_8_threads_credits_once(postgres_url: str) -> None:
    db = Database(make_engine(postgres_url))
    config = StorePki().config()
    with db.transaction() as session:
        user_id = create_user(session, issuer="https://auth.example/oidc", subject="race").id
    verified = VerifiedReceipt(
        "Production", receipt_body([in_app("500"), in_app("501", "ai.live.credits500")])
    )
    barrier = threading.Barrier(THREADS)

    def submit(_: int) -> list[str]:
        barrier.wait()
        with db.transaction() as session:
            result = redeem_receipt(session, "race", verified, config, clock=FixedClock(NOW))
            return [o.status for o in result.outcomes]

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            statuses = [s for result in pool.map(submit, range(THREADS)) for s in result]
        assert statuses.count(CREDITED) == 2
        assert statuses.count(ALREADY) == 2 * THREADS - 2
        with db.transaction() as session:
            assert ledger.balance(session, user_id).available == 600
            assert session.scalar(select(func.count()).select_from(Transfer)) == 2
            assert session.scalar(select(func.count()).select_from(Purchase)) == 2
    finally:
        db.close()
