"""The inventory and the operator facts render a true policy, and lint finds every gap."""

from __future__ import annotations

import csv
import dataclasses
import io
import plistlib
import re
import tomllib
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Uuid

from liveai.errors import ConfigError, InvalidInput
from liveai.models import Base
from liveai.privacy.document import Dates, build
from liveai.privacy.facts import EMPTY, EXAMPLE, MARKER_PATTERN, load_facts
from liveai.privacy.inventory import (
    DEFAULT_INVENTORY,
    SLA_WORKING_DAYS,
    unclassified_user_tables,
    user_linked_tables,
)
from liveai.privacy.inventory_types import Erasure, Inventory, Text
from liveai.privacy.labels import app_privacy, xcprivacy
from liveai.privacy.lint import (
    _rendered,
    errors,
    lint_inventory,
    lint_policy,
    lint_text,
    sections,
    split_languages,
)
from liveai.privacy.policy import policy_version, render_policy, source
from liveai.privacy.ropa import render_lists, ropa, ropa_markdown
from liveai.providers.vendors import VENDORS, disclosed, named, refusal
from liveai.settings import Settings, load_settings

SEED = (Path(__file__).parent / "policy_seed.txt").read_text(encoding="utf-8")
FILLED = load_facts(EXAMPLE, DEFAULT_INVENTORY)

# Seed lines the generated policy deliberately does not repeat word for word, and why.
CHANGED = {
    "更新日期:": "the updated date is the publish date",
    "Last Updated:": "the updated date is the publish date",
    "- 处理方式:图片以加密 HTTPS": "'长期保留' is replaced by the stated retention",
    "- Handling: images are uploaded": "'long-term' is replaced by the stated retention",
    "为提供本服务,我们使用以下第三方服务": "recipients receive more than images and text",
    "To provide the service, your image": "recipients receive more than images and text",
    "由于我们无法完全控制": "consent by use contradicts the separate consents required",
    "We have signed service agreements": "consent by use contradicts the separate consents",
    "- 保留期限:": "retention generated per category, with durations",
    "- Retention:": "retention generated per category, with durations",
    "- 删除:": "deletion names what is kept and offers in-app deletion",
    "- Deletion:": "deletion names what is kept and offers in-app deletion",
    "- Withdraw consent:": "en gains the sentence zh has",
    "The App is intended for users": "en gains 'immediately' as zh has",
    "- Apple Push Notification Service (APNs)": "the seed has no policy address; one is given",
    "- App Store In-App Purchase": "the seed has no policy address; one is given",
}


def by_section(text: str) -> dict[str, dict[str, list[str]]]:
    return {lang: sections(lines) for lang, lines in split_languages(text).items()}


def txt(inventory=DEFAULT_INVENTORY, settings=None, facts=FILLED) -> str:  # type: ignore[no-untyped-def]
    return render_policy(inventory, settings or Settings(), facts, fmt="txt").text


def codes(issues) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(i.code, i.location) for i in issues}


def test_every_seed_line_is_kept_or_deliberately_changed() -> None:
    rendered = [line.strip() for line in txt().splitlines()]
    for number, line in enumerate(SEED.splitlines(), start=1):
        line = line.strip()
        if not line or any(line.startswith(prefix) for prefix in CHANGED):
            continue
        # A recipient line gains its PIPL art. 23 details after the seed's words.
        core = re.sub(r"\s*(?:Privacy policy|Policy):\s*\S+$", "", line)
        assert any(r == line or r.startswith(core) for r in rendered), f"seed:{number} lost"


def test_the_draft_and_a_published_version_carry_their_dates_and_label() -> None:
    draft = txt()
    assert "更新日期:未发布(草稿)" in draft and "not yet published (draft)" in draft
    dates = Dates(date(2026, 12, 5), date(2026, 12, 20), "2026-12-05")
    text = render_policy(DEFAULT_INVENTORY, Settings(), FILLED, fmt="txt", dates=dates).text
    assert "更新日期:2026 年 12 月 5 日" in text and "生效日期:2026 年 12 月 20 日" in text
    assert "Last Updated: December 5, 2026" in text and "Effective: December 20, 2026" in text
    version = policy_version(DEFAULT_INVENTORY, Settings(), FILLED)
    assert f"版本:2026-12-05({version})" in text and f"Version: 2026-12-05 ({version})" in text


def test_missing_facts_are_visible_bilingual_markers_and_named_lint_errors() -> None:
    text = txt(facts=EMPTY)
    keys = set(MARKER_PATTERN.findall(text))
    assert {"operator.contact_email", "operator.address", "recipients.fal.legal_name"} <= keys
    for half in split_languages(text).values():
        assert set(MARKER_PATTERN.findall("\n".join(half))) == keys
    issues = errors(lint_policy(DEFAULT_INVENTORY, Settings(), EMPTY, Base.metadata))
    named = {key for i in issues for key in (*i.facts, i.location)}
    assert keys <= named, keys - named


