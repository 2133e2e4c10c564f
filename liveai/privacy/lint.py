"""Lint the policy and the inventory behind it: every gap and every drift, with its place.

Each finding has a stable rule id (`code`), a severity, where it is (an inventory or facts
key, or a line of the text), the rendered line it is about, and a hint. `lint_policy`
checks the inventory, the operator facts and the settings, and then the policy rendered
from them; `lint_text` checks a policy text (a published one, or the seed) line by line.
Publishing refuses while any finding is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import MetaData

from liveai.privacy.document import Block, Fact, Source, all_facts, fill, scope_name
from liveai.privacy.facts import EMPTY, MARKER_PATTERN, OperatorFacts
from liveai.privacy.inventory import unclassified_user_tables
from liveai.privacy.inventory_types import Erasure, Inventory
from liveai.privacy.policy import render_policy, source
from liveai.providers.vendors import disclosed
from liveai.settings import Settings

Severity = Literal["error", "warning"]
FACTS_HINT = "add it to the operator facts file (policy_facts_file)"

RULES: dict[str, tuple[Severity, str]] = {
    "missing-contact": ("error", "set operator.contact_email in the operator facts file"),
    "missing-policy-url": ("error", "set recipients.KEY.policy_url in the operator facts file"),
    "overseas-without-pipl39": (
        "error",
        "give legal_name, contact and transfer_mechanism for the recipient (PIPL arts. 38-39)",
    ),
    "pipl23-recipient": (
        "error",
        "give legal_name and contact in the facts file; method and categories in the inventory",
    ),
    "pipl29-sensitive": ("error", "give the category a sensitive_notice and a separate consent"),
    "pipl31-children": ("error", "keep the minimum age at or above 14, or add children's rules"),
    "retention-after-deletion": (
        "error",
        "say in §5 which records deletion keeps, why and for how long (PIPL art. 47(2))",
    ),
    "open-ended-retention": ("error", "state a duration, or an event plus a duration"),
    "appstore-in-app-deletion": (
        "error",
        "offer account deletion in the app and set app.in_app_account_deletion = true",
    ),
    "moderation-purpose": ("error", "disclose moderation as a purpose of the moderating party"),
    "hosting-processor": ("error", "list the hosting provider as a recipient (hosts=True)"),
    "placeholder": ("error", "replace the placeholder with the real value"),
    "fact-missing": ("error", FACTS_HINT),
    "zh-en-parity": ("error", "make both languages state the same values"),
    "consent-contradiction": (
        "error",
        "drop the consent-by-use sentence where a separate consent is required",
    ),
    "consent-undisclosed": ("error", "disclose every separate consent the system requires"),
    "recipient-categories": ("error", "make the category and the recipient list each other"),
    "retention-mismatch": ("error", "make the inventory, the text and the settings agree"),
    "undisclosed-provider": ("error", "disclose the provider in the inventory or disable it"),
    "unclassified-table": ("error", "add a TableRule for the table to the inventory"),
    "kept-table-undisclosed": (
        "error",
        "give the table a category that says what is kept after deletion, and for how long",
    ),
    "unknown-recipient": ("error", "use a recipient key of the inventory"),
    "unknown-category": ("error", "use a category key of the inventory"),
    "missing-legal-basis": ("error", "give the category a legal basis"),
    "missing-erasure-reason": ("error", "give the legal reason for not deleting"),
    "section-mismatch": ("error", "make both languages carry the same sections and items"),
    "missing-language": ("error", "the text needs a 隐私政策 and a Privacy Policy part"),
    "gdpr-transfer-safeguard": (
        "warning",
        "set recipients.KEY.gdpr_safeguard (GDPR arts. 44-49) for the ROPA",
    ),
}


@dataclass(frozen=True)
class LintIssue:
    code: str
    location: str
    message: str
    severity: Severity = "error"
    hint: str = ""
    line: int | None = None
    """The line of the rendered (or linted) text the finding is about, when there is one."""
    excerpt: str | None = None
    facts: tuple[str, ...] = ()
    """The operator-fact keys this finding is about (their markers need no second finding)."""
    needle: str | None = None


def issue(
    code: str,
    location: str,
    message: str,
    *,
    facts: tuple[str, ...] = (),
    needle: str | None = None,
    line: int | None = None,
    excerpt: str | None = None,
) -> LintIssue:
    severity, hint = RULES[code]
    if "KEY" in hint and facts:
        hint = hint.replace("KEY", facts[0].split(".")[1])
    return LintIssue(code, location, message, severity, hint, line, excerpt, facts, needle)


def errors(issues: Iterable[LintIssue]) -> list[LintIssue]:
    return [i for i in issues if i.severity == "error"]


_SECTION = re.compile(r"^(?:#+\s*)?(\d)\.\s+\S")
_BULLET = re.compile(r"^\s*[-*]\s+")
_DAYS = re.compile(r"(\d+)\s*天|(\d+)\s+days\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_POLICY_LINK = re.compile(
    r"(?:Policy|隐私政策|政策)\s*[::]\s*(?:link|链接|\(address pending\)|[((]地址待补充[))])\s*$"
)
_PLACEHOLDER = re.compile(
    r"待补充|待定|待填写|\(address pending\)|\bTBD\b|\bTODO\b|\bXXX\b|\bpending\)|"
    r"(?:[::]\s*)(?:link|链接)\s*$",
    re.IGNORECASE,
)
_OPEN_ENDED = re.compile(r"长期保留|长期|永久|long-term|indefinite|forever", re.IGNORECASE)
_BY_USE = re.compile(r"使用本服务即表示.{0,20}接受|by using the service you .{0,40}accept")
_SEPARATE = re.compile(r"单独同意|separate consent")
_FULL_DELETION = re.compile(r"账号及关联数据删除|delete (?:all )?your account and (?:all )?data")
_EMAIL_ONLY_DELETION = re.compile(r"注销账号,请发邮件|delete your account, email us")


def lint_inventory(
    inventory: Inventory,
    settings: Settings,
    metadata: MetaData | None = None,
    facts: OperatorFacts = EMPTY,
) -> list[LintIssue]:
    """What the inventory, the operator facts and the settings show without rendering."""
    issues = [
        *_categories(inventory),
        *_recipients(inventory, facts),
        *_retention(inventory, settings),
        *_providers(inventory, settings),
        *_tables(inventory),
        *_obligations(inventory, settings, facts),
    ]
    if not facts.operator.contact_email:
        issues.append(
            issue(
                "missing-contact",
                "operator.contact_email",
                "§9 gives no contact address",
                facts=("operator.contact_email",),
                needle="operator.contact_email",
            )
        )
    if metadata is not None:
        issues.extend(
            issue(
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
            issue(
                "missing-erasure-reason",
                f"{location}.erasure",
                f"{erasure.action} instead of delete needs a legal reason",
            )
        ]
    return []


def _categories(inventory: Inventory) -> list[LintIssue]:
    issues: list[LintIssue] = []
    parties = {t.key: t for t in inventory.third_parties}
    for category in inventory.categories:
        where = f"categories.{category.key}"
        if category.legal_basis is None:
            issues.append(
                issue(
                    "missing-legal-basis",
                    f"{where}.legal_basis",
                    "no legal basis",
                    needle=category.name.zh,
                )
            )
        issues.extend(
            issue("unknown-recipient", f"{where}.recipients", f"{key} is not a third party")
            for key in category.recipients
            if key not in parties
        )
        listed = {t.key for t in inventory.recipients_of(category.key) if not t.hosts}
        if set(category.recipients) & set(parties) != listed:
            issues.append(
                issue(
                    "recipient-categories",
                    f"{where}.recipients",
                    f"the category names {sorted(category.recipients)} but the recipients "
                    f"receiving it are {sorted(listed)}",
                )
            )
        if category.sensitive and category.sensitive_notice is None:
            issues.append(
                issue(
                    "pipl29-sensitive",
                    f"{where}.sensitive_notice",
                    f"{category.name.en} is sensitive but the policy gives no notice of its "
                    "necessity and impact (PIPL art. 30)",
                    needle=category.name.zh,
                )
            )
        issues.extend(_erasure(where, category.erasure))
    return issues


def _recipients(inventory: Inventory, facts: OperatorFacts) -> list[LintIssue]:
    issues: list[LintIssue] = []
    keys = {c.key for c in inventory.categories}
    for party in inventory.third_parties:
        where = f"third_parties.{party.key}"
        given = facts.recipient(party.key)
        fact = f"recipients.{party.key}"
        issues.extend(
            issue("unknown-category", f"{where}.categories", f"{key} is not a data category")
            for key in party.categories
            if key not in keys
        )
        if party.self_operated:
            continue
        if not (given.policy_url or party.policy_url):
            issues.append(
                issue(
                    "missing-policy-url",
                    f"{where}.policy_url",
                    f"{party.name.en} has no privacy policy address",
                    facts=(f"{fact}.policy_url",),
                    needle=f"{fact}.policy_url",
                )
            )
        lacking = [name for name in ("legal_name", "contact") if not getattr(given, name)]
        if party.method is None:
            lacking.append("method")
        if not party.categories:
            lacking.append("categories")
        if lacking:
            issues.append(
                issue(
                    "pipl23-recipient",
                    f"recipients.{party.key}",
                    f"{party.name.en}: no {', '.join(lacking)} (PIPL art. 23 names the "
                    "recipient, its contact, purpose, method and the categories it receives)",
                    facts=tuple(f"{fact}.{name}" for name in lacking),
                    needle=party.name.zh,
                )
            )
        if party.region == "overseas":
            absent = [
                name
                for name in ("legal_name", "contact", "transfer_mechanism")
                if not getattr(given, name)
            ]
            if absent:
                issues.append(
                    issue(
                        "overseas-without-pipl39",
                        f"{where}.pipl39",
                        f"{party.name.en} is overseas but its {', '.join(absent)} "
                        "are not given (PIPL arts. 38-39)",
                        facts=tuple(f"{fact}.{name}" for name in absent),
                        needle=party.name.zh,
                    )
                )
        if not given.gdpr_safeguard:
            issues.append(
                issue(
                    "gdpr-transfer-safeguard",
                    f"recipients.{party.key}.gdpr_safeguard",
                    f"{party.name.en}: no GDPR transfer safeguard for EU users' data",
                    facts=(f"{fact}.gdpr_safeguard",),
                )
            )
    if not any(t.hosts for t in inventory.third_parties):
        issues.append(
            issue(
                "hosting-processor",
                "third_parties",
                "no recipient hosts our servers, database or storage; the hosting processor "
                "is not disclosed",
            )
        )
    return issues


def _obligations(inventory: Inventory, settings: Settings, facts: OperatorFacts) -> list[LintIssue]:
    issues: list[LintIssue] = []
    if inventory.min_age < inventory.child_age or inventory.child_age != 14:
        issues.append(
            issue(
                "pipl31-children",
                "min_age",
                f"the app admits users from {inventory.min_age} (children under 14 are "
                "sensitive: PIPL art. 31 needs guardian consent and dedicated rules)",
                needle="14",
            )
        )
    if facts.app.in_app_account_deletion is not True:
        issues.append(
            issue(
                "appstore-in-app-deletion",
                "app.in_app_account_deletion",
                "account deletion is offered only by e-mail (App Store guideline 5.1.1(v) "
                "requires starting it in the app)",
                needle="注销账号",
            )
        )
    moderators = [t for t in inventory.third_parties if t.moderates]
    disclosed = any("审核" in t.purpose.zh and "moderation" in t.purpose.en for t in moderators)
    if settings.qwen_vl_model and not disclosed:
        issues.append(
            issue(
                "moderation-purpose",
                "third_parties",
                "Qwen-VL moderation sees every photo before any provider, but no recipient "
                "discloses moderation as a purpose",
            )
        )
    years = {"accounting_years": 1, "request_records_years": 1, "transfer_records_years": 1}
    vals = {**years, **_placeholder_values(settings)}
    for category in inventory.categories:
        text = category.retention.text
        if text is None:
            issues.append(
                issue(
                    "open-ended-retention",
                    f"categories.{category.key}.retention",
                    f"{category.name.en} has no stated retention",
                )
            )
            continue
        filled = fill(text, {**vals, "sla_working_days": inventory.sla_working_days})
        for lang in ("zh", "en"):
            said = filled.get(lang)
            if _OPEN_ENDED.search(said) or not re.search(r"\d", said):
                issues.append(
                    issue(
                        "open-ended-retention",
                        f"categories.{category.key}.retention",
                        f"{category.name.en}: {said!r} is not a time limit",
                        needle=category.name.zh,
                    )
                )
                break
    return issues


def _placeholder_values(settings: Settings) -> dict[str, object]:
    return {
        "upload_retention_days": settings.upload_retention_days,
        "log_retention_days": settings.log_retention_days,
        "api_host": "",
    }


def _retention(inventory: Inventory, settings: Settings) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for category in inventory.categories:
        retention = category.retention
        if retention.setting is None:
            continue
        actual = getattr(settings, retention.setting, None)
        if actual != retention.days:
            issues.append(
                issue(
                    "retention-mismatch",
                    f"categories.{category.key}.retention",
                    f"the inventory says {retention.days} days but settings "
                    f"{retention.setting}={actual}",
                )
            )
    return issues


def _providers(inventory: Inventory, settings: Settings) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for name in settings.providers_in_order:
        if disclosed(name, inventory):
            continue
        issues.append(
            issue(
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
            issue("unknown-category", where, f"{key} is not a data category")
            for key in rule.categories
            if key not in keys
        )
        issues.extend(_erasure(where, rule.erasure))
        known = [inventory.category(k) for k in rule.categories if k in keys]
        # The users row stays as a tombstone with its name and e-mail cleared: it keeps
        # nothing of its categories.
        kept = rule.erasure.action != "delete" and rule.table != "users"
        if kept and known and all(c.erasure.action == "delete" for c in known):
            issues.append(
                issue(
                    "kept-table-undisclosed",
                    f"{where}.erasure",
                    f"erasure keeps {rule.table} ({rule.erasure.action}), but its categories "
                    "say they are deleted, so the policy does not disclose what is kept",
                )
            )
    return issues


def _discloses(by_id: dict[str, Fact], need: str, inventory: Inventory) -> bool:
    """The policy has the need's kind sentence, naming its scope in both languages."""
    kind, _, scope = need.partition(":")
    fact = by_id.get(f"consent.{kind}")
    if fact is None or not scope:
        return fact is not None
    try:
        name = scope_name(kind, scope, inventory)
    except StopIteration:
        return False
    return name.zh in fact.get("zh") and name.en in fact.get("en")


