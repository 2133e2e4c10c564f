"""The App Store settings a purchase needs: bundle id, product catalogue, trust anchor."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

from cryptography import x509

from liveai.errors import ConfigError, InvalidInput
from liveai.settings import Settings

BUNDLED_ROOT = "apple-root-ca-g3.pem"
PRODUCTION = "Production"
SANDBOX = "Sandbox"


@dataclass(frozen=True)
class StoreConfig:
    bundle_id: str
    products: dict[str, int]
    allow_sandbox: bool = False
    app_apple_id: int | None = None
    trusted_root: x509.Certificate | None = field(default=None, compare=False)

    def credits_for(self, product_id: str, quantity: int = 1) -> int:
        """Credits granted for `quantity` packs of a product; refuse unknown products."""
        per_pack = self.products.get(product_id)
        if per_pack is None:
            known = ", ".join(sorted(self.products)) or "none"
            raise InvalidInput(
                f"unknown App Store product {product_id!r} (known: {known})",
                hint="add it to LIVEAI_APPLE_PRODUCTS, or check the app's product ids",
            )
        if quantity < 1:
            raise InvalidInput(f"transaction quantity must be at least 1, got {quantity}")
        return per_pack * quantity

    def check_environment(self, environment: str) -> None:
        """A sandbox purchase is refused unless sandbox purchases are allowed."""
        if environment == PRODUCTION:
            return
        if not self.allow_sandbox:
            raise InvalidInput(
                f"a {environment} App Store purchase is refused in a production deployment",
                hint="set LIVEAI_APPLE_ALLOW_SANDBOX=1 to accept test purchases",
            )

    def root(self) -> x509.Certificate:
        if self.trusted_root is None:
            raise ConfigError("no trusted root certificate for App Store signatures")
        return self.trusted_root


def bundled_root_pem() -> bytes:
    """Apple Root CA - G3 (SHA-256 63343abf...3e9179), shipped with the package."""
    return resources.files("liveai").joinpath("data", BUNDLED_ROOT).read_bytes()


def load_root(settings: Settings) -> x509.Certificate:
    path = settings.apple_root_ca
    try:
        pem = path.read_bytes() if path else bundled_root_pem()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the App Store root certificate {path}: {exc.strerror}",
            hint="point LIVEAI_APPLE_ROOT_CA at a PEM file, or unset it for Apple Root CA - G3",
        ) from None
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise ConfigError(
            f"the App Store root certificate {path or BUNDLED_ROOT} is not a PEM certificate",
            hint="point LIVEAI_APPLE_ROOT_CA at a PEM file",
        ) from None


def store_config(settings: Settings) -> StoreConfig:
    """The App Store configuration, or a ConfigError naming what is missing."""
    missing = missing_settings(settings)
    if missing:
        raise ConfigError(
            f"App Store purchases are not configured: {', '.join(missing)} missing",
            hint="set them in the environment or liveai.toml (see `liveai config show`)",
        )
    assert settings.apple_bundle_id is not None
    allow_sandbox = settings.apple_allow_sandbox or settings.environment != "production"
    return StoreConfig(
        bundle_id=settings.apple_bundle_id,
        products=dict(settings.apple_products),
        allow_sandbox=allow_sandbox,
        app_apple_id=settings.apple_app_apple_id,
        trusted_root=load_root(settings),
    )


def missing_settings(settings: Settings) -> list[str]:
    missing = []
    if not settings.apple_bundle_id:
        missing.append("LIVEAI_APPLE_BUNDLE_ID")
    if not settings.apple_products:
        missing.append("LIVEAI_APPLE_PRODUCTS")
    bad = [p for p, credits in settings.apple_products.items() if credits < 1]
    if bad:
        missing.append(f"positive credits for {', '.join(sorted(bad))}")
    return missing
