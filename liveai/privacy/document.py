"""The policy as a list of blocks, each fact once with both its languages.

Every sentence of the policy is a `Fact`: an id and a `Text` (zh and en). A section's
seed prose stays where it carries meaning the inventory does not; everything the inventory
knows (each category's purpose, legal basis, recipients with their roles and regions,
retention, what deletion does) is generated from it, and what only the operator knows
comes from the operator facts or shows the "to be confirmed" marker. Because both
languages come from the same fact, lint can compare them fact by fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from liveai.privacy.consent_rules import RECIPIENT_SCOPED, SENSITIVE, Need, every_need
from liveai.privacy.facts import OperatorFacts, missing
from liveai.privacy.inventory_types import Category, Inventory, LegalBasis, Text, ThirdParty
from liveai.settings import Settings

BlockKind = Literal["h1", "h2", "h3", "meta", "p", "ul"]
EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
ROLE = {
    "processor": Text(zh="受托处理者", en="processor"),
    "independent": Text(zh="独立个人信息处理者", en="independent handler"),
}
REGION = {
    "mainland_china": Text(zh="中国境内", en="mainland China"),
    "overseas": Text(zh="境外", en="outside mainland China"),
}
MECHANISM = {
    "standard_contract": Text(zh="个人信息出境标准合同", en="PIPL standard contract"),
    "certification": Text(
        zh="个人信息保护认证", en="personal information protection certification"
    ),
    "assessment": Text(zh="数据出境安全评估", en="CAC security assessment"),
    "exemption": Text(zh="豁免", en="exemption"),
}
CONSENT_SENTENCES = {
    "sensitive": Text(
        zh="处理您的敏感个人信息({scopes})前,我们会征得您的单独同意(《个人信息保护法》第 29 条)。",
        en="We ask for your separate consent before processing your sensitive personal "
        "information ({scopes}) (PIPL art. 29).",
    ),
    "cross_border": Text(
        zh="向境外接收方{scopes}提供您的个人信息前,我们会征得您的单独同意(《个人信息保护法》"
        "第 39 条)。",
        en="We ask for your separate consent before giving personal information to {scopes}, "
        "outside mainland China (PIPL art. 39).",
    ),
    "provide": Text(
        zh="向独立个人信息处理者{scopes}提供您的个人信息前,我们会征得您的单独同意(《个人信息"
        "保护法》第 23 条)。",
        en="We ask for your separate consent before giving personal information to the "
        "independent handler {scopes} (PIPL art. 23).",
    ),
    "face_editing": Text(
        zh="生成视频会编辑照片中人物的面部;生成前我们会请您确认已告知照片中的人并取得其单独同意"
        "(《互联网信息服务深度合成管理规定》)。",
        en="Generating a video edits the face of the person in the photo; before generating we "
        "ask you to confirm that you told that person and have their separate consent "
        "(PRC deep-synthesis rules).",
    ),
    "consumption_data": Text(
        zh="Apple 就退款向我们询问消费数据时,我们仅在您同意后向 Apple 提供。",
        en="When Apple asks us for consumption data about a refund, we give it only with your "
        "consent.",
    ),
}
"""One sentence per consent kind; ``{scopes}`` lists the recipients or categories (and
the steps) the system asks it for, and nothing more."""
_VALUE = re.compile(r"https?://[^\s<>\"';;,,)()]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d+")
_MARKER = re.compile(r"\[待确认 / to be confirmed: [^\]]+\]")


@dataclass(frozen=True)
class Fact:
    id: str
    text: Text
    values: tuple[str, ...] | None = None
    """Language-neutral values both languages must state; found in the text when None."""

    def get(self, lang: str) -> str:
        return self.text.get(lang)

    def stated(self, lang: str) -> list[str]:
        """The values this fact states in one language: markers, URLs, e-mails, numbers."""
        if self.values is not None:
            return list(self.values)
        line = self.text.get(lang)
        markers = _MARKER.findall(line)
        return sorted([*markers, *_VALUE.findall(_MARKER.sub("", line))])


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    anchor: str
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class Dates:
    """What publishing adds: the updated (publish) date, the effective date, the label."""

    updated: date
    effective: date
    label: str


def zh_date(day: date) -> str:
    return f"{day.year} 年 {day.month} 月 {day.day} 日"


def en_date(day: date) -> str:
    return f"{EN_MONTHS[day.month - 1]} {day.day}, {day.year}"


def values(inventory: Inventory, settings: Settings, facts: OperatorFacts) -> dict[str, Any]:
    """What prose placeholders stand for: settings, the SLA, and the operator's facts."""
    retention = facts.retention
    return {
        "upload_retention_days": settings.upload_retention_days,
        "log_retention_days": settings.log_retention_days,
        "sla_working_days": inventory.sla_working_days,
        "api_host": inventory.operator.api_host,
        "accounting_years": retention.accounting_years or missing("retention.accounting_years"),
        "request_records_years": retention.request_records_years
        or missing("retention.request_records_years"),
        "transfer_records_years": retention.transfer_records_years
        or missing("retention.transfer_records_years"),
    }