def test_with_the_example_facts_lint_is_clean_and_nothing_is_to_be_confirmed() -> None:
    assert lint_policy(DEFAULT_INVENTORY, Settings(), FILLED, Base.metadata) == []
    text = txt()
    assert not MARKER_PATTERN.search(text) and "待补充" not in text and "pending" not in text
    assert "privacy@example.com" in text and "Example fal entity" in text


@pytest.mark.parametrize("fmt", ["md", "txt"])
def test_the_rendered_text_passes_the_text_lint(fmt: str) -> None:
    text = render_policy(DEFAULT_INVENTORY, Settings(), FILLED, fmt=fmt).text
    assert lint_text(text, Settings(), source="rendered") == []


def test_nothing_is_invented() -> None:
    for text in (txt(facts=EMPTY), txt()):
        assert "Apple Inc." not in text and "apple.com/legal/privacy/contact" not in text
        assert (
            "用户在设备上直接与 Apple 交互" not in text and "deals with Apple directly" not in text
        )
        assert "none appointed" not in text and "长期" not in text and "long-term" not in text
    ropa_text = ropa_markdown(DEFAULT_INVENTORY, Settings())
    assert "none appointed" not in ropa_text and "Apple Inc." not in ropa_text
    assert "none appointed: Example: counsel" in ropa_markdown(
        DEFAULT_INVENTORY, Settings(), FILLED
    )


def test_the_text_is_generated_from_the_inventory() -> None:
    text = txt()
    halves = by_section(text)
    photos = next(line for line in halves["en"]["1"] if line.startswith("- uploaded photos:"))
    for fact in (
        "purpose: generate the AI Live Photo video",
        "PIPL art. 13(1)(2)",
        "GDPR art. 6(1)(b)",
        "Fal.ai (processor, outside mainland China)",
        "retention: up to 30 days",
        "on account deletion: deleted",
    ):
        assert fact in photos
    ledger = next(line for line in halves["zh"]["1"] if line.startswith("- 积分余额与积分流水"))
    assert "注销后假名化保存 10 年" in ledger and "假名化保留" in ledger
    assert any("Sensitive personal information: Photos may show" in x for x in halves["en"]["1"])
    assert any(x.startswith("- Tencent Cloud — ") for x in halves["en"]["3"])
    alibaba = next(x for x in halves["en"]["3"] if x.startswith("- Alibaba Cloud"))
    assert "content moderation" in alibaba and "Role: processor" in alibaba
    assert "Role: independent handler" in next(
        x for x in halves["en"]["3"] if x.startswith("- App Store")
    )


def test_moderation_is_disclosed_when_it_runs() -> None:
    assert "1.2.moderation" not in txt()
    moderated = Settings(qwen_vl_model="qwen-vl-max")
    assert "先由阿里云的 Qwen-VL 模型审核" in txt(settings=moderated)
    assert lint_policy(DEFAULT_INVENTORY, moderated, FILLED) == []
    alibaba = dataclasses.replace(
        DEFAULT_INVENTORY.third_party("alibaba"), purpose=Text("生成视频", "video generation")
    )
    inv = dataclasses.replace(
        DEFAULT_INVENTORY,
        third_parties=tuple(
            alibaba if t.key == "alibaba" else t for t in DEFAULT_INVENTORY.third_parties
        ),
    )
    assert ("moderation-purpose", "third_parties") in codes(lint_policy(inv, moderated, FILLED))


def test_retention_comes_from_settings_and_a_disagreement_is_reported() -> None:
    settings = Settings(upload_retention_days=45, log_retention_days=7)
    text = txt(settings=settings)
    assert "最长保留 45 天" in text and "at most 45 days" in text
    assert "nginx 访问日志,保留 7 天" in text and "rotated after 7 days" in text
    issues = lint_inventory(DEFAULT_INVENTORY, settings, facts=FILLED)
    assert {(i.code, i.location) for i in issues if i.code == "retention-mismatch"} == {
        ("retention-mismatch", "categories.photos.retention"),
        ("retention-mismatch", "categories.access_logs.retention"),
    }


def test_the_sla_is_defined_once() -> None:
    assert DEFAULT_INVENTORY.sla_working_days == SLA_WORKING_DAYS == 15
    text = render_policy(
        dataclasses.replace(DEFAULT_INVENTORY, sla_working_days=10), Settings(), fmt="txt"
    ).text
    assert "10 个工作日内完成" in text and "within 10 business days" in text
    assert "15 个工作日" not in text and "15 business days" not in text


def test_enabled_providers_must_be_disclosed() -> None:
    assert not lint_inventory(
        DEFAULT_INVENTORY, Settings(provider_order="local,kling,ark,wan,fal"), facts=FILLED
    )
    issues = lint_inventory(DEFAULT_INVENTORY, Settings(provider_order="kling,acme"), facts=FILLED)
    assert [(i.code, i.location) for i in issues] == [
        ("undisclosed-provider", "settings.provider_order[acme]")
    ]
    keys = {"ark_api_key": "a", "wan_api_key": "w", "fal_key": "f", "kling_api_key": "k"}
    runnable = [s.name for s in VENDORS if refusal(s, load_settings(**keys)) is None]
    assert runnable == ["kling", "ark", "wan"]
    overseas = load_settings(**keys, allow_overseas=True)
    assert [s.name for s in VENDORS if refusal(s, overseas) is None] == [
        "kling",
        "ark",
        "wan",
        "fal",
    ]
    assert disclosed("local") and not disclosed("acme")


