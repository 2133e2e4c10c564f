"""What changed between two policy versions, and whether users must be told and asked again.

A published version keeps a snapshot of the facts it was rendered from (`snapshot`), so
two versions compare fact by fact: a new data category, recipient, region or cross-border
transfer, a longer retention, a lower minimum age, a changed legal basis or role, a
dropped "we don't collect" promise or a changed deadline is *material* (§8 promises a
prominent in-app notice, and fresh consent before new data types are processed); anything
else is editorial. Each change carries a plain-language sentence in both languages for the
in-app notice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from liveai.privacy.document import REGION, ROLE, fill, required_consent_needs, values
from liveai.privacy.facts import OperatorFacts, facts_json
from liveai.privacy.inventory_types import Category, Inventory, Text
from liveai.settings import Settings

DAYS_PER_YEAR = 365


def _text(text: Text) -> dict[str, str]:
    return {"zh": text.zh, "en": text.en}


def retention_days(category: Category, settings: Settings, facts: OperatorFacts) -> int | None:
    """The retention as a number of days when it is one (event-bound retention is not)."""
    retention = category.retention
    if retention.setting:
        days = getattr(settings, retention.setting, None)
        return days if isinstance(days, int) else None
    if retention.kind == "days":
        return retention.days
    if retention.kind == "legal" and retention.years:
        years = getattr(facts.retention, retention.years, None)
        return years * DAYS_PER_YEAR if isinstance(years, int) else None
    return None


def snapshot(inventory: Inventory, settings: Settings, facts: OperatorFacts) -> dict[str, Any]:
    """The facts of one version, as plain JSON, for comparing versions later."""
    vals = values(inventory, settings, facts)
    return {
        "schema": 2,
        "categories": {
            c.key: {
                "name": _text(c.name),
                "purpose": _text(fill(c.purpose, vals)),
                "legal_basis": f"{c.legal_basis.pipl} / {c.legal_basis.gdpr}"
                if c.legal_basis
                else None,
                "recipients": sorted(t.key for t in inventory.recipients_of(c.key)),
                "retention": {
                    "kind": c.retention.kind,
                    "days": retention_days(c, settings, facts),
                    "text": _text(fill(c.retention.text, vals)) if c.retention.text else None,
                },
                "erasure": c.erasure.action,
                "sensitive": c.sensitive,
            }
            for c in inventory.categories
        },
        "recipients": {
            t.key: {
                "name": _text(t.name),
                "region": t.region,
                "role": t.role,
                "purpose": _text(t.purpose),
                "categories": sorted(t.categories),
            }
            for t in inventory.third_parties
        },
        "not_collected": [_text(t) for t in inventory.not_collected],
        "min_age": inventory.min_age,
        "child_age": inventory.child_age,
        "sla_working_days": inventory.sla_working_days,
        "consents": list(required_consent_needs(inventory)),
        "operator_facts": facts_json(facts),
    }


@dataclass(frozen=True)
class Change:
    kind: str
    material: bool
    subject: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _name(entry: dict[str, Any] | None, key: str) -> dict[str, str]:
    name = (entry or {}).get("name", key)
    return name if isinstance(name, dict) else {"zh": str(name), "en": str(name)}


def _region(code: str) -> Text:
    return REGION.get(code, Text(zh=code, en=code))


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change between two snapshots, material ones first."""
    changes = [
        *_categories(old, new),
        *_recipients(old, new),
        *_promises(old, new),
        *_numbers(old, new),
    ]
    if old.get("operator_facts") != new.get("operator_facts"):
        changes.append(
            Change(
                "operator_facts",
                False,
                "operator_facts",
                "联系方式或接收方信息已更新。",
                "Contact or recipient details were updated.",
            )
        )
    return sorted(changes, key=lambda c: not c.material)


