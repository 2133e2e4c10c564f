"""Lint the policy and the inventory behind it: every gap and every drift, with its place.

`lint_inventory` checks the facts against themselves, the settings and the database
models; `lint_text` checks a policy text (a published one, or the seed) section by section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import MetaData

from liveai.privacy.inventory import (
    LOCAL_PROVIDERS,
    Erasure,
    Inventory,
    unclassified_user_tables,
)
from liveai.settings import Settings


@dataclass(frozen=True)
class LintIssue:
    code: str
    location: str
    message: str


_SECTION = re.compile(r"^(?:#+\s*)?(\d)\.\s+\S")
_BULLET = re.compile(r"^\s*[-*]\s+")
_DAYS = re.compile(r"(\d+)\s*天|(\d+)\s+days\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PLACEHOLDER = re.compile(
    r"(?:Policy|隐私政策|政策)\s*[::]\s*(?:link|链接|\(address pending\)|[((]地址待补充[))])\s*$"
)


def lint_inventory(
    inventory: Inventory, settings: Settings, metadata: MetaData | None = None
) -> list[LintIssue]:
    issues = [
        *_categories(inventory),
        *_third_parties(inventory),
        *_retention(inventory, settings),
        *_providers(inventory, settings),
        *_tables(inventory),
    ]
    if not inventory.operator.contact_email:
        issues.append(
            LintIssue("missing-contact", "operator.contact_email", "§9 gives no contact address")
        )
    if metadata is not None:
        issues.extend(
            LintIssue(
                "unclassified-table",
                f"tables.{name}",
                f"table {name} holds user data but the inventory does not classify it",
            )
            for name in unclassified_user_tables(metadata, inventory)
        )
    return issues


def _erasure(location: str, erasure: Erasure) -> list[LintIssue]:
    if erasure.action != "delete" and erasure.reason is None:
        return [
            LintIssue(
                "missing-erasure-reason",
                f"{location}.erasure",
                f"{erasure.action} instead of delete needs a legal reason",
            )
        ]
    return []


def _categories(inventory: Inventory) -> list[LintIssue]:
    issues: list[LintIssue] = []
    parties = {t.key for t in inventory.third_parties}
    for category in inventory.categories:
        where = f"categories.{category.key}"
        if category.legal_basis is None:
            issues.append(
                LintIssue("missing-legal-basis", f"{where}.legal_basis", "no legal basis")
            )
        issues.extend(
            LintIssue("unknown-recipient", f"{where}.recipients", f"{key} is not a third party")
            for key in category.recipients
            if key not in parties
        )
        issues.extend(_erasure(where, category.erasure))
    return issues


def _third_parties(inventory: Inventory) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for party in inventory.third_parties:
        where = f"third_parties.{party.key}"
        if not party.self_operated and not party.policy_url:
            issues.append(
                LintIssue(
                    "missing-policy-url",
                    f"{where}.policy_url",
                    f"{party.name.en} has no privacy policy address",
                )
            )
        if party.region == "overseas" and party.pipl39 is None:
            issues.append(
                LintIssue(
                    "overseas-without-pipl39",
                    f"{where}.pipl39",
                    f"{party.name.en} is overseas but its name, contact, method and how to "
                    "exercise rights are not disclosed (PIPL art. 39)",
                )
            )
    return issues


def _retention(inventory: Inventory, settings: Settings) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for category in inventory.categories:
        retention = category.retention
        if retention.setting is None:
            continue
        actual = getattr(settings, retention.setting, None)
        if actual != retention.days:
            issues.append(
                LintIssue(
                    "retention-mismatch",
                    f"categories.{category.key}.retention",
                    f"the inventory says {retention.days} days but settings "
                    f"{retention.setting}={actual}",
                )
            )
    return issues


def _providers(inventory: Inventory, settings: Settings) -> list[LintIssue]:
    by_provider = {t.provider: t for t in inventory.third_parties if t.provider}
    issues: list[LintIssue] = []
    for name in settings.providers_in_order:
        party = by_provider.get(name)
        if name in LOCAL_PROVIDERS or party is not None:
            continue
        issues.append(
            LintIssue(
                "undisclosed-provider",
                f"settings.provider_order[{name}]",
                f"provider {name} is enabled but no third party in the policy discloses it",
            )
        )
    return issues


def _tables(inventory: Inventory) -> list[LintIssue]:
    keys = {c.key for c in inventory.categories}
    issues: list[LintIssue] = []
    for rule in inventory.tables:
        where = f"tables.{rule.table}"
        issues.extend(
            LintIssue("unknown-category", where, f"{key} is not a data category")
            for key in rule.categories
            if key not in keys
        )
        issues.extend(_erasure(where, rule.erasure))
    return issues


def split_languages(text: str) -> dict[str, list[str]]:
    """The Chinese and English halves of a policy text, by their title lines."""
    halves: dict[str, list[str]] = {}
    current: str | None = None
    for line in text.splitlines():
        title = line.lstrip("# ").strip()
        if title == "隐私政策":
            current = "zh"
        elif title == "Privacy Policy":
            current = "en"
        if current:
            halves.setdefault(current, []).append(line)
    return halves


def sections(lines: list[str]) -> dict[str, list[str]]:
    """Top-level sections (1 to 9) by number, each with its lines after the heading."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in lines:
        match = _SECTION.match(line)
        if match:
            current = match.group(1)
            found[current] = []
        elif current:
            found[current].append(line)
    return found


