"""The data inventory's schema: the typed, frozen shapes its facts take.

The facts themselves (the categories, recipients, tables and texts the privacy policy
states) are `liveai.privacy.inventory`; this module holds only their types, so that
what reads the inventory (the policy, lint, the vendor gate) can name them without
loading the facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ErasureAction = Literal["delete", "pseudonymise", "retain"]
RetentionKind = Literal["days", "account", "until_deleted", "legal"]
Region = Literal["mainland_china", "overseas"]
Role = Literal["processor", "independent"]
"""A processor (受托人) handles data only on our instructions; an independent handler
(PIPL art. 23 "其他个人信息处理者", a controller of its own) decides for itself."""


@dataclass(frozen=True)
class Text:
    """One statement in both languages."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class LegalBasis:
    pipl: str
    """The PIPL art. 13 paragraph, e.g. "13(1)(2)" (necessary for a contract)."""
    gdpr: str
    """The GDPR art. 6 point, e.g. "6(1)(b)"."""


@dataclass(frozen=True)
class Retention:
    kind: RetentionKind
    days: int | None = None
    setting: str | None = None
    """The Settings field the retention sweep reads; it must equal ``days``."""
    text: Text | None = None
    years: str | None = None
    """For a legal retention: the operator fact (``retention.<years>``) giving its length
    in years, which `liveai retention records` enforces."""


@dataclass(frozen=True)
class Erasure:
    action: ErasureAction
    reason: Text | None = None
    """Required unless the action is "delete": the legal reason for keeping anything."""


@dataclass(frozen=True)
class AppleDisclosure:
    """One row of the App Store Connect privacy questionnaire."""

    data_type: str
    """The PrivacyInfo.xcprivacy key, e.g. NSPrivacyCollectedDataTypeUserID."""
    purposes: tuple[str, ...]
    linked: bool
    tracking: bool = False
    note: str | None = None


@dataclass(frozen=True)
class Category:
    key: str
    name: Text
    section: str
    """The policy subsection (1.1 .. 1.4) that discloses it."""
    purpose: Text
    legal_basis: LegalBasis | None
    stored_in: tuple[str, ...]
    retention: Retention
    recipients: tuple[str, ...]
    exported: bool
    erasure: Erasure
    apple: AppleDisclosure | None
    sensitive: bool = False
    subjects: tuple[str, ...] = ("users",)
    """Whose data it is: "users", "people_in_photos" (anyone an upload shows), "requesters"."""
    sensitive_notice: Text | None = None
    """PIPL art. 30: why the sensitive data is necessary and how it affects the person."""


@dataclass(frozen=True)
class Disclosure:
    """A subsection of policy §1: the prose the user reads about a group of categories."""

    number: str
    title: Text
    purpose: Text
    types: Text
    handling: Text
    note: Text | None = None


@dataclass(frozen=True)
class ThirdParty:
    key: str
    name: Text
    summary: Text
    region: Region
    purpose: Text
    data_received: Text
    policy_url: str | None
    provider: str | None = None
    """The vendor name (a `SPEC.name` in `providers/vendors.py`) when this is a video
    provider: the vendors' gate runs only the vendors some party names here."""
    self_operated: bool = False
    role: Role = "processor"
    categories: tuple[str, ...] = ()
    """The data categories (their keys) this recipient receives."""
    method: Text | None = None
    """How the data reaches the recipient, as the code sends it."""
    moderates: bool = False
    """It checks uploads for compliance before any provider sees them."""
    hosts: bool = False
    """It hosts our servers, database or object storage."""


@dataclass(frozen=True)
class TableRule:
    """How a user-linked table is treated when its user is erased."""

    table: str
    categories: tuple[str, ...]
    exported: bool
    erasure: Erasure


@dataclass(frozen=True)
class Operator:
    name: str
    app_name: str
    api_host: str
    hosting: Text


@dataclass(frozen=True)
class Inventory:
    operator: Operator
    laws: Text
    categories: tuple[Category, ...]
    disclosures: tuple[Disclosure, ...]
    not_collected: tuple[Text, ...]
    third_parties: tuple[ThirdParty, ...]
    tables: tuple[TableRule, ...]
    min_age: int
    child_age: int
    sla_working_days: int
    transport: str
    security: tuple[Text, ...] = field(default=())

    def category(self, key: str) -> Category:
        return next(c for c in self.categories if c.key == key)

    def third_party(self, key: str) -> ThirdParty:
        return next(t for t in self.third_parties if t.key == key)

    def table_rule(self, table: str) -> TableRule | None:
        return next((t for t in self.tables if t.table == table), None)

    def recipients_of(self, category: str) -> tuple[ThirdParty, ...]:
        """Every party that receives this category, the hosting provider included."""
        return tuple(t for t in self.third_parties if category in t.categories)

    @property
    def disclosed_providers(self) -> frozenset[str]:
        return frozenset(t.provider for t in self.third_parties if t.provider)
