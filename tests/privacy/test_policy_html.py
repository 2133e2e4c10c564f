"""The HTML policy page in a real browser at an iPhone's width (skipped without Chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.policy import render_policy
from liveai.settings import Settings

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
IPHONE = (390, 844)  # CSS pixels of an iPhone 12-15 screen

PROBE = """
<script>
const width = window.innerWidth;
const wide = [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > width + 0.5)
  .map((el) => el.tagName + "#" + (el.id || "") + ":" + el.textContent.slice(0, 40));
const ids = [...document.querySelectorAll("[id]")].map((el) => el.id);
const broken = [...document.querySelectorAll('a[href^="#"]')]
  .map((a) => a.getAttribute("href").slice(1))
  .filter((id) => { const el = document.getElementById(id); return !el || !el.offsetHeight; });
const sections = [...document.querySelectorAll("section[lang]")]
  .map((s) => ({
    lang: s.lang, chars: s.innerText.length, headings: s.querySelectorAll("h2").length,
  }));
const scrollWidth = document.documentElement.scrollWidth;
const result = { width, scrollWidth, wide, ids, broken, sections };
parent.postMessage(JSON.stringify(result), "*");
</script>
"""
# Headless Chromium will not make a window narrower than 500 px; an iframe can be.
HOST = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="policy.html" style="width:{w}px;height:{h}px;border:0"></iframe>
<script>
window.addEventListener("message", (event) => {{
  const pre = document.createElement("pre");
  pre.id = "probe-result";
  pre.textContent = event.data;
  document.body.appendChild(pre);
}});
</script></body></html>
"""


def probe(html: str, tmp_path: Path) -> dict[str, Any]:
    page = tmp_path / "policy.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    host = tmp_path / "host.html"
    host.write_text(HOST.format(w=IPHONE[0], h=IPHONE[1]), encoding="utf-8")
    assert CHROMIUM is not None
    run = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=800,1000",
            "--virtual-time-budget=10000",
            "--dump-dom",
            host.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    match = re.search(r'<pre id="probe-result">(.*?)</pre>', run.stdout, re.S)
    assert match, f"chromium gave no result (exit {run.returncode}): {run.stderr[-2000:]}"
    text = match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return dict(json.loads(text.replace("&amp;", "&")))


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_policy_page_fits_a_phone_with_both_languages_and_working_anchors(tmp_path: Path) -> None:
    html = render_policy(DEFAULT_INVENTORY, Settings(), lang="both", fmt="html").text
    result = probe(html, tmp_path)
    assert result["width"] == IPHONE[0]
    assert result["scrollWidth"] <= IPHONE[0], f"horizontal overflow: {result['wide']}"
    assert result["wide"] == []
    assert result["broken"] == []
    sections = result["sections"]
    assert isinstance(sections, list)
    assert [s["lang"] for s in sections] == ["zh-Hans", "en"]
    assert all(s["chars"] > 3000 and s["headings"] == 9 for s in sections)
    ids = set(result["ids"])
    assert {f"{lang}-{n}" for lang in ("zh", "en") for n in range(1, 10)} <= ids