def test_every_user_linked_table_is_classified() -> None:
    missing = unclassified_user_tables(Base.metadata)
    assert missing == [], f"classify these tables in liveai/privacy/inventory.py: {missing}"
    assert {"users", "identities", "consents"} <= set(user_linked_tables(Base.metadata))


def test_an_unclassified_user_table_is_named() -> None:
    metadata = MetaData()
    Table("users", metadata, Column("id", Uuid, primary_key=True))
    Table("widgets", metadata, Column("id", Integer, primary_key=True), Column("user_id", Uuid))
    Table(
        "gadgets",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("owner", Uuid, ForeignKey("users.id")),
    )
    Table("settings", metadata, Column("id", Integer, primary_key=True))
    assert unclassified_user_tables(metadata) == ["gadgets", "widgets"]
    issues = lint_inventory(DEFAULT_INVENTORY, Settings(), metadata)
    assert {i.location for i in issues if i.code == "unclassified-table"} == {
        "tables.gadgets",
        "tables.widgets",
    }


def test_lint_still_reports_the_five_findings_of_the_default_inventory() -> None:
    found = codes(lint_inventory(DEFAULT_INVENTORY, Settings(), Base.metadata))
    assert {
        ("missing-contact", "operator.contact_email"),
        ("missing-policy-url", "third_parties.alibaba.policy_url"),
        ("missing-policy-url", "third_parties.kling.policy_url"),
        ("missing-policy-url", "third_parties.volcengine.policy_url"),
        ("overseas-without-pipl39", "third_parties.fal.pipl39"),
    } <= found


def test_every_finding_has_a_rule_id_severity_hint_and_the_rendered_line() -> None:
    issues = lint_policy(DEFAULT_INVENTORY, Settings(), EMPTY, Base.metadata)
    lines = txt(facts=EMPTY).splitlines()
    assert all(i.hint and i.severity in ("error", "warning") for i in issues)
    fal = next(i for i in issues if i.location == "third_parties.fal.pipl39")
    assert fal.line is not None and "Fal.ai" in lines[fal.line - 1]
    address = next(i for i in issues if i.location == "operator.address")
    assert address.code == "fact-missing" and address.line is not None
    assert "operator.address" in lines[address.line - 1]


def test_pipl23_and_pipl39_name_every_recipient_that_lacks_details() -> None:
    found = codes(lint_inventory(DEFAULT_INVENTORY, Settings()))
    assert {loc for code, loc in found if code == "pipl23-recipient"} == {
        f"recipients.{key}"
        for key in (
            "apple",
            "tencent_cloud",
            "volcengine",
            "alibaba",
            "fal",
            "kling",
            "apns",
            "app_store",
        )
    }
    assert {loc for code, loc in found if code == "overseas-without-pipl39"} == {
        f"third_parties.{key}.pipl39" for key in ("apple", "fal", "apns", "app_store")
    }


def _with(**changes: object) -> Inventory:
    return dataclasses.replace(DEFAULT_INVENTORY, **changes)  # type: ignore[arg-type]


def _category(key: str, **changes: object) -> Inventory:
    changed = dataclasses.replace(DEFAULT_INVENTORY.category(key), **changes)  # type: ignore[arg-type]
    return _with(
        categories=tuple(changed if c.key == key else c for c in DEFAULT_INVENTORY.categories)
    )


@pytest.mark.parametrize(
    ("inventory", "expected"),
    [
        (
            _category("photos", sensitive_notice=None),
            ("pipl29-sensitive", "categories.photos.sensitive_notice"),
        ),
        (_with(min_age=12), ("pipl31-children", "min_age")),
        (
            _with(third_parties=tuple(t for t in DEFAULT_INVENTORY.third_parties if not t.hosts)),
            ("hosting-processor", "third_parties"),
        ),
        (
            _category(
                "prompts",
                retention=dataclasses.replace(
                    DEFAULT_INVENTORY.category("prompts").retention,
                    text=Text("长期保留,您可随时删除", "long-term, until you delete it"),
                ),
            ),
            ("open-ended-retention", "categories.prompts.retention"),
        ),
        (
            _category("email", recipients=("logto", "kling")),
            ("recipient-categories", "categories.email.recipients"),
        ),
        (
            _category("display_name", purpose=Text("显示 1 次", "display it twice (2)")),
            ("zh-en-parity", "fact category.display_name"),
        ),
        (
            _with(not_collected=(*DEFAULT_INVENTORY.not_collected, Text("不收集指纹", ""))),
            ("zh-en-parity", "fact not_collected.6"),
        ),
    ],
)
def test_each_rule_finds_what_it_is_about(inventory, expected) -> None:  # type: ignore[no-untyped-def]
    assert lint_policy(DEFAULT_INVENTORY, Settings(), FILLED) == []
    assert expected in codes(lint_policy(inventory, Settings(), FILLED))