def fill(text: Text, vals: dict[str, Any]) -> Text:
    return Text(zh=text.zh.format(**vals), en=text.en.format(**vals))


def join(texts: Iterable[Text], zh_sep: str = "、", en_sep: str = ", ") -> Text:
    items = list(texts)
    return Text(zh=zh_sep.join(t.zh for t in items), en=en_sep.join(t.en for t in items))


def cat(*parts: Text | str) -> Text:
    """Concatenate texts; a plain string is the same in both languages."""
    return Text(
        zh="".join(p if isinstance(p, str) else p.zh for p in parts),
        en="".join(p if isinstance(p, str) else p.en for p in parts),
    )


def legal_basis(basis: LegalBasis | None) -> Text:
    if basis is None:
        return Text(zh="(未说明)", en="(not stated)")
    return Text(
        zh=f"《个人信息保护法》第 {basis.pipl} 条,GDPR 第 {basis.gdpr} 条",
        en=f"PIPL art. {basis.pipl}, GDPR art. {basis.gdpr}",
    )


def recipient_label(party: ThirdParty) -> Text:
    return cat(
        party.name,
        Text(zh="(", en=" ("),
        ROLE[party.role],
        Text(zh=",", en=", "),
        REGION[party.region],
        Text(zh=")", en=")"),
    )


def erasure_text(category: Category, vals: dict[str, Any]) -> Text:
    erasure = category.erasure
    if erasure.action == "delete":
        return Text(zh="删除", en="deleted")
    reason = fill(erasure.reason, vals) if erasure.reason else Text(zh="", en="")
    head = (
        Text(zh="假名化保留:", en="kept under a pseudonym: ")
        if erasure.action == "pseudonymise"
        else Text(zh="保留:", en="kept: ")
    )
    return cat(head, reason)


def policy_url(party: ThirdParty, facts: OperatorFacts) -> str:
    given = facts.recipient(party.key).policy_url or party.policy_url
    return given or missing(f"recipients.{party.key}.policy_url")


def recipient_fact(party: ThirdParty, facts: OperatorFacts, names: dict[str, Text]) -> Text:
    """PIPL art. 23 (and art. 39 for overseas ones): who, contact, purpose, method, data."""
    if party.self_operated:
        return cat(party.name, " — ", party.summary)
    given = facts.recipient(party.key)
    where = f"recipients.{party.key}"
    received = join(names[key] for key in party.categories if key in names)
    parts: list[Text | str] = [
        party.name,
        " — ",
        party.summary,
        Text(zh="角色:", en=" Role: "),
        ROLE[party.role],
        Text(zh=";所在地:", en="; location: "),
        REGION[party.region],
        Text(zh=";名称:", en="; legal name: "),
        given.legal_name or missing(f"{where}.legal_name"),
        Text(zh=";联系方式:", en="; contact: "),
        given.contact or missing(f"{where}.contact"),
        Text(zh=";目的:", en="; purpose: "),
        party.purpose,
        Text(zh=";方式:", en="; method: "),
        party.method or Text(zh=missing(f"{where}.method"), en=missing(f"{where}.method")),
        Text(zh=";个人信息种类:", en="; personal information: "),
        received,
    ]
    if party.region == "overseas":
        parts += [
            Text(zh=";出境机制:", en="; transfer mechanism: "),
            _mechanism(party, facts),
            Text(
                zh=";行使权利:通过第 9 节的方式联系我们,或联系该接收方",
                en="; your rights: contact us as in §9, or contact the recipient",
            ),
        ]
    parts += [Text(zh=";隐私政策:", en="; Policy: "), policy_url(party, facts)]
    return cat(*parts)