def _rendered(source: Source, blocks: list[Block]) -> list[LintIssue]:
    """What only the rendered facts show: parity, consents, deletion, markers."""
    facts = all_facts(blocks)
    by_id = {f.id: f for f in facts}
    issues = [*_parity(facts)]
    for need in source.consent_needs:
        if not _discloses(by_id, need, source.inventory):
            issues.append(
                issue(
                    "consent-undisclosed",
                    f"consent.{need}",
                    f"the system requires a separate {need} consent the policy does not disclose",
                )
            )
    deletion = by_id.get("rights.deletion")
    kept = [c for c in source.inventory.categories if c.erasure.action != "delete"]
    for category in kept:
        if deletion is None or category.name.zh not in deletion.get("zh"):
            issues.append(
                issue(
                    "retention-after-deletion",
                    f"categories.{category.key}.erasure",
                    f"{category.name.en} is kept after account deletion but §5 does not say so",
                    needle="注销账号",
                )
            )
    if source.settings.qwen_vl_model and "1.2.moderation" not in by_id:
        issues.append(
            issue(
                "moderation-purpose",
                "1.2.moderation",
                "moderation is configured but §1.2 does not disclose it",
            )
        )
    return issues


def _parity(facts: list[Fact]) -> list[LintIssue]:
    issues = []
    for fact in facts:
        if bool(fact.get("zh").strip()) != bool(fact.get("en").strip()):
            empty = "en" if fact.get("zh").strip() else "zh"
            issues.append(
                issue("zh-en-parity", f"fact {fact.id}", f"the {empty} text of the fact is empty")
            )
            continue
        zh, en = fact.stated("zh"), fact.stated("en")
        if zh != en:
            issues.append(
                issue(
                    "zh-en-parity",
                    f"fact {fact.id}",
                    f"zh states {zh} but en states {en}",
                    needle=fact.get("zh")[:20],
                )
            )
    return issues


