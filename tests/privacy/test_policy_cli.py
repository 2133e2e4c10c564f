"""`liveai policy`: render, lint, app-privacy, ropa, lists, publish, versions, show, diff."""

from __future__ import annotations

import csv
import io
import json
import plistlib
from pathlib import Path

import pytest

from liveai.privacy.facts import EXAMPLE
from tests.conftest import Cli

SEED = Path(__file__).parent / "policy_seed.txt"


@pytest.fixture
def facts_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The shipped example, filled in, as the configured operator facts file."""
    path = tmp_path / "facts.toml"
    path.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("LIVEAI_POLICY_FACTS_FILE", str(path))
    return path


def test_render_to_stdout_and_to_a_file(cli_embedded: Cli, tmp_path: Path) -> None:
    shown = cli_embedded("policy", "render", "--lang", "en", "--format", "txt")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("Privacy Policy\n") and "隐私政策" not in shown.stdout
    assert "[待确认 / to be confirmed: operator.contact_email]" in shown.stdout
    out = tmp_path / "policy.html"
    written = cli_embedded("policy", "render", "--format", "html", "--out", str(out))
    assert written.exit_code == 0 and written.stdout == ""
    assert "version" in written.stderr and out.read_text().startswith("<!DOCTYPE html>")


def test_render_refuses_an_unknown_language_with_exit_2(cli_embedded: Cli) -> None:
    result = cli_embedded("policy", "render", "--lang", "fr")
    assert result.exit_code == 2 and "'fr' is not one of 'zh', 'en', 'both'" in result.stderr


def test_lint_lists_each_finding_with_rule_line_and_hint_and_exits_1(cli_embedded: Cli) -> None:
    result = cli_embedded("policy", "lint")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    contact = next(line for line in lines if line.startswith("operator.contact_email"))
    assert "error missing-contact: §9 gives no contact address. Fix: set operator" in contact
    assert "(line " in contact and "error(s)" in result.stderr
    as_json = json.loads(cli_embedded("policy", "lint", "--json").stdout)
    assert as_json["ok"] is False and len(as_json["issues"]) == len(lines)
    first = as_json["issues"][0]
    assert set(first) == {"code", "severity", "location", "line", "message", "hint", "excerpt"}


def test_lint_is_clean_with_the_example_facts(cli_embedded: Cli, facts_file: Path) -> None:
    result = cli_embedded("policy", "lint")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and "policy lint clean" in result.stderr


def test_a_bad_facts_file_is_one_line_and_exit_2(cli_embedded: Cli, facts_file: Path) -> None:
    facts_file.write_text('[recipients.fal]\nlegal_name = "Fal"\n', encoding="utf-8")
    for command in (("policy", "lint"), ("policy", "render"), ("policy", "publish")):
        result = cli_embedded(*command)
        assert result.exit_code == 2, command
        assert f"{facts_file}: recipients.fal.transfer_mechanism: missing" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert cli_embedded("policy", "versions", "--json").stdout.strip() == "[]"


def test_lint_a_text_file_and_a_drifted_setting(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    result = cli_embedded("policy", "lint", "--text", str(SEED), "--json")
    assert result.exit_code == 1
    found = {i["code"] for i in json.loads(result.stdout)["issues"]}
    assert {"missing-contact", "missing-policy-url", "section-mismatch"} <= found
    assert {"open-ended-retention", "retention-after-deletion", "appstore-in-app-deletion"} <= found
    monkeypatch.setenv("LIVEAI_UPLOAD_RETENTION_DAYS", "60")
    drifted = json.loads(cli_embedded("policy", "lint", "--json").stdout)["issues"]
    assert {"code": "retention-mismatch", "location": "categories.photos.retention"} in [
        {"code": i["code"], "location": i["location"]} for i in drifted
    ]
    missing = cli_embedded("policy", "lint", "--text", str(tmp_path / "absent.txt"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_app_privacy_as_json_table_and_xcprivacy(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    label = json.loads(cli_embedded("policy", "app-privacy", "--json").stdout)
    assert label["tracking"] is False and len(label["data_types"]) >= 8
    table = cli_embedded("policy", "app-privacy")
    assert table.exit_code == 0 and "Customer Support" in table.stdout
    assert "not Apple's Sensitive Info" in table.stderr
    refused = cli_embedded("policy", "app-privacy", "--xcprivacy")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "NSPrivacyAccessedAPITypes" in refused.stderr and "policy_facts_file" in refused.stderr
    monkeypatch.setenv("LIVEAI_POLICY_FACTS_FILE", str(EXAMPLE))
    plist = plistlib.loads(cli_embedded("policy", "app-privacy", "--xcprivacy").stdout.encode())
    assert plist["NSPrivacyAccessedAPITypes"][0]["NSPrivacyAccessedAPITypeReasons"] == ["CA92.1"]


def test_ropa_and_lists(cli_embedded: Cli, facts_file: Path) -> None:
    md = cli_embedded("policy", "ropa")
    assert md.exit_code == 0 and "## (f) Time limits for erasure" in md.stdout
    assert "## (f) 删除期限" in md.stdout
    record = json.loads(cli_embedded("policy", "ropa", "--format", "json").stdout)
    assert record["request_sla_working_days"] == 15
    assert cli_embedded("policy", "ropa", "--format", "pdf").exit_code == 2
    lists = cli_embedded("policy", "lists")
    assert lists.exit_code == 0 and "# 第三方共享清单" in lists.stdout
    shared = cli_embedded("policy", "lists", "--format", "csv", "--list", "sharing").stdout
    assert len(list(csv.DictReader(io.StringIO(shared)))) == 9
    assert cli_embedded("policy", "lists", "--format", "csv").exit_code == 2


def test_publish_refuses_on_lint_errors_then_accepts_the_risk(cli: Cli) -> None:
    refused = cli("policy", "publish")
    assert refused.exit_code == 1 and "not published: policy lint has" in refused.stderr
    assert any("missing-contact" in line for line in refused.stdout.splitlines())
    assert cli("policy", "versions", "--json").stdout.strip() == "[]"
    risky = cli("policy", "publish", "--accept-risk", "counsel approved the draft")
    assert risky.exit_code == 0, risky.output
    events = json.loads(cli("audit", "list", "--json").stdout)
    risk = next(e for e in events if e["action"] == "policy.risk_accepted")
    assert risk["details"]["reason"] == "counsel approved the draft"
    assert risk["actor"].startswith("cli") and risk["details"]["findings"]


def test_publish_versions_show_and_diff(
    cli: Cli, facts_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("policy", "publish", "--effective", "2000-01-01").exit_code == 2
    published = cli("policy", "publish", "--effective", "2999-01-01")
    assert published.exit_code == 0, published.output
    label = published.stdout.strip()
    assert len(label) == 10 and label.count("-") == 2
    assert "published policy" in published.stderr and "effective 2999-01-01" in published.stderr
    again = cli("policy", "publish")
    assert again.stdout.strip() == label and "already published" in again.stderr
    listed = json.loads(cli("policy", "versions", "--json").stdout)
    assert [v["label"] for v in listed] == [label] and listed[0]["effective"] == "2999-01-01"
    shown = cli("policy", "show", label)
    assert shown.exit_code == 0 and "生效日期:2999 年 1 月 1 日" in shown.stdout
    html = cli("policy", "show", listed[0]["version"][:6], "--format", "html").stdout
    assert html.startswith("<!DOCTYPE html>")
    same = cli("policy", "diff", label, "current")
    assert same.exit_code == 0 and "are the same" in same.stderr
    monkeypatch.setenv("LIVEAI_UPLOAD_RETENTION_DAYS", "60")
    changed = cli("policy", "diff", label)
    assert (
        "MATERIAL   longer_retention: New retention for uploaded photos: up to 60 days."
        in changed.stdout
    )
    assert "通知 / notice:" in changed.stdout and "material change" in changed.stderr
    as_json = json.loads(cli("policy", "diff", label, "--json").stdout)
    assert as_json["needs_notice"] is True and as_json["needs_consent"] is False
    assert as_json["summary"]["zh"]
    assert cli("policy", "diff", "deadbeef").exit_code == 3
    assert cli("policy", "show", "deadbeef").exit_code == 3
