"""Fixtures the privacy tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveai.storage import LocalStorage


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")
