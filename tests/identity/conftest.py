"""Fixtures the identity tests share: a loopback HTTP client and a clock at NOW."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from liveai.clock import FixedClock
from tests.identity.helpers import NOW


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)
