"""What the inventory says, in the shapes Apple asks for: the App Privacy details and the
``PrivacyInfo.xcprivacy`` manifest (its required-reason API entries come from the operator
facts). The record of processing activities and the PIPL lists are in `liveai.privacy.ropa`.
"""

from __future__ import annotations

import plistlib
from typing import Any

from liveai.errors import ConfigError
from liveai.privacy.document import REGION, fill, values
from liveai.privacy.facts import EMPTY, OperatorFacts
from liveai.privacy.inventory_types import Inventory
from liveai.settings import Settings

PREFIX = "NSPrivacyCollectedDataType"
APPLE_TYPES = {
    "Name": ("Contact Info", "Name"),
    "EmailAddress": ("Contact Info", "Email Address"),
    "PhotosorVideos": ("User Content", "Photos or Videos"),
    "OtherUserContent": ("User Content", "Other User Content"),
    "CustomerSupport": ("User Content", "Customer Support"),
    "UserID": ("Identifiers", "User ID"),
    "DeviceID": ("Identifiers", "Device ID"),
    "PurchaseHistory": ("Purchases", "Purchase History"),
    "ProductInteraction": ("Usage Data", "Product Interaction"),
    "CrashData": ("Diagnostics", "Crash Data"),
    "PerformanceData": ("Diagnostics", "Performance Data"),
    "OtherDiagnosticData": ("Diagnostics", "Other Diagnostic Data"),
}
APPLE_PURPOSES = {
    "ThirdPartyAdvertising": "Third-Party Advertising",
    "DeveloperAdvertising": "Developer's Advertising or Marketing",
    "Analytics": "Analytics",
    "ProductPersonalization": "Product Personalization",
    "AppFunctionality": "App Functionality",
    "Other": "Other Purposes",
}


def _short(key: str, prefix: str) -> str:
    return key.removeprefix(prefix)


def _apple_names(key: str) -> tuple[str, str]:
    return APPLE_TYPES.get(_short(key, PREFIX), ("Other Data", _short(key, PREFIX)))


SENSITIVE_NOTE = (
    "{name}: Photos or Videos, not Apple's Sensitive Info (racial or ethnic data, sexual "
    "orientation, pregnancy, disability, religious or political beliefs, trade union "
    "membership, genetic or biometric data): the code derives no biometric data from them. "
    "The inventory marks them sensitive under PIPL art. 28 because they may show faces."
)


def app_privacy(
    inventory: Inventory, settings: Settings | None = None, facts: OperatorFacts = EMPTY
) -> dict[str, Any]:
    """Apple's questionnaire answers: one entry per data type, purposes and flags merged;
    each also names who receives it (and where) and how long it is kept."""
    vals = values(inventory, settings or Settings(), facts)
    merged: dict[str, dict[str, Any]] = {}
    for category in inventory.categories:
        apple = category.apple
        if apple is None:
            continue
        entry = merged.setdefault(
            apple.data_type,
            {
                "linked": False,
                "tracking": False,
                "purposes": set(),
                "categories": [],
                "notes": [],
                "recipients": set(),
                "retention": [],
            },
        )
        entry["linked"] |= apple.linked
        entry["tracking"] |= apple.tracking
        entry["purposes"].update(apple.purposes)
        entry["categories"].append(category.key)
        entry["recipients"].update(
            f"{t.key} ({REGION[t.region].en})" for t in inventory.recipients_of(category.key)
        )
        if category.retention.text:
            kept = fill(category.retention.text, vals).en
            entry["retention"].append(f"{category.key}: {kept}")
        if apple.note:
            entry["notes"].append(apple.note)
        if category.sensitive and apple.data_type.endswith("PhotosorVideos"):
            entry["notes"].append(SENSITIVE_NOTE.format(name=category.name.en))
    data_types = []
    for key in sorted(merged, key=_apple_names):
        entry = merged[key]
        group, label = _apple_names(key)
        purposes = sorted(entry["purposes"])
        data_types.append(
            {
                "key": key,
                "group": group,
                "data_type": label,
                "linked": entry["linked"],
                "tracking": entry["tracking"],
                "purposes": [
                    APPLE_PURPOSES.get(_short(p, f"{PREFIX}Purpose"), p) for p in purposes
                ],
                "purpose_keys": purposes,
                "categories": entry["categories"],
                "notes": entry["notes"],
                "recipients": sorted(entry["recipients"]),
                "retention": entry["retention"],
            }
        )
    return {
        "tracking": any(d["tracking"] for d in data_types),
        "tracking_domains": [],
        "data_types": data_types,
        # Apple's answers must cover the SDKs in the app; None: the operator has not said.
        "client_sdks": facts.app.client_sdks,
    }


def xcprivacy(
    inventory: Inventory, facts: OperatorFacts = EMPTY, facts_file: str | None = None
) -> str:
    """A PrivacyInfo.xcprivacy property list: the collected data types from the inventory,
    the required-reason API entries from the operator facts (refused when they are absent:
    App Store Connect rejects an upload without them, ITMS-91053)."""
    apis = facts.app.required_reason_apis
    if apis is None:
        where = facts_file or "the operator facts file (setting policy_facts_file)"
        raise ConfigError(
            "NSPrivacyAccessedAPITypes are unknown: the operator facts give no "
            "app.required_reason_apis",
            hint=f"list them in {where}, or an empty list if the app uses none",
        )
    label = app_privacy(inventory)
    document = {
        "NSPrivacyAccessedAPITypes": [
            {
                "NSPrivacyAccessedAPIType": api.category,
                "NSPrivacyAccessedAPITypeReasons": list(api.reasons),
            }
            for api in apis
        ],
        "NSPrivacyTracking": label["tracking"],
        "NSPrivacyTrackingDomains": label["tracking_domains"],
        "NSPrivacyCollectedDataTypes": [
            {
                "NSPrivacyCollectedDataType": d["key"],
                "NSPrivacyCollectedDataTypeLinked": d["linked"],
                "NSPrivacyCollectedDataTypeTracking": d["tracking"],
                "NSPrivacyCollectedDataTypePurposes": d["purpose_keys"],
            }
            for d in label["data_types"]
        ],
    }
    return plistlib.dumps(document, sort_keys=True).decode()
