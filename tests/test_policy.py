"""The inventory renders the current policy faithfully, and lint finds every gap and drift."""

from __future__ import annotations

import dataclasses
import plistlib
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, Uuid

from liveai.errors import InvalidInput
from liveai.models import Base
from liveai.privacy import labels
from liveai.privacy.inventory import (
    DEFAULT_INVENTORY,
    SLA_WORKING_DAYS,
    Inventory,
    Pipl39,
    Text,
    allowed_providers,
    unclassified_user_tables,
    user_linked_tables,
)
from liveai.privacy.lint import lint_inventory, lint_policy, lint_text, sections, split_languages
from liveai.privacy.policy import policy_version, render_policy
from liveai.settings import Settings

SEED = (Path(__file__).parent / "policy_seed.txt").read_text(encoding="utf-8")
POLICY_CLAUSE = re.compile(r"\s*(?:Privacy policy|Policy):\s*(\S+)$")


def filled(inventory: Inventory = DEFAULT_INVENTORY) -> Inventory:
    """The default inventory with its open gaps closed, as compliance staff would."""
    parties = tuple(
        dataclasses.replace(
            t,
            policy_url=t.policy_url or f"https://{t.key}.example/privacy",
            pipl39=t.pipl39
            or (
                Pipl39(
                    "Example Inc.", "privacy@fal.example", Text("API", "API"), Text("邮件", "email")
                )
                if t.region == "overseas"
                else None
            ),
        )
        for t in inventory.third_parties
    )
    operator = dataclasses.replace(inventory.operator, contact_email="privacy@live.example")
    return dataclasses.replace(inventory, third_parties=parties, operator=operator)


def by_section(text: str) -> dict[str, dict[str, list[str]]]:
    return {lang: sections(lines) for lang, lines in split_languages(text).items()}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_fact_of_the_current_text_is_rendered_section_by_section(lang: str) -> None:
    rendered = by_section(render_policy(DEFAULT_INVENTORY, Settings(), fmt="txt").text)[lang]
    seed = by_section(SEED)[lang]
    assert sorted(rendered) == [str(n) for n in range(1, 10)]
    for number, lines in seed.items():
        body = [line for line in rendered[number] if line]
        for line in filter(None, lines):
            clause = POLICY_CLAUSE.search(line)
            if clause is None:
                # A line the inventory extended (a policy address filled in) still counts.
                kept = line in body or any(b.startswith(f"{line} Policy: ") for b in body)
                assert kept, f"{lang} §{number} lost: {line}"
                continue
            core = line[: clause.start()]
            match = [b for b in body if b.startswith(core)]
            assert match, f"{lang} §{number} lost: {core}"
            if clause.group(1).startswith("http"):
                assert clause.group(1) in match[0]


def test_the_preamble_and_dates_are_rendered_in_both_languages() -> None:
    text = render_policy(DEFAULT_INVENTORY, Settings(), fmt="txt").text
    for lang, lines in split_languages(SEED).items():
        preamble = lines[: next(i for i, line in enumerate(lines) if line.startswith("1. "))]
        for line in preamble:
            assert line in text, f"{lang} preamble lost: {line}"
    assert "更新日期:2026 年 6 月 20 日" in text
    assert "Last Updated: June 20, 2026" in text


def test_gaps_of_the_current_text_are_filled_by_the_inventory() -> None:
    rendered = by_section(render_policy(DEFAULT_INVENTORY, Settings(), fmt="txt").text)
    zh_parties = [line for line in rendered["zh"]["3"] if line.startswith("- ")]
    en_parties = [line for line in rendered["en"]["3"] if line.startswith("- ")]
    assert len(zh_parties) == len(en_parties) >= 8
    assert any(line.startswith("- 可灵 AI(快手)") for line in zh_parties)
    assert any("邮箱:" in line for line in rendered["zh"]["9"])
    assert any("Email:" in line for line in rendered["en"]["9"])
    closed = render_policy(filled(), Settings(), fmt="txt").text
    assert "privacy@live.example" in closed and "https://kling.example/privacy" in closed
    assert "待补充" not in closed and "pending" not in closed