TEXT_ONLY_CODES = frozenset({"section-mismatch", "retention-mismatch", "missing-language"})


def lint_policy(
    inventory: Inventory, settings: Settings, rendered: str, metadata: MetaData | None = None
) -> list[LintIssue]:
    """The inventory's issues, plus what only shows in its rendered text (drifting sections,
    retention the text states differently from settings)."""
    from_text = [
        issue
        for issue in lint_text(rendered, settings, source="rendered")
        if issue.code in TEXT_ONLY_CODES
    ]
    return [*lint_inventory(inventory, settings, metadata), *from_text]


def lint_text(text: str, settings: Settings, *, source: str = "text") -> list[LintIssue]:
    halves = split_languages(text)
    issues = [
        LintIssue("missing-language", source, f"no {lang} part (title line not found)")
        for lang in ("zh", "en")
        if lang not in halves
    ]
    parsed = {lang: sections(lines) for lang, lines in halves.items()}
    if len(parsed) == 2:
        issues.extend(_compare_sections(parsed["zh"], parsed["en"], source))
    for lang, by_number in parsed.items():
        contact = by_number.get("9", [])
        if not any(_EMAIL.search(line) for line in contact):
            issues.append(
                LintIssue("missing-contact", f"{source}:{lang} §9", "no contact email address")
            )
    issues.extend(_line_checks(text, settings, source))
    return issues


def _compare_sections(
    zh: dict[str, list[str]], en: dict[str, list[str]], source: str
) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for number in sorted(set(zh) | set(en)):
        if number not in zh or number not in en:
            missing = "zh" if number not in zh else "en"
            issues.append(
                LintIssue("section-mismatch", f"{source}:{missing} §{number}", "section missing")
            )
            continue
        zh_items = sum(1 for line in zh[number] if _BULLET.match(line))
        en_items = sum(1 for line in en[number] if _BULLET.match(line))
        if zh_items != en_items:
            issues.append(
                LintIssue(
                    "section-mismatch",
                    f"{source}:§{number}",
                    f"zh lists {zh_items} items, en lists {en_items}",
                )
            )
    return issues


_CLAUSE = re.compile(r"[;;。]|\.\s")
_LOG_WORDS = ("nginx", "日志", "log")
_UPLOAD_WORDS = ("图片", "素材", "image")


def _expected_days(clause: str, settings: Settings) -> set[int]:
    """Which setting a clause about retention speaks of, by its subject."""
    lowered = clause.lower()
    if any(word in lowered for word in _LOG_WORDS):
        return {settings.log_retention_days}
    if any(word in lowered for word in _UPLOAD_WORDS):
        return {settings.upload_retention_days}
    return {settings.upload_retention_days, settings.log_retention_days}


def _line_checks(text: str, settings: Settings, source: str) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if _PLACEHOLDER.search(line):
            issues.append(
                LintIssue("missing-policy-url", f"{source}:{number}", "policy link has no address")
            )
        for clause in _CLAUSE.split(line):
            for match in _DAYS.finditer(clause):
                days = int(match.group(1) or match.group(2))
                if days not in _expected_days(clause, settings):
                    issues.append(
                        LintIssue(
                            "retention-mismatch",
                            f"{source}:{number}",
                            f"the text says {days} days; settings keep uploads "
                            f"{settings.upload_retention_days} and logs "
                            f"{settings.log_retention_days} days",
                        )
                    )
    return issues
