"""The consents commands and `liveai generate --user` on the embedded default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli


@pytest.fixture(autouse=True)
def small_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEAI_RENDER_MAX_SIDE", "96")


def _json(result: Any) -> Any:
    assert result.exit_code in (0, 4), result.stderr
    return json.loads(result.stdout)


def _ann(cli: Any) -> str:
    made = cli("users", "create", "--issuer", "https://auth.example", "--sub", "ann", "--json")
    assert made.exit_code == 0, made.stderr
    assert cli("credits", "grant", "ann", "50", "--reason", "welcome").exit_code == 0
    return str(json.loads(made.stdout)["id"])


def test_the_required_consents_come_from_the_inventory(cli_embedded: Cli) -> None:
    rows = _json(cli_embedded("consents", "required", "--json"))
    needs = {(r["purpose"], r["recipient"]): r["needs"] for r in rows}
    assert needs[("generation", "fal")] == ["cross_border:fal", "face_editing", "sensitive:photos"]
    assert needs[("generation", "kling")] == ["face_editing", "sensitive:photos"]
    assert needs[("consumption", "app_store")] == [
        "consumption_data",
        "cross_border:app_store",
        "provide:app_store",
    ]
    shown = cli_embedded("consents", "required")
    assert shown.exit_code == 0 and "cross_border:fal" in shown.stdout


def test_generate_waits_for_consent_and_stops_when_it_is_withdrawn(cli_embedded: Cli) -> None:
    _ann(cli_embedded)
    refused = cli_embedded("generate", "--sample", "--user", "ann")
    assert refused.exit_code == 4
    assert "local needs face_editing, sensitive:photos" in refused.stderr
    assert _json(cli_embedded("tasks", "list", "--json")) == []
    assert _json(cli_embedded("credits", "balance", "ann", "--json"))["available"] == 50

    checked = cli_embedded("consents", "check", "ann", "--json")
    assert checked.exit_code == 4 and not _json(checked)["ok"]
    for kind in ("face_editing", "sensitive:photos"):
        given = cli_embedded(
            "consents", "grant", "ann", kind, "--source", "in-app", "--evidence", "onboarding",
            "--app-version", "2.3.0",
        )  # fmt: skip
        assert given.exit_code == 0, given.stderr
        assert f"granted {kind}" in given.stderr
    assert cli_embedded("consents", "check", "ann").exit_code == 0
    listed = _json(cli_embedded("consents", "list", "ann", "--json"))
    assert [c["consent"] for c in listed] == ["face_editing", "sensitive:photos"]
    made = cli_embedded("generate", "--sample", "--user", "ann", "--no-wait", "--json")
    assert made.exit_code == 0, made.stderr

    withdrawn = cli_embedded("consents", "withdraw", "ann", "face_editing", "--json")
    done = _json(withdrawn)
    assert done["action"] == "withdrawn" and done["cancelled_tasks"] == [_json(made)["id"]]
    assert _json(cli_embedded("credits", "balance", "ann", "--json"))["available"] == 50
    assert cli_embedded("generate", "--sample", "--user", "ann").exit_code == 4
    steps = _json(cli_embedded("consents", "history", "ann", "--json"))
    assert [(s["consent"], s["action"]) for s in steps] == [
        ("face_editing", "granted"),
        ("sensitive:photos", "granted"),
        ("face_editing", "withdrawn"),
    ]
    assert steps[0]["evidence"] == {"app_version": "2.3.0", "note": "onboarding"}


def test_check_names_a_provider_and_the_master_switch(cli_embedded: Cli) -> None:
    _ann(cli_embedded)
    result = cli_embedded("consents", "check", "ann", "--provider", "fal")
    assert result.exit_code == 4
    assert "fal needs cross_border:fal" in result.stderr
    assert "LIVEAI_ALLOW_OVERSEAS is off" in result.stderr


def test_check_and_generate_cover_the_moderation_that_sees_the_photo_first(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kling is in mainland China, but the Qwen-VL check runs on DashScope's international
    endpoint: the photo goes abroad for moderation before Kling sees it."""
    for name, value in {
        "PROVIDER_ORDER": "kling",
        "KLING_ACCESS_KEY": "ak",
        "KLING_SECRET_KEY": "sk",
        "WAN_API_KEY": "dashscope-key",
        "QWEN_VL_MODEL": "qwen-vl-max",
        "WAN_BASE_URL": "https://dashscope-intl.aliyuncs.com",
    }.items():
        monkeypatch.setenv(f"LIVEAI_{name}", value)
    _ann(cli_embedded)
    for kind in ("face_editing", "sensitive:photos"):
        given = cli_embedded(
            "consents", "grant", "ann", kind, "--source", "in-app", "--evidence", "sheet"
        )
        assert given.exit_code == 0, given.stderr
    checked = cli_embedded("consents", "check", "ann", "--json")
    report = _json(checked)
    assert checked.exit_code == 4
    assert report["providers"] == [
        {
            "provider": "kling",
            "moderated_by": ["wan"],
            "missing": ["cross_border:alibaba"],
            "why": ["cross_border:alibaba: alibaba is overseas (PIPL art. 39) (moderation at wan)"],
        }
    ]
    refused = cli_embedded("generate", "--sample", "--user", "ann", "--no-wait")
    assert refused.exit_code == 4 and "kling needs cross_border:alibaba" in refused.stderr
    assert _json(cli_embedded("tasks", "list", "--json")) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["grant", "ann", "marketing"], 2, "unknown consent kind"),
        (["grant", "ann", "cross_border", "--scope", "acme"], 2, "not a recipient"),
        (["grant", "ann", "face_editing", "--evidence", " "], 2, "needs evidence"),
        (["grant", "ann", "face_editing", "--at", "2999-01-01T00:00:00+00:00"], 2, "future"),
        (["grant", "ann", "face_editing", "--at", "yesterday"], 2, "ISO 8601"),
        (["grant", "nobody", "face_editing"], 3, "no user"),
        (["withdraw", "ann", "face_editing"], 3, "no standing face_editing consent"),
        (["check", "nobody"], 3, "no user"),
    ],
)
def test_bad_input_is_one_line_with_its_exit_code_and_writes_nothing(
    cli_embedded: Cli, args: list[str], code: int, message: str
) -> None:
    _ann(cli_embedded)
    extra = ["--source", "staff", "--evidence", "ticket 1"] if args[0] == "grant" else []
    if "--evidence" in args:
        extra = ["--source", "staff"]
    result = cli_embedded("consents", *args, *extra)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _json(cli_embedded("consents", "history", "ann", "--json")) == []