def _mechanism(party: ThirdParty, facts: OperatorFacts) -> Text | str:
    given = facts.recipient(party.key)
    if given.transfer_mechanism is None:
        return missing(f"recipients.{party.key}.transfer_mechanism")
    name = MECHANISM[given.transfer_mechanism]
    if given.transfer_mechanism == "exemption" and given.exemption:
        return cat(name, Text(zh="(", en=" ("), given.exemption, Text(zh=")", en=")"))
    return name


def required_consent_needs(inventory: Inventory) -> tuple[str, ...]:
    """The separate consents the system requires and records for what the inventory does
    (`liveai.privacy.consent_rules`, the rules processing is checked against), named as
    the consent records name them ("cross_border:fal"), in the policy's order."""
    order = list(CONSENT_SENTENCES)
    needs = sorted(
        every_need(inventory),
        key=lambda n: (order.index(n.kind) if n.kind in order else len(order), n.name),
    )
    return tuple(n.name for n in needs)


def scope_name(kind: str, scope: str, inventory: Inventory) -> Text:
    """How the policy names a consent's scope: the category, or the recipient."""
    if kind == SENSITIVE:
        return inventory.category(scope).name
    return inventory.third_party(scope).name


def consent_sentence(kind: str, names: Iterable[str], inventory: Inventory) -> Text:
    """The policy's sentence for a consent kind, naming each scope it is asked for and, for
    a recipient, the steps it is asked for."""
    template = CONSENT_SENTENCES[kind]
    steps = every_need(inventory)
    scopes = []
    for name in names:
        need_kind, _, scope = name.partition(":")
        if need_kind != kind or not scope:
            continue
        scoped = scope_name(kind, scope, inventory)
        if kind in RECIPIENT_SCOPED:
            titles = join(p.title for p in steps.get(Need(kind, scope), []))
            scoped = cat(scoped, Text(zh="(用于", en=" (for "), titles, Text(zh=")", en=")"))
        scopes.append(scoped)
    listed = join(scopes, en_sep=" and " if len(scopes) == 2 else ", ")
    return Text(zh=template.zh.format(scopes=listed.zh), en=template.en.format(scopes=listed.en))


def _p(anchor: str, fact_id: str, text: Text, values_: tuple[str, ...] | None = None) -> Block:
    return Block("p", anchor, (Fact(fact_id, text, values_),))


def _ul(anchor: str, facts: Iterable[Fact]) -> Block:
    return Block("ul", anchor, tuple(facts))


def _h(kind: BlockKind, anchor: str, text: Text) -> Block:
    return Block(kind, anchor, (Fact(f"heading.{anchor}", text),))


@dataclass(frozen=True)
class Source:
    inventory: Inventory
    settings: Settings
    facts: OperatorFacts
    consent_needs: tuple[str, ...]

    @property
    def vals(self) -> dict[str, Any]:
        return values(self.inventory, self.settings, self.facts)

    @property
    def contact(self) -> str:
        return self.facts.operator.contact_email or missing("operator.contact_email")


def build(source: Source, dates: Dates | None, version: str | None) -> list[Block]:
    return [
        *_header(source, dates, version),
        *_section1(source),
        *_section2(source),
        *_section3(source),
        *_section4(source),
        *_section5(source),
        *_section6(source),
        *_section7(),
        *_section8(),
        *_section9(source),
    ]


