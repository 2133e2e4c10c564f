"""`liveai policy`: render, lint, app-privacy, ropa, publish, versions, diff."""

from __future__ import annotations

import json
import plistlib
from pathlib import Path

SEED = Path(__file__).parent / "policy_seed.txt"


def test_render_to_stdout_and_to_a_file(cli_embedded, tmp_path: Path) -> None:
    shown = cli_embedded("policy", "render", "--lang", "en", "--format", "txt")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("Privacy Policy\n") and "隐私政策" not in shown.stdout
    out = tmp_path / "policy.html"
    written = cli_embedded("policy", "render", "--format", "html", "--out", str(out))
    assert written.exit_code == 0 and written.stdout == ""
    assert "version" in written.stderr and out.read_text().startswith("<!DOCTYPE html>")


def test_render_refuses_an_unknown_language_with_exit_2(cli_embedded) -> None:
    result = cli_embedded("policy", "render", "--lang", "fr")
    assert result.exit_code == 2 and "'fr' is not one of 'zh', 'en', 'both'" in result.stderr


def test_lint_lists_each_gap_with_its_location_and_exits_1(cli_embedded) -> None:
    result = cli_embedded("policy", "lint")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "operator.contact_email: missing-contact: §9 gives no contact address" in lines
    assert len(lines) == 5 and "5 issue(s)" in result.stderr
    as_json = json.loads(cli_embedded("policy", "lint", "--json").stdout)
    assert as_json["ok"] is False and len(as_json["issues"]) == 5


def test_lint_a_text_file_and_a_drifted_setting(cli_embedded, monkeypatch, tmp_path) -> None:
    result = cli_embedded("policy", "lint", "--text", str(SEED), "--json")
    assert result.exit_code == 1
    codes = {i["code"] for i in json.loads(result.stdout)["issues"]}
    assert codes == {"missing-contact", "missing-policy-url", "section-mismatch"}
    monkeypatch.setenv("LIVEAI_UPLOAD_RETENTION_DAYS", "60")
    drifted = json.loads(cli_embedded("policy", "lint", "--json").stdout)["issues"]
    assert {"code": "retention-mismatch", "location": "categories.photos.retention"} in [
        {"code": i["code"], "location": i["location"]} for i in drifted
    ]
    missing = cli_embedded("policy", "lint", "--text", str(tmp_path / "absent.txt"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_app_privacy_as_json_table_and_xcprivacy(cli_embedded) -> None:
    label = json.loads(cli_embedded("policy", "app-privacy", "--json").stdout)
    assert label["tracking"] is False and len(label["data_types"]) >= 8
    table = cli_embedded("policy", "app-privacy")
    assert table.exit_code == 0 and "User ID" in table.stdout and "tracking" in table.stdout
    plist = cli_embedded("policy", "app-privacy", "--xcprivacy").stdout
    assert plistlib.loads(plist.encode())["NSPrivacyTracking"] is False


def test_ropa_as_markdown_and_json(cli_embedded) -> None:
    md = cli_embedded("policy", "ropa")
    assert md.exit_code == 0 and "## (f) Time limits for erasure" in md.stdout
    record = json.loads(cli_embedded("policy", "ropa", "--format", "json").stdout)
    assert record["request_sla_working_days"] == 15
    assert cli_embedded("policy", "ropa", "--format", "pdf").exit_code == 2


def test_publish_versions_and_diff(cli, monkeypatch) -> None:
    published = cli("policy", "publish")
    assert published.exit_code == 0, published.output
    version = published.stdout.strip()
    assert "published policy version" in published.stderr
    again = cli("policy", "publish")
    assert again.stdout.strip() == version and "already published" in again.stderr
    listed = json.loads(cli("policy", "versions", "--json").stdout)
    assert [v["version"] for v in listed] == [version]
    same = cli("policy", "diff", version[:6], "current")
    assert same.exit_code == 0 and "are the same" in same.stderr
    monkeypatch.setenv("LIVEAI_LOG_RETENTION_DAYS", "14")
    changed = json.loads(cli("policy", "diff", version, "--json").stdout)
    assert changed["needs_consent"] is False and changed["new"] != version
    assert any("14 days" in line for line in changed["text_diff"])
    assert cli("policy", "diff", "deadbeef").exit_code == 3
