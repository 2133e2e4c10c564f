"""The README runs as written: its console transcripts and its Python quickstart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from liveai.generation.sample import sample_photo
from tests.cli.readme_transcript import README, run_readme

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_transcripts_match_a_fresh_embedded_run() -> None:
    differences = run_readme()
    report = "\n\n".join(f"$ {c}\n--- README\n{e}\n--- now\n{g}" for c, e, g in differences)
    assert not differences, (
        f"{report}\n\nrun `python -m tests.cli.readme_transcript --update` and review the diff"
    )


def test_the_tour_says_to_activate_the_venv() -> None:
    tour = README.read_text().split("## Tour", 1)[1]
    assert tour.index("source .venv/bin/activate") < tour.index("$ liveai")


def test_the_python_quickstart_runs(isolated_env: Path, tmp_path: Path) -> None:
    [code] = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (tmp_path / "photo.jpg").write_bytes(sample_photo())
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    state, charged, video = result.stdout.split()
    assert (state, charged) == ("succeeded", "10")
    assert (tmp_path / video).stat().st_size > 0


def test_cli_docs_have_no_html_entities_or_cut_summaries() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    assert not re.findall(r"&(#x?[0-9a-f]+|[a-z]+);", docs)
    assert not re.findall(r"^\* `[^`]+`: .*\.\.\.$", docs, flags=re.M)
