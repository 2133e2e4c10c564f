"""Fixtures the purchase tests share: one App Store PKI per module and a clock at NOW."""

from __future__ import annotations

import pytest

from liveai.clock import FixedClock
from tests.purchases.helpers import NOW, StorePki


@pytest.fixture(scope="module")
def pki() -> StorePki:
    return StorePki()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)