def _header(source: Source, dates: Dates | None, version: str | None) -> list[Block]:
    op = source.inventory.operator
    meta: list[Fact] = []
    if dates is None:
        meta.append(
            Fact(
                "meta.updated",
                Text(zh="更新日期:未发布(草稿)", en="Last Updated: not yet published (draft)"),
                (),
            )
        )
    else:
        meta += [
            Fact(
                "meta.updated",
                Text(
                    zh=f"更新日期:{zh_date(dates.updated)}",
                    en=f"Last Updated: {en_date(dates.updated)}",
                ),
                (dates.updated.isoformat(),),
            ),
            Fact(
                "meta.effective",
                Text(
                    zh=f"生效日期:{zh_date(dates.effective)}",
                    en=f"Effective: {en_date(dates.effective)}",
                ),
                (dates.effective.isoformat(),),
            ),
        ]
    if version is not None:
        label = f"{dates.label}({version})" if dates else version
        en_label = f"{dates.label} ({version})" if dates else version
        meta.append(Fact("meta.version", Text(zh=f"版本:{label}", en=f"Version: {en_label}")))
    laws = source.inventory.laws
    return [
        _h("h1", "title", Text(zh="隐私政策", en="Privacy Policy")),
        Block("meta", "meta", tuple(meta)),
        _p(
            "intro",
            "intro.operator",
            cat(
                Text(
                    zh=f'欢迎使用 {op.app_name}(以下简称"本应用"或"我们")。我们由 '
                    f"{op.name} 运营,深知个人信息对您的重要性,并将严格遵循",
                    en=f'Welcome to {op.app_name} (hereinafter "the App" or "we"). The App '
                    f"is operated by {op.name}. We are committed to protecting your personal "
                    "information in accordance with applicable laws and regulations, including ",
                ),
                laws,
                Text(
                    zh="等适用法律法规的要求,采取必要的技术和管理措施保护您的个人信息安全。", en="."
                ),
            ),
        ),
        _p(
            "intro",
            "intro.scope",
            Text(
                zh=f"本政策旨在清晰说明我们在向您提供 {op.app_name} 服务过程中如何收集、使用、"
                "存储、共享您的信息,以及您所享有的权利。请您在使用本服务前完整阅读并充分理解本政策。",
                en="This Policy explains what information we collect, how we use, store, and "
                "share it, and the rights you have. Please read it in full before using the App.",
            ),
        ),
    ]


def _category_fact(source: Source, category: Category) -> Fact:
    vals = source.vals
    recipients = [
        recipient_label(t) for t in source.inventory.recipients_of(category.key) if not t.hosts
    ]
    retention = category.retention.text or Text(zh="(未说明)", en="(not stated)")
    text = cat(
        category.name,
        Text(zh=":目的:", en=": purpose: "),
        fill(category.purpose, vals),
        Text(zh=";法律依据:", en="; legal basis: "),
        legal_basis(category.legal_basis),
        Text(zh=";接收方:", en="; recipients: "),
        join(recipients) if recipients else Text(zh="无", en="none"),
        Text(zh=";保留期限:", en="; retention: "),
        fill(retention, vals),
        Text(zh=";注销账号时:", en="; on account deletion: "),
        erasure_text(category, vals),
    )
    return Fact(f"category.{category.key}", text)


def _section1(source: Source) -> list[Block]:
    inv, vals = source.inventory, source.vals
    blocks = [_h("h2", "1", Text(zh="1. 我们处理的信息类型与目的", en="1. Information We Process"))]
    for d in inv.disclosures:
        anchor = d.number.replace(".", "-")
        blocks.append(_h("h3", anchor, cat(f"{d.number} ", d.title)))
        items = [
            Fact(
                f"{d.number}.purpose",
                cat(Text(zh="使用目的:", en="Purpose: "), fill(d.purpose, vals)),
            ),
            Fact(f"{d.number}.types", cat(Text(zh="信息类型:", en="Type: "), fill(d.types, vals))),
            Fact(
                f"{d.number}.handling",
                cat(Text(zh="处理方式:", en="Handling: "), fill(d.handling, vals)),
            ),
        ]
        if d.note:
            items.append(
                Fact(f"{d.number}.note", cat(Text(zh="重要提示:", en="Note: "), fill(d.note, vals)))
            )
        if d.number == "1.2" and source.settings.qwen_vl_model:
            items.append(_moderation_fact(inv))
        categories = [c for c in inv.categories if c.section == d.number]
        items += [_category_fact(source, c) for c in categories]
        items += [
            Fact(
                f"category.{c.key}.sensitive",
                cat(
                    Text(zh="敏感个人信息:", en="Sensitive personal information: "),
                    c.sensitive_notice,
                ),
            )
            for c in categories
            if c.sensitive and c.sensitive_notice
        ]
        blocks.append(_ul(anchor, items))
    return blocks