def test_in_app_deletion_is_an_operator_fact_and_shown_in_the_text() -> None:
    no_app = FILLED.model_copy(
        update={"app": FILLED.app.model_copy(update={"in_app_account_deletion": None})}
    )
    assert ("appstore-in-app-deletion", "app.in_app_account_deletion") in codes(
        lint_policy(DEFAULT_INVENTORY, Settings(), no_app)
    )
    assert "您可在 App 内发起注销账号" in txt() and "start it in the App" in txt()
    assert "您可在 App 内发起注销账号" not in txt(facts=no_app)


def test_deletion_names_what_is_kept_and_consents_are_disclosed() -> None:
    halves = by_section(txt())
    deletion = next(x for x in halves["en"]["5"] if x.startswith("- Deletion:"))
    for name in ("credits balance and ledger", "IAP receipts", "requests you send us"):
        assert name in deletion
    assert any("separate consent" in x and "PIPL art. 39" in x for x in halves["en"]["3"])
    assert not any("by using the service" in x for x in halves["en"]["3"])
    src = dataclasses.replace(
        source(DEFAULT_INVENTORY, Settings(), FILLED),
        consent_needs=("sensitive:photos", "marketing"),
    )
    found = codes(_rendered(src, build(src, None, None)))
    assert ("consent-undisclosed", "consent.marketing") in found
    assert ("consent-undisclosed", "consent.sensitive:photos") not in found
    every = source(DEFAULT_INVENTORY, Settings(), FILLED)
    blocks = build(every, None, None)
    assert not codes(_rendered(every, blocks))
    assert "consent.face_editing" in {f.id for b in blocks for f in b.facts}
    # The code asking cross_border for one more recipient than the text names is an error.
    more = dataclasses.replace(every, consent_needs=(*every.consent_needs, "cross_border:apns"))
    assert ("consent-undisclosed", "consent.cross_border:apns") in codes(_rendered(more, blocks))


def test_a_deletion_sentence_that_hides_what_is_kept_is_an_error() -> None:
    src = source(DEFAULT_INVENTORY, Settings(), FILLED)
    blocks = [
        dataclasses.replace(b, facts=tuple(f for f in b.facts if f.id != "rights.deletion"))
        for b in build(src, None, None)
    ]
    found = codes(_rendered(src, blocks))
    assert ("retention-after-deletion", "categories.credits_ledger.erasure") in found
    assert not codes(_rendered(src, build(src, None, None)))


def test_a_recipient_without_a_gdpr_safeguard_is_a_warning() -> None:
    no_safeguard = FILLED.model_copy(
        update={"recipients": {k: v for k, v in FILLED.recipients.items() if k != "kling"}}
    )
    issues = lint_policy(DEFAULT_INVENTORY, Settings(), no_safeguard)
    kling = [i for i in issues if i.location == "recipients.kling.gdpr_safeguard"]
    assert [(i.code, i.severity) for i in kling] == [("gdpr-transfer-safeguard", "warning")]


def test_without_a_required_consent_the_seed_sentence_on_consent_by_use_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import liveai.privacy.policy

    monkeypatch.setattr(liveai.privacy.policy, "required_consent_needs", lambda inventory: ())
    text = render_policy(DEFAULT_INVENTORY, Settings(), FILLED, fmt="txt").text
    assert "但您在使用本服务即表示理解并接受相关数据流。" in text and "单独同意" not in text


def test_the_consents_the_code_requires_are_the_ones_disclosed() -> None:
    """Each consent the rules require is named with its scope, and the text promises a
    consent for no recipient the code lets data reach without one."""
    from liveai.privacy.consent_rules import requirements_table

    required = {need for row in requirements_table() for need in row["needs"]}
    assert required == {
        "sensitive:photos",
        "cross_border:fal",
        "cross_border:app_store",
        "provide:app_store",
        "face_editing",
        "consumption_data",
    }
    facts = {
        f.id: f
        for b in build(source(DEFAULT_INVENTORY, Settings(), FILLED), None, None)
        for f in b.facts
    }
    said = {
        k.removeprefix("consent."): f.text for k, f in facts.items() if k.startswith("consent.")
    }
    assert set(said) == {need.partition(":")[0] for need in required}
    for party in DEFAULT_INVENTORY.third_parties:
        for kind in ("cross_border", "provide"):
            named = (
                f"{party.name.en} (for " in said[kind].en
                and f"{party.name.zh}(用于" in said[kind].zh
            )
            assert named == (f"{kind}:{party.key}" in required), (kind, party.key)
    assert "(for video generation)" in said["cross_border"].en
    assert "listed above" not in said["cross_border"].en + said["provide"].en
    assert said["sensitive"].en.count("uploaded photos") == 1


