"""What the inventory says, in the shapes others ask for: Apple's App Privacy details (and
the ``PrivacyInfo.xcprivacy`` fragment), and the record of processing activities (GDPR
art. 30 (a) to (g), with the PIPL art. 17, 23 and 39 disclosures)."""

from __future__ import annotations

import plistlib
from typing import Any

from liveai.privacy.inventory import Category, Inventory, Text
from liveai.privacy.policy import en_date, fill, values
from liveai.settings import Settings

PREFIX = "NSPrivacyCollectedDataType"
APPLE_TYPES = {
    "Name": ("Contact Info", "Name"),
    "EmailAddress": ("Contact Info", "Email Address"),
    "PhotosorVideos": ("User Content", "Photos or Videos"),
    "OtherUserContent": ("User Content", "Other User Content"),
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


def app_privacy(inventory: Inventory) -> dict[str, Any]:
    """Apple's questionnaire answers: one entry per data type, purposes and flags merged."""
    merged: dict[str, dict[str, Any]] = {}
    for category in inventory.categories:
        apple = category.apple
        if apple is None:
            continue
        entry = merged.setdefault(
            apple.data_type,
            {"linked": False, "tracking": False, "purposes": set(), "categories": [], "notes": []},
        )
        entry["linked"] |= apple.linked
        entry["tracking"] |= apple.tracking
        entry["purposes"].update(apple.purposes)
        entry["categories"].append(category.key)
        if apple.note:
            entry["notes"].append(apple.note)
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
            }
        )
    return {
        "tracking": any(d["tracking"] for d in data_types),
        "tracking_domains": [],
        "data_types": data_types,
    }


def xcprivacy(inventory: Inventory) -> str:
    """A PrivacyInfo.xcprivacy property list for the app's collected data types."""
    label = app_privacy(inventory)
    document = {
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


def _text(text: Text | None, vals: dict[str, Any]) -> dict[str, str] | None:
    if text is None:
        return None
    return {"zh": fill(text.zh, vals), "en": fill(text.en, vals)}


def _retention(category: Category, settings: Settings, vals: dict[str, Any]) -> dict[str, Any]:
    retention = category.retention
    days = getattr(settings, retention.setting) if retention.setting else retention.days
    return {"kind": retention.kind, "days": days, "text": _text(retention.text, vals)}


def ropa(inventory: Inventory, settings: Settings) -> dict[str, Any]:
    """The record of processing activities, one activity per data category."""
    vals = values(inventory, settings)
    operator = inventory.operator
    parties = {t.key: t for t in inventory.third_parties}
    activities = []
    for category in inventory.categories:
        recipients = [parties[key] for key in category.recipients if key in parties]
        basis = category.legal_basis
        activities.append(
            {
                "category": category.key,
                "name": _text(category.name, vals),
                "purpose": _text(category.purpose, vals),
                "legal_basis": {"pipl": basis.pipl, "gdpr": basis.gdpr} if basis else None,
                "data_subjects": f"app users aged {inventory.min_age}+",
                "sensitive": category.sensitive,
                "stored_in": list(category.stored_in),
                "recipients": [t.key for t in recipients],
                "transfers": [
                    {"recipient": t.key, "region": t.region, "safeguard": _safeguard(t.pipl39)}
                    for t in recipients
                    if t.region == "overseas"
                ],
                "retention": _retention(category, settings, vals),
                "erasure": {
                    "action": category.erasure.action,
                    "reason": _text(category.erasure.reason, vals),
                },
                "exported": category.exported,
            }
        )
    return {
        "controller": {
            "name": operator.name,
            "app": operator.app_name,
            "contact": operator.contact_email,
            "representative": None,
            "dpo": None,
        },
        "policy_updated": en_date(inventory.updated),
        "activities": activities,
        "recipients": [
            {
                "key": t.key,
                "name": _text(t.name, vals),
                "region": t.region,
                "purpose": _text(t.purpose, vals),
                "data_received": _text(t.data_received, vals),
                "policy_url": t.policy_url,
                "self_operated": t.self_operated,
                "pipl39": _pipl39(t.pipl39, vals),
            }
            for t in inventory.third_parties
        ],
        "security": [_text(text, vals) for text in inventory.security]
        + [{"zh": f"HTTPS({inventory.transport})", "en": f"HTTPS ({inventory.transport})"}],
        "request_sla_working_days": inventory.sla_working_days,
        "minors": {"min_age": inventory.min_age, "child_age": inventory.child_age},
        "not_collected": [_text(t, vals) for t in inventory.not_collected],
    }


def _safeguard(pipl39: Any) -> str:
    if pipl39 is None:
        return "missing: PIPL art. 39 disclosure and separate consent"
    return "separate consent after PIPL art. 39 disclosure"


def _pipl39(pipl39: Any, vals: dict[str, Any]) -> dict[str, Any] | None:
    if pipl39 is None:
        return None
    return {
        "legal_name": pipl39.legal_name,
        "contact": pipl39.contact,
        "method": _text(pipl39.method, vals),
        "rights": _text(pipl39.rights, vals),
    }


def ropa_markdown(inventory: Inventory, settings: Settings) -> str:
    from liveai.privacy.policy import environment

    template = environment("md").get_template("ropa.md.j2")
    return template.render(r=ropa(inventory, settings)).strip() + "\n"