def _moderation_fact(inventory: Inventory) -> Fact:
    moderators = join(t.name for t in inventory.third_parties if t.moderates)
    return Fact(
        "1.2.moderation",
        cat(
            Text(
                zh="内容审核:图片在发送给任何视频生成供应商之前,先由",
                en="Moderation: before any video-generation provider receives an image, ",
            ),
            moderators,
            Text(
                zh="的 Qwen-VL 模型审核;未通过审核的图片不会发送给供应商。",
                en="'s Qwen-VL model checks it; an image that fails is not sent to any provider.",
            ),
        ),
    )


def _section2(source: Source) -> list[Block]:
    return [
        _h("h2", "2", Text(zh="2. 我们不收集的信息", en="2. Information We Do Not Collect")),
        _p(
            "2",
            "2.intro",
            Text(
                zh="我们承诺不会以任何形式收集、存储或共享以下数据:",
                en="We promise never to collect, store or share any of the following:",
            ),
        ),
        _ul(
            "2",
            (Fact(f"not_collected.{i}", t) for i, t in enumerate(source.inventory.not_collected)),
        ),
    ]


def _section3(source: Source) -> list[Block]:
    inv = source.inventory
    names = {c.key: c.name for c in inv.categories}
    blocks = [
        _h("h2", "3", Text(zh="3. 第三方服务及其责任范围", en="3. Third-Party Services")),
        _p(
            "3",
            "3.intro",
            Text(
                zh="为提供本服务,我们使用以下第三方服务,您的个人信息会在必要范围内传递给它们:",
                en="To provide the service, your personal information may be transmitted to the "
                "following third parties within what each needs:",
            ),
        ),
        _ul(
            "3",
            (
                Fact(f"recipient.{t.key}", recipient_fact(t, source.facts, names))
                for t in inv.third_parties
            ),
        ),
    ]
    disclaimer = Text(
        zh="由于我们无法完全控制第三方对数据的处理方式,使用前请您阅读其隐私政策。我们已与上述"
        "供应商签署服务协议,要求其仅在生成任务范围内处理您的数据,不得用于模型训练或其他用途",
        en="As we cannot fully control how third parties process data, please read their "
        "privacy policies before use. We have signed service agreements with these providers "
        "restricting use of your data to generation tasks only and prohibiting model training",
    )
    if source.consent_needs:
        kinds = {n.partition(":")[0] for n in source.consent_needs}
        blocks.append(_p("3", "3.agreements", cat(disclaimer, Text(zh="。", en="."))))
        blocks.append(
            _ul(
                "3",
                (
                    Fact(
                        f"consent.{k}", consent_sentence(k, source.consent_needs, source.inventory)
                    )
                    for k in CONSENT_SENTENCES
                    if k in kinds
                ),
            )
        )
    else:
        by_use = Text(
            zh=";但您在使用本服务即表示理解并接受相关数据流。",
            en="; however, by using the service you understand and accept the data flow "
            "described above.",
        )
        blocks.append(_p("3", "3.agreements", cat(disclaimer, by_use)))
    return blocks


def _section4(source: Source) -> list[Block]:
    inv, vals = source.inventory, source.vals
    retention = join(
        (
            cat(c.name, Text(zh=":", en=": "), fill(c.retention.text, vals))
            for c in inv.categories
            if c.retention.text
        ),
        zh_sep=";",
        en_sep="; ",
    )
    security = [
        Fact(f"security.{i}", cat(label, text))
        for i, (label, text) in enumerate(
            zip(
                [
                    Text(zh="访问控制:", en="Access control: "),
                    Text(zh="账号鉴权:", en="Authentication: "),
                ]
                + [Text(zh="", en="")] * (len(inv.security) - 2),
                inv.security,
                strict=True,
            )
        )
    ]
    return [
        _h("h2", "4", Text(zh="4. 数据的存储与保护措施", en="4. Storage & Security")),
        _ul(
            "4",
            [
                Fact(
                    "storage.location",
                    cat(
                        Text(
                            zh="存储位置:账号、积分账本、任务记录存储于",
                            en="Location: account, "
                            "ledger and task records reside in PostgreSQL on ",
                        ),
                        inv.operator.hosting,
                        Text(zh="(PostgreSQL)。", en="."),
                    ),
                ),
                Fact("storage.retention", cat(Text(zh="保留期限:", en="Retention: "), retention)),
                Fact(
                    "storage.transport",
                    Text(
                        zh=f"传输安全:所有网络请求均通过 HTTPS({inv.transport})加密传输。",
                        en=f"Transport: all traffic uses HTTPS ({inv.transport}).",
                    ),
                ),
                *security,
            ],
        ),
    ]