def test_the_separate_consents_are_withdrawn_as_the_rights_section_says() -> None:
    halves = by_section(txt())
    withdraw = next(x for x in halves["en"]["5"] if x.startswith("- Withdraw consent:"))
    assert "withdraw any separate consent described in §3" in withdraw
    assert "not yet started that need it are cancelled" in withdraw
    zh = next(x for x in halves["zh"]["5"] if x.startswith("- 撤回同意:"))
    assert "第 3 节所述的单独同意" in zh


def test_lint_on_the_seed_finds_its_untrue_and_unfinished_lines() -> None:
    issues = lint_text(SEED, Settings(), source="seed")
    found = codes(issues)
    assert {
        ("missing-contact", "seed:en §9"),
        ("missing-contact", "seed:zh §9"),
        ("missing-policy-url", "seed:92"),
        ("missing-policy-url", "seed:93"),
        ("missing-policy-url", "seed:95"),
        ("section-mismatch", "seed:§3"),
        ("open-ended-retention", "seed:13"),
        ("open-ended-retention", "seed:36"),
        ("retention-after-deletion", "seed:44"),
        ("appstore-in-app-deletion", "seed:44"),
        ("appstore-in-app-deletion", "seed:108"),
    } <= found
    assert all(i.line == int(i.location.split(":")[1]) for i in issues if i.location[5:].isdigit())
    deletion = next(i for i in issues if i.code == "retention-after-deletion")
    assert deletion.excerpt and deletion.excerpt.startswith("- 删除:")


@pytest.mark.parametrize(
    "spelling", ["待补充", "(address pending)", "TBD", "Policy: link", "隐私政策:链接"]
)
def test_placeholders_in_any_spelling_are_errors(spelling: str) -> None:
    text = SEED.replace(
        "- Fal.ai — overseas AI inference platform. Policy: https://fal.ai/legal/privacy-policy",
        f"- Fal.ai — overseas AI inference platform. {spelling}",
    )
    found = {i.code for i in lint_text(text, Settings(), source="p") if i.location == "p:94"}
    assert found & {"placeholder", "missing-policy-url"}


def test_consent_by_use_next_to_a_separate_consent_is_a_contradiction() -> None:
    text = SEED.replace(
        "不得用于模型训练或其他用途;", "不得用于模型训练或其他用途;向境外提供前征得您的单独同意;"
    )
    assert "consent-contradiction" in {i.code for i in lint_text(text, Settings())}
    assert "consent-contradiction" not in {i.code for i in lint_text(SEED, Settings())}


def test_lint_text_catches_a_retention_the_settings_do_not_keep() -> None:
    drifted = SEED.replace("最长保留 30 天", "最长保留 60 天")
    issues = [
        i for i in lint_text(drifted, Settings(), source="p") if i.code == "retention-mismatch"
    ]
    assert [i.location for i in issues] == ["p:13", "p:36"]  # §1.2 and §4
    assert "60 days" in issues[0].message


def test_lint_text_catches_a_missing_section() -> None:
    text = SEED.replace("7. About AI-Generated Content", "About AI-Generated Content")
    assert ("section-mismatch", "p:en §7") in codes(lint_text(text, Settings(), source="p"))
    assert lint_text("nothing here", Settings())[0].code == "missing-language"


def _new_category() -> Inventory:
    face = dataclasses.replace(
        DEFAULT_INVENTORY.category("photos"),
        key="face_geometry",
        name=Text(zh="面部特征", en="face geometry"),
        purpose=Text(zh="人脸对齐", en="align faces"),
    )
    return _with(categories=(*DEFAULT_INVENTORY.categories, face))


def _new_recipient() -> Inventory:
    acme = dataclasses.replace(
        DEFAULT_INVENTORY.third_party("kling"),
        key="acme",
        name=Text("Acme", "Acme"),
        provider=None,
        categories=("prompts",),
    )
    prompts = dataclasses.replace(
        DEFAULT_INVENTORY.category("prompts"),
        recipients=(*DEFAULT_INVENTORY.category("prompts").recipients, "acme"),
    )
    return _with(
        third_parties=(*DEFAULT_INVENTORY.third_parties, acme),
        categories=tuple(
            prompts if c.key == "prompts" else c for c in DEFAULT_INVENTORY.categories
        ),
    )


def _region_change() -> Inventory:
    kling = dataclasses.replace(DEFAULT_INVENTORY.third_party("kling"), region="overseas")
    return _with(
        third_parties=tuple(
            kling if t.key == "kling" else t for t in DEFAULT_INVENTORY.third_parties
        )
    )