def test_the_developer_user_is_given_what_it_needs_on_creation(
    cli_embedded: Cli, tmp_path: Path
) -> None:
    result = cli_embedded("generate", "--sample", "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.stderr
    assert "created the local developer user" in result.stderr
    assert "consents given: face_editing, sensitive:photos" in result.stderr
    again = cli_embedded("generate", "--sample", "--no-wait")
    assert again.exit_code == 0 and "created" not in again.stderr


def test_the_developer_user_is_given_what_its_moderation_needs(
    cli_embedded: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEAI_QWEN_VL_MODEL", "qwen-vl-max")
    monkeypatch.setenv("LIVEAI_WAN_API_KEY", "dashscope-key")
    monkeypatch.setenv("LIVEAI_WAN_BASE_URL", "https://dashscope-intl.aliyuncs.com")
    made = cli_embedded("generate", "--sample", "--no-wait")
    assert made.exit_code == 0, made.stderr
    assert "consents given: cross_border:alibaba, face_editing, sensitive:photos" in made.stderr


def test_withdrawing_policy_acceptance_stops_processing_until_given_again(
    cli_embedded: Cli,
) -> None:
    _ann(cli_embedded)
    for kind in ("face_editing", "sensitive:photos"):
        args = ("--source", "in-app", "--evidence", "onboarding")
        assert cli_embedded("consents", "grant", "ann", kind, *args).exit_code == 0
    published = cli_embedded("policy", "publish", "--accept-risk", "operator facts not filled in")
    assert published.exit_code == 0
    refused = cli_embedded("generate", "--sample", "--user", "ann", "--no-wait")
    assert refused.exit_code == 4 and "needs policy" in refused.stderr
    accept = ("consents", "grant", "ann", "policy", "--source", "in-app", "--evidence", "sheet")
    assert cli_embedded(*accept).exit_code == 0
    assert cli_embedded("generate", "--sample", "--user", "ann", "--no-wait").exit_code == 0
    withdrawn = cli_embedded("consents", "withdraw", "ann", "policy")
    assert withdrawn.exit_code == 0, withdrawn.stderr
    assert "cancelled 1 queued task(s)" in withdrawn.stderr
    assert "restricted until the policy is accepted again" in withdrawn.stderr
    assert _json(cli_embedded("users", "show", "ann", "--json"))["status"] == "restricted"
    stopped = cli_embedded("generate", "--sample", "--user", "ann", "--no-wait")
    assert stopped.exit_code == 1 and "processing has stopped" in stopped.stderr
    assert cli_embedded(*accept).exit_code == 0
    assert _json(cli_embedded("users", "show", "ann", "--json"))["status"] == "active"
    assert cli_embedded("generate", "--sample", "--user", "ann", "--no-wait").exit_code == 0