def _deletion(source: Source) -> Text:
    inv, vals = source.inventory, source.vals
    in_app = source.facts.app.in_app_account_deletion
    how = (
        Text(
            zh="您可在 App 内发起注销账号,或发邮件至下方邮箱",
            en="to delete your account, start it in the App or email us",
        )
        if in_app
        else Text(zh="如需注销账号,请发邮件至下方邮箱", en="to delete your account, email us")
    )
    kept = [c for c in inv.categories if c.erasure.action != "delete"]
    retained = join(
        (
            cat(c.name, Text(zh="(", en=" ("), erasure_text(c, vals), Text(zh=")", en=")"))
            for c in kept
        ),
        zh_sep=";",
        en_sep="; ",
    )
    sla = inv.sla_working_days
    return cat(
        Text(
            zh="删除:您可在作品页面随时删除单个作品;",
            en="Deletion: delete individual works in-app; ",
        ),
        how,
        Text(
            zh=f",我们将在 {sla} 个工作日内完成删除。",
            en=f" — completed within {sla} business days.",
        ),
        Text(zh="以下信息在注销后依法保留:", en=" After deletion the law requires us to keep: ")
        if kept
        else Text(zh="", en=""),
        retained,
        Text(zh="。", en=".") if kept else Text(zh="", en=""),
    )


def _section5(source: Source) -> list[Block]:
    return [
        _h("h2", "5", Text(zh="5. 您的权利", en="5. Your Rights")),
        _p(
            "5",
            "5.intro",
            Text(
                zh="您依法享有以下个人信息相关权利,并可通过文末邮箱与我们联系行使:",
                en="You have the following rights, and can exercise them by writing to the "
                "e-mail address at the end of this policy:",
            ),
        ),
        _ul(
            "5",
            [
                Fact(
                    "rights.access",
                    Text(
                        zh="访问与复制:您可在 App 内查看积分明细、作品列表;"
                        "如需结构化导出,请联系我们。",
                        en="Access / Copy: view your credits ledger and works in-app; contact us "
                        "for a structured export.",
                    ),
                ),
                Fact(
                    "rights.correction",
                    Text(
                        zh="更正:您可在 App 设置中修改昵称等公开资料。",
                        en="Correction: edit your nickname etc. in-app.",
                    ),
                ),
                Fact("rights.deletion", _deletion(source)),
                Fact("rights.withdraw", _withdraw(source)),
                Fact(
                    "rights.complaint",
                    Text(
                        zh="投诉:您可联系我们或向有管辖权的数据保护机构投诉。",
                        en="Complaint: contact us, or your local data-protection authority.",
                    ),
                ),
            ],
        ),
    ]


def _withdraw(source: Source) -> Text:
    """The seed's sentence, and how the separate consents of §3 are withdrawn when the
    system asks for any (`consents withdraw`: it stops processing and cancels queued
    generations that need it, refunding their credits)."""
    seed = Text(
        zh="撤回同意:您可在系统设置中撤回相册、通知等权限授权;撤回不影响撤回前已进行的处理。",
        en="Withdraw consent: revoke Photos / Notifications permissions in System Settings; "
        "withdrawal does not affect processing carried out before it.",
    )
    if not source.consent_needs:
        return seed
    return cat(
        seed,
        Text(
            zh="第 3 节所述的单独同意,您可随时通过第 9 节的方式联系我们撤回;撤回后相关处理立即停止,"
            "尚未开始且需要该同意的生成任务随即取消并退还积分。",
            en=" You can withdraw any separate consent described in §3 at any time by contacting "
            "us as in §9; the processing it allowed stops at once, and generations not yet started "
            "that need it are cancelled and their credits returned.",
        ),
    )


