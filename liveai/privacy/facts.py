"""Operator facts: what only the operator knows, read from one TOML file and never invented.

The inventory holds what the code does; the operator facts file holds what the code
cannot know: the contact address, each recipient's legal name, contact and cross-border
mechanism, the EU representative, the DPO / PIPL art. 52 officer, retention periods set by
law, and the iOS app's required-reason API entries. Its path is the `policy_facts_file`
setting; `liveai/privacy/data/operator_facts.example.toml` documents every key.

A fact that is absent renders as `MISSING` (a bilingual "to be confirmed" marker naming
the key) and `liveai policy lint` reports it as an error.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from liveai.errors import InvalidInput
from liveai.privacy.inventory_types import Inventory

EXAMPLE = Path(__file__).parent / "data" / "operator_facts.example.toml"
MARKER = "[待确认 / to be confirmed: {key}]"
MARKER_PATTERN = re.compile(r"\[待确认 / to be confirmed: ([\w.\-\[\]]+)\]")
_EMAIL = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_URL = re.compile(r"^https://[^\s/$.?#][^\s]*$")

Mechanism = Literal["standard_contract", "certification", "assessment", "exemption"]


def missing(key: str) -> str:
    """The visible marker for a fact the operator has not given."""
    return MARKER.format(key=key)


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"{value!r} is not an https:// URL")
    return value


def _contact(value: str) -> str:
    if not (_EMAIL.match(value) or _URL.match(value)):
        raise ValueError(f"{value!r} is neither an e-mail address nor an https:// URL")
    return value


Email = Annotated[str, AfterValidator(_email)]
Url = Annotated[str, AfterValidator(_url)]
Contact = Annotated[str, AfterValidator(_contact)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class OperatorContact(_Strict):
    contact_email: Email | None = None
    address: str | None = None


class Appointee(_Strict):
    """The EU representative (GDPR art. 27) or the DPO / PIPL art. 52 officer."""

    appointed: bool
    name: str | None = None
    contact: Contact | None = None
    reason: str | None = None
    """Why none is appointed (required when ``appointed`` is false)."""

    @model_validator(mode="after")
    def _complete(self) -> Appointee:
        if self.appointed and not (self.name and self.contact):
            raise ValueError("appointed = true needs name and contact")
        if not self.appointed and not self.reason:
            raise ValueError("appointed = false needs a reason")
        return self


class RetentionFacts(_Strict):
    accounting_years: int | None = None
    """How long accounting and tax law keeps ledger and purchase records."""
    request_records_years: int | None = None
    """How long request and consent records are kept as proof."""
    transfer_records_years: int | None = None
    """How long an erased account's records of who received its data are kept."""

    @model_validator(mode="after")
    def _positive(self) -> RetentionFacts:
        for name in ("accounting_years", "request_records_years", "transfer_records_years"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        return self


class RequiredReasonApi(_Strict):
    category: str
    reasons: list[str]

    @model_validator(mode="after")
    def _shape(self) -> RequiredReasonApi:
        if not self.category.startswith("NSPrivacyAccessedAPICategory"):
            raise ValueError(f"{self.category!r} is not an NSPrivacyAccessedAPICategory… key")
        if not self.reasons:
            raise ValueError("reasons must name at least one approved reason code")
        return self


class AppFacts(_Strict):
    in_app_account_deletion: bool | None = None
    """The iOS app lets a signed-in user start account deletion (App Store 5.1.1(v))."""
    required_reason_apis: list[RequiredReasonApi] | None = None
    client_sdks: list[str] | None = None


class RecipientFacts(_Strict):
    legal_name: str | None = None
    contact: Contact | None = None
    policy_url: Url | None = None
    transfer_mechanism: Mechanism | None = None
    """PIPL art. 38: how an overseas transfer is lawful."""
    exemption: str | None = None
    """The exemption relied on, when the mechanism is "exemption"."""
    gdpr_safeguard: str | None = None
    """GDPR arts. 44-49: the safeguard or derogation for EU users' data."""

    @model_validator(mode="after")
    def _exemption(self) -> RecipientFacts:
        if self.transfer_mechanism == "exemption" and not self.exemption:
            raise ValueError('transfer_mechanism = "exemption" needs exemption (which one)')
        return self


class OperatorFacts(_Strict):
    operator: OperatorContact = OperatorContact()
    eu_representative: Appointee | None = None
    dpo: Appointee | None = None
    retention: RetentionFacts = RetentionFacts()
    app: AppFacts = AppFacts()
    recipients: dict[str, RecipientFacts] = {}

    def recipient(self, key: str) -> RecipientFacts:
        return self.recipients.get(key, RecipientFacts())


EMPTY = OperatorFacts()


def _key(loc: tuple[int | str, ...]) -> str:
    # Pydantic adds the validator's name for annotated and union types; the TOML key is the rest.
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "str", "int", "bool"))]
    return ".".join(parts) or "(top level)"


def parse_facts(data: dict[str, Any], inventory: Inventory, source: str) -> OperatorFacts:
    """Validate facts already read from TOML; one InvalidInput naming the first bad key."""
    try:
        facts = OperatorFacts.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidInput(
            f"{source}: {_key(first['loc'])}: {message}",
            hint=f"see the documented example {EXAMPLE.name}",
        ) from None
    known = {t.key: t for t in inventory.third_parties}
    for key, given in facts.recipients.items():
        party = known.get(key)
        if party is None:
            raise InvalidInput(
                f"{source}: recipients.{key}: not a recipient in the inventory",
                hint="use one of " + ", ".join(sorted(known)),
            )
        if party.region == "overseas" and given.transfer_mechanism is None:
            raise InvalidInput(
                f"{source}: recipients.{key}.transfer_mechanism: missing for an overseas recipient",
                hint="standard_contract, certification, assessment or exemption (PIPL art. 38)",
            )
    return facts


def load_facts(path: Path | None, inventory: Inventory) -> OperatorFacts:
    """The operator facts at ``path``; none given means none known (every fact missing)."""
    if path is None:
        return EMPTY
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(
            f"{path}: cannot read the operator facts file: {exc.strerror}",
            hint="set policy_facts_file to an existing file",
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}", hint="fix the syntax") from None
    return parse_facts(data, inventory, str(path))


def facts_json(facts: OperatorFacts) -> dict[str, Any]:
    """The facts as plain JSON (for the version hash and the published record)."""
    return facts.model_dump(mode="json", exclude_none=True)