def _missing_facts(text: str, covered: set[str]) -> list[LintIssue]:
    seen: set[str] = set()
    issues = []
    for key in MARKER_PATTERN.findall(text):
        if key in seen or key in covered:
            continue
        seen.add(key)
        issues.append(
            issue(
                "fact-missing",
                key,
                f"the operator fact {key} is not given; the text shows a to-be-confirmed marker",
                needle=key,
            )
        )
    return issues


def _place(issues: list[LintIssue], text: str) -> list[LintIssue]:
    """Attach the first rendered line each finding is about."""
    lines = text.splitlines()
    placed = []
    for found in issues:
        if found.line is None and found.needle:
            for number, line in enumerate(lines, start=1):
                if found.needle in line:
                    found = replace(found, line=number, excerpt=_excerpt(line, found.needle))
                    break
        placed.append(found)
    return placed


def _excerpt(line: str, needle: str, width: int = 60) -> str:
    at = max(line.find(needle), 0)
    start = max(at - width // 2, 0)
    return line[start : start + width + len(needle)].strip()


TEXT_ONLY_CODES = frozenset(
    {
        "section-mismatch",
        "retention-mismatch",
        "missing-language",
        "placeholder",
        "open-ended-retention",
        "consent-contradiction",
        "retention-after-deletion",
        "appstore-in-app-deletion",
    }
)


def lint_policy(
    inventory: Inventory,
    settings: Settings,
    facts: OperatorFacts = EMPTY,
    metadata: MetaData | None = None,
) -> list[LintIssue]:
    """The inventory's and the facts' findings, then what only the rendered policy shows."""
    rendered = render_policy(inventory, settings, facts, fmt="txt")
    structural = lint_inventory(inventory, settings, metadata, facts)
    source_ = _source(inventory, settings, facts)
    from_blocks = _rendered(source_, list(rendered.blocks))
    covered = {key for found in structural for key in found.facts}
    from_text = [
        found
        for found in lint_text(rendered.text, settings, source="rendered")
        if found.code in TEXT_ONLY_CODES
        and (found.code, found.location) not in {(i.code, i.location) for i in structural}
    ]
    issues = _dedupe([*structural, *from_blocks, *_missing_facts(rendered.text, covered)])
    return _place(issues, rendered.text) + _dedupe_text(from_text, issues)


def _source(inventory: Inventory, settings: Settings, facts: OperatorFacts) -> Source:
    return source(inventory, settings, facts)


def _dedupe(issues: list[LintIssue]) -> list[LintIssue]:
    seen: set[tuple[str, str]] = set()
    unique = []
    for found in issues:
        if (found.code, found.location) not in seen:
            seen.add((found.code, found.location))
            unique.append(found)
    return unique


def _dedupe_text(text_issues: list[LintIssue], issues: list[LintIssue]) -> list[LintIssue]:
    """A text finding the structural lint already names (same rule) is not repeated."""
    codes = {i.code for i in issues}
    return [i for i in text_issues if i.code not in codes]


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


def lint_text(text: str, settings: Settings, *, source: str = "text") -> list[LintIssue]:
    halves = split_languages(text)
    issues = [
        issue("missing-language", source, f"no {lang} part (title line not found)")
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
                issue("missing-contact", f"{source}:{lang} §9", "no contact email address")
            )
    issues.extend(_line_checks(text, settings, source))
    issues.extend(_consent_checks(text, source))
    lines = text.splitlines()
    return [
        replace(i, excerpt=lines[i.line - 1].strip()[:80]) if i.line and not i.excerpt else i
        for i in issues
    ]


def _compare_sections(
    zh: dict[str, list[str]], en: dict[str, list[str]], source: str
) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for number in sorted(set(zh) | set(en)):
        if number not in zh or number not in en:
            missing = "zh" if number not in zh else "en"
            issues.append(
                issue("section-mismatch", f"{source}:{missing} §{number}", "section missing")
            )
            continue
        zh_items = sum(1 for line in zh[number] if _BULLET.match(line))
        en_items = sum(1 for line in en[number] if _BULLET.match(line))
        if zh_items != en_items:
            issues.append(
                issue(
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
        where = f"{source}:{number}"
        if _POLICY_LINK.search(line):
            issues.append(
                issue("missing-policy-url", where, "policy link has no address", line=number)
            )
        elif placeholder := _PLACEHOLDER.search(line):
            issues.append(
                issue(
                    "placeholder",
                    where,
                    f"placeholder text: {placeholder.group(0)!r}",
                    line=number,
                    excerpt=line.strip()[:80],
                )
            )
        if _OPEN_ENDED.search(line):
            issues.append(
                issue(
                    "open-ended-retention",
                    where,
                    "open-ended retention ('long-term') is not a time limit",
                    line=number,
                    excerpt=line.strip()[:80],
                )
            )
        if _FULL_DELETION.search(line):
            issues.append(
                issue(
                    "retention-after-deletion",
                    where,
                    "promises to delete the account and its data although ledger, purchases "
                    "and requests are kept under a pseudonym",
                    line=number,
                )
            )
        if _EMAIL_ONLY_DELETION.search(line):
            issues.append(
                issue(
                    "appstore-in-app-deletion",
                    where,
                    "account deletion is offered only by e-mail (App Store 5.1.1(v))",
                    line=number,
                )
            )
        issues.extend(_days(line, number, settings, source))
    return issues


def _days(line: str, number: int, settings: Settings, source: str) -> list[LintIssue]:
    issues = []
    for clause in _CLAUSE.split(line):
        for match in _DAYS.finditer(clause):
            days = int(match.group(1) or match.group(2))
            if days not in _expected_days(clause, settings):
                issues.append(
                    issue(
                        "retention-mismatch",
                        f"{source}:{number}",
                        f"the text says {days} days; settings keep uploads "
                        f"{settings.upload_retention_days} and logs "
                        f"{settings.log_retention_days} days",
                        line=number,
                    )
                )
    return issues


def _consent_checks(text: str, source: str) -> list[LintIssue]:
    """Consent by use and a separate consent in the same language contradict each other."""
    issues = []
    for lang, lines in split_languages(text).items():
        by_use = next((line for line in lines if _BY_USE.search(line)), None)
        separate = any(_SEPARATE.search(line) for line in lines)
        if by_use is not None and separate:
            number = text.splitlines().index(by_use) + 1
            issues.append(
                issue(
                    "consent-contradiction",
                    f"{source}:{number}",
                    f"{lang}: says using the service accepts the data flow, and also that a "
                    "separate consent is asked",
                    line=number,
                )
            )
    return issues