@pytest.mark.parametrize(
    ("inventory", "settings"),
    [
        (_new_category(), Settings()),
        (_new_recipient(), Settings()),
        (_region_change(), Settings()),
        (DEFAULT_INVENTORY, Settings(upload_retention_days=45)),
    ],
    ids=["category", "recipient", "region", "retention"],
)
def test_a_change_of_the_inventory_changes_text_label_ropa_and_version(inventory, settings) -> None:  # type: ignore[no-untyped-def]
    base = Settings()
    before = (
        txt(),
        app_privacy(DEFAULT_INVENTORY, base),
        ropa(DEFAULT_INVENTORY, base, FILLED, record_date=date(2026, 12, 5)),
        policy_version(DEFAULT_INVENTORY, base, FILLED),
    )
    after = (
        txt(inventory, settings),
        app_privacy(inventory, settings),
        ropa(inventory, settings, FILLED, record_date=date(2026, 12, 5)),
        policy_version(inventory, settings, FILLED),
    )
    for name, old, new in zip(("text", "label", "ropa", "version"), before, after, strict=True):
        assert old != new, name


def test_the_version_covers_the_operator_facts_and_the_templates(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from liveai.privacy import policy

    version = policy_version(DEFAULT_INVENTORY, Settings(), FILLED)
    assert version == policy_version(DEFAULT_INVENTORY, Settings(), FILLED)
    assert version != policy_version(DEFAULT_INVENTORY, Settings(), EMPTY)
    safeguard = FILLED.model_copy(
        update={
            "recipients": {
                **FILLED.recipients,
                "logto": FILLED.recipient("logto").model_copy(update={"gdpr_safeguard": "SCCs"}),
            }
        }
    )
    assert version != policy_version(DEFAULT_INVENTORY, Settings(), safeguard)
    monkeypatch.setattr(policy, "template_sources", lambda: "changed")
    assert version != policy_version(DEFAULT_INVENTORY, Settings(), FILLED)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            '[operator]\ncontact_email = "nobody"\n',
            "operator.contact_email: 'nobody' is not an e-mail address",
        ),
        ('[operator]\nphone = "1"\n', "operator.phone: Extra inputs are not permitted"),
        (
            '[retention]\naccounting_years = "ten"\n',
            "retention.accounting_years: Input should be a valid integer",
        ),
        (
            '[recipients.kling]\npolicy_url = "http://x.example"\n',
            "recipients.kling.policy_url: 'http://x.example' is not an https:// URL",
        ),
        (
            '[recipients.fal]\nlegal_name = "Fal"\n',
            "recipients.fal.transfer_mechanism: missing for an overseas recipient",
        ),
        (
            '[recipients.acme]\nlegal_name = "Acme"\n',
            "recipients.acme: not a recipient in the inventory",
        ),
        ("[dpo]\nappointed = false\n", "dpo: appointed = false needs a reason"),
        ("[operator\n", "not valid TOML"),
    ],
)
def test_a_bad_facts_file_is_one_line_naming_file_key_and_problem(tmp_path, toml, expected) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "facts.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(InvalidInput) as raised:
        load_facts(path, DEFAULT_INVENTORY)
    assert str(raised.value).startswith(f"{path}: ") and expected in str(raised.value)
    assert "\n" not in str(raised.value)
    with pytest.raises(InvalidInput, match="cannot read"):
        load_facts(tmp_path / "absent.toml", DEFAULT_INVENTORY)


def test_the_example_facts_file_documents_every_key() -> None:
    example = EXAMPLE.read_text(encoding="utf-8")
    data = tomllib.loads(example)
    assert set(data) == {"operator", "dpo", "eu_representative", "retention", "app", "recipients"}
    assert set(data["recipients"]) == {t.key for t in DEFAULT_INVENTORY.third_parties}
    assert example.count("#") > 20


def test_xcprivacy_needs_the_required_reason_apis_from_the_operator_facts() -> None:
    with pytest.raises(ConfigError, match="NSPrivacyAccessedAPITypes") as raised:
        xcprivacy(DEFAULT_INVENTORY, EMPTY, "/etc/liveai/facts.toml")
    assert "/etc/liveai/facts.toml" in str(raised.value)
    plist = plistlib.loads(xcprivacy(DEFAULT_INVENTORY, FILLED).encode())
    assert plist["NSPrivacyAccessedAPITypes"] == [
        {
            "NSPrivacyAccessedAPIType": "NSPrivacyAccessedAPICategoryUserDefaults",
            "NSPrivacyAccessedAPITypeReasons": ["CA92.1"],
        }
    ]
    keys = {d["NSPrivacyCollectedDataType"] for d in plist["NSPrivacyCollectedDataTypes"]}
    assert {"NSPrivacyCollectedDataTypeUserID", "NSPrivacyCollectedDataTypeCustomerSupport"} <= keys
    assert plist["NSPrivacyTracking"] is False


def test_app_privacy_label_declares_support_and_explains_photos() -> None:
    label = app_privacy(DEFAULT_INVENTORY)
    types = {d["data_type"]: d for d in label["data_types"]}
    assert label["tracking"] is False
    assert {
        "User ID",
        "Photos or Videos",
        "Purchase History",
        "Device ID",
        "Email Address",
        "Customer Support",
    } <= set(types)
    photos = types["Photos or Videos"]
    assert photos["linked"] is True and photos["purposes"] == ["App Functionality"]
    assert sorted(photos["categories"]) == ["photos", "result_videos"]
    assert any("not Apple's Sensitive Info" in note and "PIPL" in note for note in photos["notes"])
    assert "fal (outside mainland China)" in photos["recipients"]
    assert label["client_sdks"] is None
    assert app_privacy(DEFAULT_INVENTORY, facts=FILLED)["client_sdks"] == []


