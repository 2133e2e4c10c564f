"""The record of processing activities (GDPR art. 30(1)(a)-(g)) and the PIPL lists
(个人信息收集清单, 第三方共享清单), both languages, from the inventory and the operator facts.

Every recipient appears with its role and region, the hosting provider and moderation
included; every transfer is described from both sides: PIPL (leaving mainland China: the
art. 38 mechanism) and GDPR (for an EU user every recipient, and we, are outside the EEA:
the chapter V safeguard). What the operator has not given shows the to-be-confirmed marker.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from liveai.clock import SYSTEM_CLOCK
from liveai.errors import InvalidInput
from liveai.privacy.document import (
    MECHANISM,
    REGION,
    ROLE,
    erasure_text,
    fill,
    legal_basis,
    policy_url,
    values,
)
from liveai.privacy.facts import EMPTY, OperatorFacts, missing
from liveai.privacy.inventory_types import Inventory, Text, ThirdParty
from liveai.privacy.policy import environment, policy_version
from liveai.settings import Settings

SUBJECTS = {
    "users": Text(zh="App 用户", en="app users"),
    "people_in_photos": Text(
        zh="用户上传照片中出现的人(可能不是用户本人)",
        en="people shown in uploaded photos (who may not be users)",
    ),
    "requesters": Text(
        zh="向我们提出个人信息请求的人(含代为请求的监护人)",
        en="people who send us requests (guardians acting for a child included)",
    ),
}
LIST_FORMATS = ("md", "html", "csv")
LISTS = ("collection", "sharing", "both")


def _t(text: Text) -> dict[str, str]:
    return {"zh": text.zh, "en": text.en}


def _same(value: str) -> dict[str, str]:
    return {"zh": value, "en": value}


def _appointee(facts: OperatorFacts, key: str) -> dict[str, str]:
    given = getattr(facts, key)
    if given is None:
        return _same(missing(key))
    if given.appointed:
        return _same(f"{given.name}, {given.contact}")
    return {"zh": f"未指定:{given.reason}", "en": f"none appointed: {given.reason}"}


def _transfer(party: ThirdParty, facts: OperatorFacts) -> dict[str, Any]:
    given = facts.recipient(party.key)
    if party.region == "overseas":
        mechanism = given.transfer_mechanism
        pipl = (
            _t(MECHANISM[mechanism])
            if mechanism
            else _same(missing(f"recipients.{party.key}.transfer_mechanism"))
        )
        if mechanism == "exemption" and given.exemption:
            pipl = {lang: f"{pipl[lang]}: {given.exemption}" for lang in ("zh", "en")}
    else:
        pipl = {"zh": "不出境(中国境内)", "en": "no transfer (stays in mainland China)"}
    gdpr = given.gdpr_safeguard or missing(f"recipients.{party.key}.gdpr_safeguard")
    return {"recipient": party.key, "name": _t(party.name), "pipl": pipl, "gdpr": _same(gdpr)}


def ropa(
    inventory: Inventory,
    settings: Settings,
    facts: OperatorFacts = EMPTY,
    *,
    version: str | None = None,
    record_date: date | None = None,
) -> dict[str, Any]:
    """The record of processing activities, one activity per data category."""
    vals = values(inventory, settings, facts)
    operator = inventory.operator
    activities = []
    for category in inventory.categories:
        parties = inventory.recipients_of(category.key)
        activities.append(
            {
                "category": category.key,
                "name": _t(category.name),
                "purpose": _t(fill(category.purpose, vals)),
                "legal_basis": _t(legal_basis(category.legal_basis)),
                "data_subjects": [_t(SUBJECTS[s]) for s in category.subjects],
                "sensitive": category.sensitive,
                "stored_in": list(category.stored_in),
                "recipients": [t.key for t in parties],
                "retention": _t(fill(category.retention.text, vals))
                if category.retention.text
                else _same(missing(f"categories.{category.key}.retention")),
                "erasure": {
                    "action": category.erasure.action,
                    "text": _t(erasure_text(category, vals)),
                },
            }
        )
    subjects = sorted({s for c in inventory.categories for s in c.subjects})
    return {
        "version": version or policy_version(inventory, settings, facts),
        "record_date": (record_date or SYSTEM_CLOCK.now().astimezone().date()).isoformat(),
        "controller": {
            "name": operator.name,
            "app": operator.app_name,
            "contact": facts.operator.contact_email or missing("operator.contact_email"),
            "address": facts.operator.address or missing("operator.address"),
            "representative": _appointee(facts, "eu_representative"),
            "dpo": _appointee(facts, "dpo"),
        },
        "data_subjects": [_t(SUBJECTS[s]) for s in subjects],
        "activities": activities,
        "recipients": [_recipient(t, inventory, facts) for t in inventory.third_parties],
        "transfers": [_transfer(t, facts) for t in inventory.third_parties],
        "security": [_t(text) for text in inventory.security]
        + [{"zh": f"HTTPS({inventory.transport})", "en": f"HTTPS ({inventory.transport})"}],
        "tables": [
            {
                "table": rule.table,
                "categories": list(rule.categories),
                "erasure": rule.erasure.action,
                "reason": _t(fill(rule.erasure.reason, vals))
                if rule.erasure.reason
                else _same("-"),
            }
            for rule in inventory.tables
        ],
        "request_sla_working_days": inventory.sla_working_days,
        "minors": {"min_age": inventory.min_age, "child_age": inventory.child_age},
    }


def _recipient(party: ThirdParty, inventory: Inventory, facts: OperatorFacts) -> dict[str, Any]:
    given = facts.recipient(party.key)
    names = {c.key: c.name for c in inventory.categories}
    where = f"recipients.{party.key}"
    self_run = party.self_operated
    return {
        "key": party.key,
        "name": _t(party.name),
        "legal_name": inventory.operator.name
        if self_run
        else (given.legal_name or missing(f"{where}.legal_name")),
        "contact": (facts.operator.contact_email or missing("operator.contact_email"))
        if self_run
        else (given.contact or missing(f"{where}.contact")),
        "role": _t(ROLE[party.role]),
        "region": _t(REGION[party.region]),
        "purpose": _t(party.purpose),
        "method": _t(party.method) if party.method else _same(missing(f"{where}.method")),
        "categories": [_t(names[k]) for k in party.categories if k in names],
        "policy_url": "" if self_run else policy_url(party, facts),
        "hosts": party.hosts,
        "moderates": party.moderates,
    }


def ropa_markdown(inventory: Inventory, settings: Settings, facts: OperatorFacts = EMPTY) -> str:
    template = environment("md").get_template("ropa.md.j2")
    return template.render(r=ropa(inventory, settings, facts), langs=("zh", "en")).strip() + "\n"


def collection_list(
    inventory: Inventory, settings: Settings, facts: OperatorFacts = EMPTY
) -> list[dict[str, str]]:
    """个人信息收集清单: one row per category, each cell in both languages."""
    vals = values(inventory, settings, facts)
    sections = {d.number: d.title for d in inventory.disclosures}
    rows = []
    for c in inventory.categories:
        retention = fill(c.retention.text, vals) if c.retention.text else Text("-", "-")
        feature = sections.get(c.section, Text(c.section, c.section))
        rows.append(
            {
                "信息 / Information": f"{c.name.zh} / {c.name.en}",
                "业务功能 / Feature": f"{feature.zh} / {feature.en}",
                "目的 / Purpose": f"{fill(c.purpose, vals).zh} / {fill(c.purpose, vals).en}",
                "敏感 / Sensitive": "是 / yes" if c.sensitive else "否 / no",
                "保留期限 / Retention": f"{retention.zh} / {retention.en}",
            }
        )
    return rows


def sharing_list(
    inventory: Inventory, settings: Settings, facts: OperatorFacts = EMPTY
) -> list[dict[str, str]]:
    """第三方共享清单: one row per recipient, each cell in both languages."""
    rows = []
    for party in inventory.third_parties:
        r = _recipient(party, inventory, facts)
        rows.append(
            {
                "第三方 / Recipient": both(r["name"]),
                "名称 / Legal name": r["legal_name"],
                "角色 / Role": both(r["role"]),
                "所在地 / Location": both(r["region"]),
                "共享信息 / Data": "; ".join(both(c) for c in r["categories"]),
                "目的 / Purpose": both(r["purpose"]),
                "方式 / Method": both(r["method"]),
                "联系方式 / Contact": r["contact"],
                "隐私政策 / Policy": r["policy_url"],
            }
        )
    return rows


def both(text: dict[str, str]) -> str:
    return f"{text['zh']} / {text['en']}"


def render_lists(
    inventory: Inventory,
    settings: Settings,
    facts: OperatorFacts = EMPTY,
    *,
    fmt: str = "md",
    which: str = "both",
) -> str:
    if fmt not in LIST_FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}", hint="use md, html or csv")
    if which not in LISTS:
        raise InvalidInput(f"unknown list {which!r}", hint="use collection, sharing or both")
    if fmt == "csv" and which == "both":
        raise InvalidInput(
            "a CSV file holds one list", hint="pass --list collection or --list sharing"
        )
    tables = []
    if which in ("collection", "both"):
        tables.append(
            (
                "个人信息收集清单 / Personal information collected",
                collection_list(inventory, settings, facts),
            )
        )
    if which in ("sharing", "both"):
        tables.append(
            ("第三方共享清单 / Third-party sharing", sharing_list(inventory, settings, facts))
        )
    if fmt == "csv":
        return _csv(tables[0][1])
    template = environment(fmt).get_template(f"lists.{fmt}.j2")
    return template.render(tables=tables).strip() + "\n"


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)
    return out.getvalue()


def _cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is quoted as text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value