def _section6(source: Source) -> list[Block]:
    inv = source.inventory
    return [
        _h("h2", "6", Text(zh="6. 未成年人保护", en="6. Minors")),
        _p(
            "6",
            "minors",
            Text(
                zh=f"本应用面向 {inv.min_age} 岁及以上用户,未成年人请在监护人指导下使用。我们不会"
                f"有意收集 {inv.child_age} 岁以下儿童的个人信息。如您是监护人,发现孩子未经同意"
                "使用本服务,请通过下方邮箱联系我们,我们将立即停止处理并删除相关数据。",
                en=f"The App is intended for users {inv.min_age} and above; minors should use "
                "it under guardian supervision. We do not knowingly collect information from "
                f"children under {inv.child_age}. If you are a guardian and believe your child "
                "has used the service without consent, email us — we will immediately stop "
                "processing and delete the data.",
            ),
        ),
    ]


def _section7() -> list[Block]:
    return [
        _h("h2", "7", Text(zh="7. AI 生成内容的特殊说明", en="7. About AI-Generated Content")),
        _p(
            "7",
            "7.intro",
            Text(
                zh="本应用通过第三方 AI 模型生成视频内容。请注意:",
                en="The App generates video content with third-party AI models. Please note:",
            ),
        ),
        _ul(
            "7",
            [
                Fact(
                    "ai.accuracy",
                    Text(
                        zh="生成内容可能存在与现实不符、人物特征偏移、动作不自然等情况,您应自行判断使用"
                        "场景。",
                        en="Generated content may diverge from reality, show identity drift, or "
                        "unnatural motion. Judge its suitability for your use case.",
                    ),
                ),
                Fact(
                    "ai.prohibited",
                    Text(
                        zh="禁止使用本服务生成涉及他人肖像(无授权)、色情、暴力、政治敏感、违法犯罪相关的"
                        "内容(详见《用户协议》第 4 条)。",
                        en="You must not generate non-consensual likenesses, sexual, violent, "
                        "politically sensitive, or otherwise illegal content (see Terms §4).",
                    ),
                ),
                Fact(
                    "ai.moderation",
                    Text(
                        zh="我们及第三方供应商可能基于合规要求审核您上传的图片与提示词。",
                        en="We and our providers may moderate uploaded images and prompts for "
                        "compliance.",
                    ),
                ),
            ],
        ),
    ]


def _section8() -> list[Block]:
    return [
        _h("h2", "8", Text(zh="8. 政策的修订", en="8. Changes")),
        _p(
            "8",
            "changes",
            Text(
                zh="我们可能因产品升级或法律变化而适时修订本政策。如涉及重大变更,我们将在 App 内以"
                "显著方式通知您,并在您同意后再处理新增数据类型。",
                en="We may amend this policy as the product evolves or laws change. For material "
                "changes we will notify you prominently in-app and seek your consent before "
                "processing new data types.",
            ),
        ),
    ]


def _appointee(key: str, title: Text, source: Source) -> list[Fact]:
    given = getattr(source.facts, key)
    if given is None:
        return [Fact(f"contact.{key}", cat(title, missing(key)))]
    if not given.appointed:
        return []
    return [Fact(f"contact.{key}", cat(title, f"{given.name}, {given.contact}"))]


def _section9(source: Source) -> list[Block]:
    address = source.facts.operator.address or missing("operator.address")
    items = [
        Fact("contact.email", cat(Text(zh="邮箱:", en="Email: "), source.contact)),
        Fact("contact.address", cat(Text(zh="地址:", en="Address: "), address)),
        *_appointee("dpo", Text(zh="个人信息保护负责人:", en="Data protection officer: "), source),
        *_appointee("eu_representative", Text(zh="欧盟代表:", en="EU representative: "), source),
    ]
    sla = source.inventory.sla_working_days
    return [
        _h("h2", "9", Text(zh="9. 联系我们", en="9. Contact")),
        _p(
            "9",
            "9.intro",
            Text(
                zh="如您对本隐私政策有任何疑问、建议,或希望行使您的权利,请通过以下方式与我们联系:",
                en="If you have any questions or suggestions about this policy, or wish to "
                "exercise your rights, contact us:",
            ),
        ),
        _ul("9", items),
        _p(
            "9",
            "9.sla",
            Text(
                zh=f"我们将在收到请求后 {sla} 个工作日内予以回复和处理。",
                en=f"We respond within {sla} business days.",
            ),
        ),
    ]


def all_facts(blocks: Iterable[Block]) -> list[Fact]:
    return [fact for block in blocks for fact in block.facts]
