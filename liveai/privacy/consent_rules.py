"""Which separate consents a processing step needs, derived from the data inventory.

PIPL asks for a separate consent (单独同意) before personal information goes to an
independent handler (art. 23), before sensitive information is processed (art. 29) and
before it leaves the country (art. 39); the deep-synthesis rules ask for the edited
person's consent to face editing. So a step's needs follow from facts the inventory
already holds: the recipient's role, its region and the categories it receives, and
whether those categories are sensitive. Nothing here is a hand-kept list of consents.

Policy acceptance depends on the user (which version they accepted), so it is derived in
`consents`, from the facts each published version recorded, with the one classification
of material changes `policy diff` uses (`liveai.privacy.changes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from liveai.errors import InvalidInput
from liveai.privacy.inventory import DEFAULT_INVENTORY
from liveai.privacy.inventory_types import Inventory, Text, ThirdParty

POLICY = "policy"
PROVIDE = "provide"
CROSS_BORDER = "cross_border"
SENSITIVE = "sensitive"
FACE_EDITING = "face_editing"
CONSUMPTION_DATA = "consumption_data"

ASKED_BECAUSE = {
    FACE_EDITING: "a photo of a person is edited (deep-synthesis rules)",
    CONSUMPTION_DATA: "Apple takes consumption data only with the customer's consent",
}

KINDS = (POLICY, PROVIDE, CROSS_BORDER, SENSITIVE, FACE_EDITING, CONSUMPTION_DATA)
RECIPIENT_SCOPED = frozenset({PROVIDE, CROSS_BORDER})
LOCAL = "local"


@dataclass(frozen=True, order=True)
class Need:
    """One consent a step needs: a kind, scoped to a recipient or category where it says
    so, and why (for messages; not part of its identity)."""

    kind: str
    scope: str | None = None
    reason: str = field(default="", compare=False)

    @property
    def name(self) -> str:
        return self.kind if self.scope is None else f"{self.kind}:{self.scope}"


@dataclass(frozen=True)
class Purpose:
    """A processing step where data leaves our hands (or a photo of a person is edited)."""

    key: str
    categories: tuple[str, ...]
    """The categories the step uses."""
    asks: tuple[str, ...]
    """Kinds the step needs whoever carries it out."""
    description: str
    title: Text
    """What the step is for, as the policy names it."""


PURPOSES = (
    Purpose(
        "generation",
        ("photos", "prompts"),
        (FACE_EDITING,),
        "turn the user's photo of a person into a video",
        Text(zh="生成视频", en="video generation"),
    ),
    Purpose(
        "moderation",
        ("photos",),
        (),
        "check the photo before it is sent for generation",
        Text(zh="内容审核", en="content moderation"),
    ),
    Purpose(
        "consumption",
        ("iap_receipts",),
        (CONSUMPTION_DATA,),
        "answer Apple's consumption request about a refunded purchase",
        Text(zh="回应 Apple 关于退款的消费数据询问", en="answering Apple's consumption request"),
    ),
)


def purpose(key: str) -> Purpose:
    found = next((p for p in PURPOSES if p.key == key), None)
    if found is None:
        names = ", ".join(p.key for p in PURPOSES)
        raise InvalidInput(f"unknown purpose {key!r}", hint=f"pick one of: {names}")
    return found


def recipient(name: str, inventory: Inventory = DEFAULT_INVENTORY) -> ThirdParty | None:
    """The inventory's recipient by its key or by the provider name it runs under."""
    return next(
        (t for t in inventory.third_parties if name in (t.key, t.provider)),
        None,
    )


def required_consents(
    purpose_key: str,
    recipient_name: str | None,
    inventory: Inventory = DEFAULT_INVENTORY,
    *,
    region: str | None = None,
) -> list[Need]:
    """What a step of ``purpose_key`` needs when ``recipient_name`` receives the data (None
    or "local": nobody, we process it ourselves), policy acceptance aside.

    ``region`` is where the recipient actually is when that differs by configuration (a
    Kling account on the global endpoint): overseas in either place means cross-border. A
    recipient the inventory does not disclose (only test doubles are) counts as a
    processor in the region it reports.
    """
    step = purpose(purpose_key)
    remote = recipient_name not in (None, LOCAL)
    party = recipient(recipient_name, inventory) if recipient_name and remote else None
    received = _received(step, party)
    needs = [Need(kind, reason=ASKED_BECAUSE[kind]) for kind in step.asks]
    needs += [
        Need(SENSITIVE, key, f"{key} is sensitive personal information (PIPL art. 29)")
        for key in received
        if _sensitive(inventory, key)
    ]
    if remote and received:
        scope = party.key if party else str(recipient_name)
        if party is not None and party.role == "independent":
            needs.append(Need(PROVIDE, scope, f"{scope} is an independent handler (PIPL art. 23)"))
        if "overseas" in (region, party.region if party else None):
            needs.append(Need(CROSS_BORDER, scope, f"{scope} is overseas (PIPL art. 39)"))
    return sorted(needs)


def _received(step: Purpose, party: ThirdParty | None) -> tuple[str, ...]:
    if party is None:
        return step.categories
    return tuple(c for c in step.categories if c in party.categories)


def _sensitive(inventory: Inventory, key: str) -> bool:
    return any(c.key == key and c.sensitive for c in inventory.categories)


def recipients_of(step: Purpose, inventory: Inventory = DEFAULT_INVENTORY) -> list[ThirdParty]:
    """The inventory's recipients that carry the step out: a video provider generates, the
    moderator moderates, any other recipient of the step's categories for the rest. The
    host stores everything but carries out no step."""
    return [
        t
        for t in inventory.third_parties
        if not t.hosts and set(t.categories) & set(step.categories) and _serves(step, t)
    ]


def step_recipients(step: Purpose, inventory: Inventory = DEFAULT_INVENTORY) -> list[str]:
    """Who may carry the step out, by name: its recipients, and for a generation also the
    local renderer (ourselves)."""
    names = [t.key for t in recipients_of(step, inventory)]
    return [*names, LOCAL] if step.key == "generation" else names


def _serves(step: Purpose, party: ThirdParty) -> bool:
    if step.key == "generation":
        return party.provider is not None
    if step.key == "moderation":
        return party.moderates
    return True


def every_need(inventory: Inventory = DEFAULT_INVENTORY) -> dict[Need, list[Purpose]]:
    """Every consent the system requires anywhere, with the steps that require it: what the
    policy must disclose, and all it may promise."""
    found: dict[Need, list[Purpose]] = {}
    for step in PURPOSES:
        for name in step_recipients(step, inventory):
            for need in required_consents(step.key, name, inventory):
                steps = found.setdefault(Need(need.kind, need.scope), [])
                if step not in steps:
                    steps.append(step)
    return dict(sorted(found.items()))


def requirements_table(inventory: Inventory = DEFAULT_INVENTORY) -> list[dict[str, Any]]:
    """Every purpose and recipient with what it needs: `liveai consents required`."""
    rows = []
    for step in PURPOSES:
        for name in step_recipients(step, inventory):
            party = recipient(name, inventory) if name and name != LOCAL else None
            needs = required_consents(step.key, name, inventory)
            rows.append(
                {
                    "purpose": step.key,
                    "recipient": name,
                    "role": party.role if party else "ourselves",
                    "region": party.region if party else "mainland_china",
                    "needs": [n.name for n in needs],
                    "policy": "when changed materially for this purpose since accepted",
                }
            )
    return rows