def _categories(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before, after = old.get("categories", {}), new.get("categories", {})
    regions = {k: v for k, v in new.get("recipients", {}).items()}
    old_regions = {k: v.get("region") for k, v in old.get("recipients", {}).items()}
    changes = []
    for key in sorted(set(after) - set(before)):
        name = _name(after[key], key)
        changes.append(
            Change(
                "new_category",
                True,
                key,
                f"我们将处理新的信息类型:{name['zh']}。处理前会征得您的同意。",
                f"We will process a new type of data: {name['en']}. We will ask for your "
                "consent first.",
            )
        )
    for key in sorted(set(before) - set(after)):
        name = _name(before[key], key)
        changes.append(
            Change(
                "removed_category",
                False,
                key,
                f"我们不再处理:{name['zh']}。",
                f"We no longer process: {name['en']}.",
            )
        )
    for key in sorted(set(before) & set(after)):
        changes += _category(key, before[key], after[key], old_regions, regions)
    return changes


def _category(
    key: str,
    old: dict[str, Any],
    new: dict[str, Any],
    old_regions: dict[str, Any],
    regions: dict[str, Any],
) -> list[Change]:
    name = _name(new, key)
    changes = []
    if old.get("purpose") != new.get("purpose"):
        purpose = new.get("purpose") or {}
        changes.append(
            Change(
                "new_purpose",
                True,
                key,
                f"{name['zh']}的使用目的变更为:{purpose.get('zh', '')}。",
                f"{name['en']} is now used for: {purpose.get('en', '')}.",
            )
        )
    if old.get("legal_basis") != new.get("legal_basis"):
        changes.append(
            Change(
                "changed_legal_basis",
                True,
                key,
                f"{name['zh']}的法律依据变更为 {new.get('legal_basis')}。",
                f"The legal basis for {name['en']} is now {new.get('legal_basis')}.",
            )
        )
    for recipient in sorted(set(new.get("recipients", [])) - set(old.get("recipients", []))):
        party = regions.get(recipient) or {}
        overseas = party.get("region") == "overseas"
        who = _name(party, recipient)
        was_overseas = any(old_regions.get(r) == "overseas" for r in old.get("recipients", []))
        kind = "new_cross_border" if overseas and not was_overseas else "category_recipient"
        where = "(境外)" if overseas else ""
        changes.append(
            Change(
                kind,
                True,
                key,
                f"{name['zh']}将提供给{who['zh']}{where}。",
                f"{who['en']}{' (outside mainland China)' if overseas else ''} will now also "
                f"receive: {name['en']}.",
            )
        )
    changes += _retention_change(key, name, old.get("retention"), new.get("retention"))
    return changes


def _retention_change(key: str, name: dict[str, str], old: Any, new: Any) -> list[Change]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old != new:
            return [_retention(key, name, new, True)]
        return []
    if old == new:
        return []
    before, after = old.get("days"), new.get("days")
    if before == after and old.get("kind") == new.get("kind"):
        return [_retention(key, name, new, False, "reworded_retention")]
    if isinstance(before, int) and isinstance(after, int):
        longer = after > before
    else:
        longer = old.get("kind") != new.get("kind") or before != after
    return [_retention(key, name, new, longer)]


def _retention(
    key: str, name: dict[str, str], new: Any, longer: bool, kind: str | None = None
) -> Change:
    text = new.get("text") if isinstance(new, dict) else None
    said = text or {"zh": str(new), "en": str(new)}
    return Change(
        kind or ("longer_retention" if longer else "shorter_retention"),
        longer,
        key,
        f"{name['zh']}的保留期限变更为:{said['zh']}。",
        f"New retention for {name['en']}: {said['en']}.",
    )


def _recipients(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    before, after = old.get("recipients", {}), new.get("recipients", {})
    changes = []
    for key in sorted(set(after) - set(before)):
        entry = after[key]
        name, region = _name(entry, key), _region(str(entry.get("region")))
        changes.append(
            Change(
                "new_recipient",
                True,
                key,
                f"新增第三方接收方:{name['zh']}({region.zh})。",
                f"New recipient: {name['en']} ({region.en}).",
            )
        )
    for key in sorted(set(before) - set(after)):
        name = _name(before[key], key)
        changes.append(
            Change(
                "removed_recipient",
                False,
                key,
                f"不再向 {name['zh']} 提供信息。",
                f"{name['en']} no longer receives data.",
            )
        )
    for key in sorted(set(before) & set(after)):
        changes += _recipient(key, before[key], after[key])
    return changes


def _recipient(key: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    name = _name(new, key)
    changes = []
    if old.get("region") != new.get("region"):
        region = _region(str(new.get("region")))
        kind = "new_cross_border" if new.get("region") == "overseas" else "new_region"
        changes.append(
            Change(
                kind,
                True,
                key,
                f"{name['zh']}的所在地变更为{region.zh}。",
                f"{name['en']} is now located {region.en}."
                if new.get("region") == "overseas"
                else f"{name['en']} is now located in {region.en}.",
            )
        )
    if old.get("role") and old.get("role") != new.get("role"):
        role = ROLE.get(str(new.get("role")), Text(zh="", en=""))
        changes.append(
            Change(
                "changed_role",
                True,
                key,
                f"{name['zh']}的角色变更为{role.zh}。",
                f"{name['en']} is now an {role.en}."
                if role.en.startswith("i")
                else f"{name['en']} is now a {role.en}.",
            )
        )
    if old.get("purpose") != new.get("purpose"):
        purpose = new.get("purpose") or {}
        purpose = purpose if isinstance(purpose, dict) else {"zh": purpose, "en": purpose}
        changes.append(
            Change(
                "new_purpose",
                True,
                key,
                f"{name['zh']}的处理目的变更为:{purpose['zh']}。",
                f"{name['en']} now receives data for: {purpose['en']}.",
            )
        )
    return changes


def _promises(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    kept = {item.get("en") for item in new.get("not_collected", []) if isinstance(item, dict)}
    return [
        Change(
            "removed_promise",
            True,
            "not_collected",
            f"我们删除了承诺:不收集「{item['zh']}」。",
            f"We removed the promise not to collect: {item['en']}.",
        )
        for item in old.get("not_collected", [])
        if isinstance(item, dict) and item.get("en") not in kept
    ]


def _numbers(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = []
    before, after = old.get("min_age"), new.get("min_age")
    if isinstance(before, int) and isinstance(after, int) and before != after:
        changes.append(
            Change(
                "lower_minimum_age" if after < before else "higher_minimum_age",
                after < before,
                "min_age",
                f"最低使用年龄由 {before} 岁变更为 {after} 岁。",
                f"The minimum age changes from {before} to {after}.",
            )
        )
    before, after = old.get("sla_working_days"), new.get("sla_working_days")
    if before is not None and before != after:
        changes.append(
            Change(
                "changed_deadline",
                True,
                "sla_working_days",
                f"请求办理期限由 {before} 个工作日变更为 {after} 个工作日。",
                f"We now answer requests within {after} business days (was {before}).",
            )
        )
    return changes