def test_retention_comes_from_settings_and_a_disagreement_is_reported() -> None:
    assert not [i for i in lint_inventory(DEFAULT_INVENTORY, Settings()) if "retention" in i.code]
    settings = Settings(upload_retention_days=45, log_retention_days=7)
    text = render_policy(DEFAULT_INVENTORY, settings, fmt="txt").text
    assert "最长保留 45 天" in text and "at most 45 days" in text
    assert "nginx 访问日志保留 7 天" in text and "nginx logs — 7 days" in text
    issues = lint_inventory(DEFAULT_INVENTORY, settings)
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
    assert not lint_inventory(filled(), Settings(provider_order="local,kling,ark,wan,fal"))
    issues = lint_inventory(filled(), Settings(provider_order="kling,acme"))
    assert [(i.code, i.location) for i in issues] == [
        ("undisclosed-provider", "settings.provider_order[acme]")
    ]
    assert allowed_providers(["kling", "ark", "wan", "fal", "acme"], False) == [
        "kling",
        "ark",
        "wan",
    ]
    assert allowed_providers(["local", "fal", "acme"], True) == ["local", "fal"]


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


def test_lint_reports_the_open_gaps_of_the_default_inventory() -> None:
    issues = lint_inventory(DEFAULT_INVENTORY, Settings(), Base.metadata)
    assert sorted((i.code, i.location) for i in issues) == [
        ("missing-contact", "operator.contact_email"),
        ("missing-policy-url", "third_parties.alibaba.policy_url"),
        ("missing-policy-url", "third_parties.kling.policy_url"),
        ("missing-policy-url", "third_parties.volcengine.policy_url"),
        ("overseas-without-pipl39", "third_parties.fal.pipl39"),
    ]
    rendered = render_policy(filled(), Settings(), fmt="txt").text
    assert lint_policy(filled(), Settings(), rendered, Base.metadata) == []


def test_lint_finds_a_category_without_legal_basis_and_unknown_references() -> None:
    photos = dataclasses.replace(
        DEFAULT_INVENTORY.category("photos"), legal_basis=None, recipients=("nobody",)
    )
    categories = tuple(photos if c.key == "photos" else c for c in filled().categories)
    issues = lint_inventory(dataclasses.replace(filled(), categories=categories), Settings())
    assert sorted((i.code, i.location) for i in issues) == [
        ("missing-legal-basis", "categories.photos.legal_basis"),
        ("unknown-recipient", "categories.photos.recipients"),
    ]


def test_lint_on_the_current_text_reports_its_gaps_with_line_numbers() -> None:
    issues = lint_text(SEED, Settings(), source="seed")
    assert sorted((i.code, i.location) for i in issues) == [
        ("missing-contact", "seed:en §9"),
        ("missing-contact", "seed:zh §9"),
        ("missing-policy-url", "seed:92"),
        ("missing-policy-url", "seed:93"),
        ("missing-policy-url", "seed:95"),
        ("section-mismatch", "seed:§3"),
    ]
    assert "zh lists 0 items, en lists 8" in next(
        i.message for i in issues if i.location == "seed:§3"
    )


def test_lint_text_catches_a_retention_the_settings_do_not_keep() -> None:
    drifted = SEED.replace("最长保留 30 天", "最长保留 60 天")
    issues = [
        i for i in lint_text(drifted, Settings(), source="p") if i.code == "retention-mismatch"
    ]
    assert [i.location for i in issues] == ["p:13", "p:36"]  # §1.2 and §4
    assert "60 days" in issues[0].message
    assert lint_text(SEED, Settings(upload_retention_days=60), source="p")[-1].code == (
        "retention-mismatch"
    )