def test_ropa_covers_article_30_completely_in_both_languages() -> None:
    record = ropa(
        DEFAULT_INVENTORY, Settings(upload_retention_days=21), FILLED, record_date=date(2026, 12, 5)
    )
    assert record["controller"]["dpo"]["en"] == "Example Officer, dpo@example.com"
    assert record["record_date"] == "2026-12-05" and len(record["version"]) == 12
    subjects = {s["en"] for s in record["data_subjects"]}
    assert "people shown in uploaded photos (who may not be users)" in subjects
    assert any(s.startswith("people who send us requests") for s in subjects)
    recipients = {t["key"]: t for t in record["recipients"]}
    assert recipients["tencent_cloud"]["hosts"] and recipients["alibaba"]["moderates"]
    assert recipients["app_store"]["role"]["en"] == "independent handler"
    transfers = {t["recipient"]: t for t in record["transfers"]}
    assert transfers["fal"]["pipl"]["en"] == "PIPL standard contract"
    assert transfers["kling"]["pipl"]["en"].startswith("no transfer")
    assert transfers["kling"]["gdpr"]["en"] == "Example: counsel to confirm"
    photos = next(a for a in record["activities"] if a["category"] == "photos")
    assert photos["retention"]["en"] == "up to 21 days"
    for activity in record["activities"]:
        assert re.search(r"\d", activity["retention"]["en"]), activity["category"]
    tables = {t["table"]: t for t in record["tables"]}
    assert {"audit_events", "consents", "privacy_requests", "data_transfers"} <= set(tables)
    assert tables["audit_events"]["erasure"] == "retain" and tables["audit_events"]["reason"]["zh"]
    security = " ".join(s["en"] for s in record["security"])
    assert "Fernet" in security and "hash-chained" in security
    markdown = ropa_markdown(DEFAULT_INVENTORY, Settings(), FILLED)
    assert "| audit_events | - | retain |" in markdown
    for heading in (
        "## (a) 控制者",
        "## (a) Controller",
        "## (e) Transfers to third countries",
        "## (f) Time limits for erasure",
        "## (g) Security measures",
        "## (g) 安全措施",
    ):
        assert heading in markdown
    empty = ropa_markdown(DEFAULT_INVENTORY, Settings())
    assert "to be confirmed: eu_representative" in empty and "to be confirmed: dpo" in empty


def test_the_pipl_lists_in_markdown_html_and_csv() -> None:
    md = render_lists(DEFAULT_INVENTORY, Settings(), FILLED)
    assert "# 个人信息收集清单" in md and "# 第三方共享清单" in md
    html = render_lists(DEFAULT_INVENTORY, Settings(), FILLED, fmt="html")
    assert html.startswith("<!DOCTYPE html>") and "<th>第三方 / Recipient</th>" in html
    rows = list(
        csv.DictReader(
            io.StringIO(
                render_lists(DEFAULT_INVENTORY, Settings(), FILLED, fmt="csv", which="sharing")
            )
        )
    )
    assert len(rows) == len(DEFAULT_INVENTORY.third_parties)
    fal = next(r for r in rows if r["第三方 / Recipient"] == "Fal.ai / Fal.ai")
    assert (
        fal["名称 / Legal name"] == "Example fal entity" and "上传的图片" in fal["共享信息 / Data"]
    )
    collected = list(
        csv.DictReader(
            io.StringIO(render_lists(DEFAULT_INVENTORY, Settings(), fmt="csv", which="collection"))
        )
    )
    assert len(collected) == len(DEFAULT_INVENTORY.categories)
    with pytest.raises(InvalidInput, match="one list"):
        render_lists(DEFAULT_INVENTORY, Settings(), fmt="csv")


def test_rendering_is_deterministic_and_versioned_by_content() -> None:
    first = render_policy(DEFAULT_INVENTORY, Settings(), fmt="html")
    assert first == render_policy(DEFAULT_INVENTORY, Settings(), fmt="html")
    md = render_policy(DEFAULT_INVENTORY, Settings(), lang="zh", fmt="md")
    assert md.version == first.version == policy_version(DEFAULT_INVENTORY, Settings())
    assert f"版本:{md.version}" in md.text and "Version:" not in md.text
    assert policy_version(DEFAULT_INVENTORY, Settings(log_retention_days=14)) != first.version


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_single_language_markdown(lang: str) -> None:
    text = render_policy(DEFAULT_INVENTORY, Settings(), lang=lang, fmt="md").text
    assert list(split_languages(text)) == [lang]
    assert text.startswith("# 隐私政策" if lang == "zh" else "# Privacy Policy")
    assert "\n## 3. " in text and "\n### 1.4 " in text


