"""The service files in docs/ match what the worker does."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_worker_unit_leaves_the_drain_its_grace() -> None:
    unit = (DOCS / "systemd" / "liveai-worker@.service").read_text()
    grace = int(re.search(r"--grace (\d+)", unit).group(1))  # type: ignore[union-attr]
    stop = int(re.search(r"^TimeoutStopSec=(\d+)$", unit, re.M).group(1))  # type: ignore[union-attr]
    assert stop > grace
    assert "KillSignal=SIGTERM" in unit and re.search(r"^Restart=(always|on-failure)$", unit, re.M)


def test_the_alerts_use_metrics_the_worker_serves() -> None:
    rules = yaml.safe_load((DOCS / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    assert len(rules) == 3
    source = (Path(__file__).resolve().parents[2] / "liveai" / "metrics.py").read_text()
    names = set(re.findall(r'"(liveai_[a-z_]+)"', source))
    for rule in rules:
        for used in re.findall(r"liveai_[a-z_]+", rule["expr"]):
            assert used.removesuffix("_total") in names, used
