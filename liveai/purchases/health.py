"""Whether the App Store settings are complete, for `liveai doctor`."""

from __future__ import annotations

from liveai.errors import LiveAIError
from liveai.identity.jwks import require_https
from liveai.purchases.catalog import load_root, missing_settings
from liveai.purchases.server_api import load_private_key
from liveai.settings import Settings

_URL_SETTINGS = (
    "apple_verify_receipt_url",
    "apple_verify_receipt_sandbox_url",
    "apple_api_url",
    "apple_api_sandbox_url",
)


def app_store_status(settings: Settings) -> tuple[bool, str]:
    """(ok, detail); nothing configured is fine: purchases are simply off."""
    if not settings.apple_bundle_id and not settings.apple_products:
        return True, "not configured: set LIVEAI_APPLE_BUNDLE_ID and LIVEAI_APPLE_PRODUCTS"
    missing = missing_settings(settings)
    if missing:
        return False, f"incomplete: {', '.join(missing)} missing"
    try:
        for setting in _URL_SETTINGS:
            require_https(getattr(settings, setting), what=f"LIVEAI_{setting.upper()}")
        root = load_root(settings)
        if settings.apple_api_private_key:
            load_private_key(settings.apple_api_private_key.get_secret_value())
    except LiveAIError as exc:
        return False, str(exc)
    parts = [
        f"{len(settings.apple_products)} products for {settings.apple_bundle_id}",
        f"root {root.subject.rfc4514_string()}",
        "shared secret set" if settings.apple_shared_secret else "no shared secret",
    ]
    api = (settings.apple_api_key_id, settings.apple_api_issuer_id, settings.apple_api_private_key)
    if all(api):
        parts.append("Server API key set")
    elif any(api):
        return False, "Server API partly configured: set key id, issuer id and private key"
    else:
        parts.append("no Server API key (lookup off)")
    return True, "; ".join(parts)