def test_unknown_language_or_format_is_refused() -> None:
    with pytest.raises(InvalidInput, match="language"):
        render_policy(DEFAULT_INVENTORY, Settings(), lang="fr")
    with pytest.raises(InvalidInput, match="format"):
        render_policy(DEFAULT_INVENTORY, Settings(), fmt="pdf")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.langs: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.hrefs.append(str(found["href"]))
        if tag == "section" and found.get("lang"):
            self.langs.append(str(found["lang"]))
        self.scripts += tag == "script"


def test_html_page_is_self_contained_anchored_and_escaped() -> None:
    names = dataclasses.replace(DEFAULT_INVENTORY.operator, name="<script>alert(1)</script> & Co")
    html = render_policy(
        dataclasses.replace(DEFAULT_INVENTORY, operator=names), Settings(), fmt="html"
    ).text
    page = _Page()
    page.feed(html)
    assert page.scripts == 0 and "&lt;script&gt;" in html
    assert page.langs == ["zh-Hans", "en"]
    expected = {f"{lang}-{n}" for lang in ("zh", "en") for n in range(1, 10)}
    assert expected | {"zh", "en", "zh-1-1", "en-1-4"} <= page.ids
    assert all(h[1:] in page.ids for h in page.hrefs if h.startswith("#"))
    assert '<a href="https://fal.ai/legal/privacy-policy">' in html
    assert "prefers-color-scheme: dark" in html and 'name="viewport"' in html
    assert "http" not in re.sub(r'href="[^"]+"|>https?://[^<]+<|DTDs', "", html.split("<body>")[0])


def test_templates_ship_in_the_package() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["liveai"]
    package = Path(__file__).parents[2] / "liveai"
    templates = sorted((package / "templates" / "policy").glob("*.j2"))
    assert len(templates) >= 8
    shipped = {p for pattern in globs for p in package.glob(pattern)}
    assert set(templates) <= shipped


def test_the_provider_registry_places_providers_where_the_policy_says() -> None:
    settings = Settings()
    for party in DEFAULT_INVENTORY.third_parties:
        if party.provider in settings.providers_in_order:
            assert named(party.provider).region(settings) == party.region, party.key


def test_the_inventory_discloses_exactly_the_vendors() -> None:
    assert DEFAULT_INVENTORY.disclosed_providers == {spec.name for spec in VENDORS}


KEPT_WITHOUT_REASON = dataclasses.replace(
    DEFAULT_INVENTORY,
    tables=tuple(
        dataclasses.replace(t, erasure=Erasure("retain")) if t.table == "consents" else t
        for t in DEFAULT_INVENTORY.tables
    ),
)
UNKNOWN_TABLE_CATEGORY = dataclasses.replace(
    DEFAULT_INVENTORY,
    tables=tuple(
        dataclasses.replace(t, categories=("selfies",)) if t.table == "uploads" else t
        for t in DEFAULT_INVENTORY.tables
    ),
)
KEPT_AS_DELETED = dataclasses.replace(
    DEFAULT_INVENTORY,
    tables=tuple(
        dataclasses.replace(t, categories=("photos", "prompts"))
        if t.table == "data_transfers"
        else t
        for t in DEFAULT_INVENTORY.tables
    ),
)
UNKNOWN_PARTY_CATEGORY = dataclasses.replace(
    DEFAULT_INVENTORY,
    third_parties=tuple(
        dataclasses.replace(t, categories=(*t.categories, "selfies")) if t.key == "kling" else t
        for t in DEFAULT_INVENTORY.third_parties
    ),
)


@pytest.mark.parametrize(
    ("inventory", "code", "location"),
    [
        (
            _category("photos", legal_basis=None),
            "missing-legal-basis",
            "categories.photos.legal_basis",
        ),
        (
            _category("photos", recipients=("kling", "acme")),
            "unknown-recipient",
            "categories.photos.recipients",
        ),
        (UNKNOWN_PARTY_CATEGORY, "unknown-category", "third_parties.kling.categories"),
        (UNKNOWN_TABLE_CATEGORY, "unknown-category", "tables.uploads"),
        (
            _category("iap_receipts", erasure=Erasure("pseudonymise")),
            "missing-erasure-reason",
            "categories.iap_receipts.erasure",
        ),
        (KEPT_WITHOUT_REASON, "missing-erasure-reason", "tables.consents.erasure"),
        (KEPT_AS_DELETED, "kept-table-undisclosed", "tables.data_transfers.erasure"),
    ],
)
def test_an_inventory_that_contradicts_itself_is_an_error(
    inventory: Inventory, code: str, location: str
) -> None:
    assert (code, location) not in codes(lint_policy(DEFAULT_INVENTORY, Settings(), FILLED))
    found = [i for i in lint_policy(inventory, Settings(), FILLED) if i.code == code]
    assert location in {i.location for i in found}, found
    assert all(i.severity == "error" for i in found)