def test_lint_text_catches_a_missing_section() -> None:
    text = SEED.replace("7. About AI-Generated Content", "About AI-Generated Content")
    issues = lint_text(text, Settings(), source="p")
    assert ("section-mismatch", "p:en §7") in {(i.code, i.location) for i in issues}
    assert lint_text("nothing here", Settings())[0].code == "missing-language"


def test_rendering_is_deterministic_and_versioned_by_content() -> None:
    first = render_policy(DEFAULT_INVENTORY, Settings(), fmt="html")
    assert first == render_policy(DEFAULT_INVENTORY, Settings(), fmt="html")
    md = render_policy(DEFAULT_INVENTORY, Settings(), lang="zh", fmt="md")
    assert md.version == first.version == policy_version(DEFAULT_INVENTORY, Settings())
    assert f"版本:{md.version}" in md.text and "Version:" not in md.text
    changed = policy_version(DEFAULT_INVENTORY, Settings(log_retention_days=14))
    assert changed != first.version


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


def test_app_privacy_label_and_xcprivacy() -> None:
    label = labels.app_privacy(DEFAULT_INVENTORY)
    types = {d["data_type"]: d for d in label["data_types"]}
    assert label["tracking"] is False
    assert {"User ID", "Photos or Videos", "Purchase History", "Device ID", "Email Address"} <= set(
        types
    )
    assert types["Photos or Videos"]["linked"] is True
    assert types["Photos or Videos"]["purposes"] == ["App Functionality"]
    assert sorted(types["Photos or Videos"]["categories"]) == ["photos", "result_videos"]
    plist = plistlib.loads(labels.xcprivacy(DEFAULT_INVENTORY).encode())
    assert plist["NSPrivacyTracking"] is False
    keys = {d["NSPrivacyCollectedDataType"] for d in plist["NSPrivacyCollectedDataTypes"]}
    assert "NSPrivacyCollectedDataTypeUserID" in keys and len(keys) == len(types)


def test_ropa_covers_article_30_and_overseas_transfers() -> None:
    record = labels.ropa(DEFAULT_INVENTORY, Settings(upload_retention_days=21))
    assert record["controller"]["name"] == "Talent Limited AI Studio"
    photos = next(a for a in record["activities"] if a["category"] == "photos")
    assert photos["legal_basis"] == {"pipl": "13(1)(2)", "gdpr": "6(1)(b)"}
    assert photos["retention"]["days"] == 21
    assert {
        "recipient": "fal",
        "region": "overseas",
        "safeguard": photos["transfers"][0]["safeguard"],
    } in photos["transfers"]
    assert "missing" in photos["transfers"][0]["safeguard"]
    ledger = next(a for a in record["activities"] if a["category"] == "credits_ledger")
    assert ledger["erasure"]["action"] == "pseudonymise" and ledger["erasure"]["reason"]
    markdown = labels.ropa_markdown(DEFAULT_INVENTORY, Settings())
    for heading in ("(a) Controller", "(d) Recipients", "(e) Transfers", "(f) Time limits"):
        assert heading in markdown
    assert "(g) Security measures" in markdown and "Contact: MISSING" in markdown


def test_templates_ship_in_the_package() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["liveai"]
    package = Path(__file__).parents[1] / "liveai"
    templates = sorted((package / "templates" / "policy").glob("*.j2"))
    assert len(templates) >= 8
    shipped = {p for pattern in globs for p in package.glob(pattern)}
    assert set(templates) <= shipped


def test_the_provider_registry_places_providers_where_the_policy_says() -> None:
    remote = pytest.importorskip("liveai.providers.remote")
    region_for = getattr(remote, "region_for", None)
    if region_for is None:
        pytest.skip("the provider registry exposes no region_for")
    settings = Settings()
    for party in DEFAULT_INVENTORY.third_parties:
        if party.provider in settings.providers_in_order:
            assert region_for(party.provider, settings) == party.region, party.key
