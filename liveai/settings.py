"""The one list of knobs: `LIVEAI_*` environment variables over an optional TOML file.

Precedence, highest first: keyword arguments, environment, the TOML file, defaults.
The TOML file is `LIVEAI_CONFIG`, or `liveai.toml` in the user config folder; its keys
are the field names below (``database_url = "..."``). The remote vendors' credentials are
settings too, read the same ways, but each vendor declares its own in its module's SPEC
(`providers/spec.py`), so they are not fields here: `Settings.credential` gives one.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import platformdirs
from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from liveai.dburl import masked_url
from liveai.errors import ConfigError

APP_NAME = "liveai"
ENV_PREFIX = "LIVEAI_"
# Read by the CLI or the tests, not by a setting (LIVEAI_DEBUG by `liveai_cli.app`, which
# must work when the settings themselves are what failed).
OTHER_VARIABLES = frozenset({"LIVEAI_CONFIG", "LIVEAI_DEBUG"})
OTHER_PREFIXES = ("LIVEAI_TEST_", "LIVEAI_REQUIRE_")


def default_config_path() -> Path:
    explicit = os.environ.get("LIVEAI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME)) / "liveai.toml"


def default_home() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEAI_", extra="forbid", frozen=True)

    # --- core ---
    home: Path = Field(default_factory=default_home, description="Data folder")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL")
    environment: Literal["production", "staging", "development"] = "production"

    # --- storage ---
    storage: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None

    # --- retention (the privacy policy's promises; the inventory must agree) ---
    upload_retention_days: int = Field(default=30, ge=1)
    log_retention_days: int = Field(default=30, ge=1)
    policy_facts_file: Path | None = Field(
        default=None, description="Operator facts TOML for the policy (see the shipped example)"
    )
    nginx_log_format: str = Field(
        default='$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent"',
        description="The access logs' nginx log_format (default: combined)",
    )

    # --- providers ---
    provider_order: str = "kling,ark,wan,fal"
    allow_overseas: bool = False

    # --- purchases (App Store) ---
    apple_bundle_id: str | None = Field(default=None, description="The app's bundle id")
    apple_products: dict[str, int] = Field(
        default_factory=dict, description="App Store product id -> credits per pack"
    )
    apple_shared_secret: SecretStr | None = None
    apple_verify_receipt_url: str = "https://buy.itunes.apple.com/verifyReceipt"
    apple_verify_receipt_sandbox_url: str = "https://sandbox.itunes.apple.com/verifyReceipt"
    apple_allow_sandbox: bool = False
    apple_root_ca: Path | None = Field(
        default=None, description="PEM trust anchor; default: the bundled Apple Root CA - G3"
    )
    apple_app_apple_id: int | None = None
    apple_api_url: str = "https://api.storekit.apple.com"
    apple_api_sandbox_url: str = "https://api.storekit-sandbox.apple.com"
    apple_api_key_id: str | None = None
    apple_api_issuer_id: str | None = None
    apple_api_private_key: SecretStr | None = Field(
        default=None, description="In-App Purchase key: PEM text or the path of the .p8 file"
    )

    # --- remote providers (Kling, Ark, Wan, fal) ---
    # A base URL or model left unset is the vendor's default, which its module's SPEC holds.
    # The SPEC also declares its credentials, which `credential` gives (not fields).
    kling_base_url: str | None = None
    kling_model: str | None = None
    kling_mode: Literal["std", "pro"] = "std"
    ark_base_url: str | None = None
    ark_model: str | None = None
    wan_base_url: str | None = None
    wan_model: str | None = None
    fal_base_url: str | None = None
    fal_model: str | None = None
    provider_http_timeout_s: float = Field(default=30.0, gt=0)
    provider_retries: int = Field(default=3, ge=0, description="Retries of a transient error")
    provider_retry_base_s: float = Field(default=1.0, ge=0, description="First backoff delay")
    provider_max_concurrency: int = Field(default=4, ge=1, description="In-flight calls each")
    blocked_terms: str = Field(default="", description="Comma-separated, zh and en")
    qwen_vl_model: str | None = None

    # --- intake and object storage ---
    intake_max_bytes: int = Field(default=30_000_000, ge=1, description="Largest photo file")
    intake_min_side: int = Field(default=300, ge=1, description="Shortest side, pixels")
    intake_max_ratio: float = Field(default=2.5, ge=1.0, description="Longest:shortest side")
    intake_max_pixels: int = Field(default=64_000_000, ge=1, description="Decoded pixel cap")
    intake_max_output_side: int = Field(default=4096, ge=300, description="Normalised JPEG")
    intake_max_decode_bytes: int = Field(
        default=256_000_000, ge=1, description="Memory a photo may take decoded"
    )
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = Field(default=None, description="e.g. Tencent COS endpoint")
    s3_region: str | None = None
    s3_addressing_style: Literal["auto", "virtual", "path"] = "auto"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_timeout_seconds: float = Field(default=30.0, gt=0)
    s3_max_attempts: int = Field(default=4, ge=1)

    # --- push (APNs; the topic is apple_bundle_id) ---
    apns_key_file: Path | None = Field(default=None, description="APNs .p8 signing key (P-256)")
    apns_key_id: str | None = Field(default=None, description="10-character APNs key id")
    apns_team_id: str | None = Field(default=None, description="10-character Apple team id")
    apns_base_url: str | None = Field(
        default=None, description="Override Apple's host (default: by the device's environment)"
    )
    apns_ca_file: Path | None = Field(default=None, description="Extra trusted CA bundle (PEM)")
    apns_timeout_seconds: float = Field(default=5.0, gt=0)
    apns_retries: int = Field(default=2, ge=0, le=5)

    # --- identity (Logto access tokens, Sign in with Apple) ---
    logto_issuer: str | None = Field(default=None, description="e.g. https://auth.example/oidc")
    logto_audience: str | None = Field(default=None, description="Our API resource indicator")
    logto_algorithms: str = Field(default="ES384", description="Comma-separated, pinned")
    logto_client_ids: str = Field(
        default="", description="Comma-separated app ids allowed as a token's client_id/azp"
    )
    logto_m2m_app_id: str | None = Field(default=None, description="Management API M2M app")
    logto_m2m_app_secret: SecretStr | None = None
    logto_management_resource: str = "https://default.logto.app/api"
    apple_jwks_url: str = "https://appleid.apple.com/auth/keys"
    apple_audiences: str = Field(default="", description="Comma-separated bundle/services ids")
    siwa_url: str = Field(default="https://appleid.apple.com", description="/auth/token, revoke")
    siwa_team_id: str | None = None
    siwa_key_id: str | None = Field(default=None, description="Sign in with Apple key id")
    siwa_client_id: str | None = Field(default=None, description="Default: first audience")
    siwa_private_key: SecretStr | None = Field(
        default=None, description="Sign in with Apple key: PEM text or the path of the .p8 file"
    )
    siwa_token_keys: SecretStr | None = Field(
        default=None, description="Fernet keys, comma-separated; the first encrypts"
    )
    auth_leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwks_refresh_seconds: int = Field(default=3600, ge=1, description="Refetch key sets after")
    jwks_max_age_seconds: int = Field(default=86400, ge=1, description="Cached keys usable for")
    jwks_refetch_seconds: int = Field(default=60, ge=0, description="Min gap between fetches")
    identity_http_timeout_s: float = Field(default=10.0, gt=0)

    # --- generation (tasks, local renderer, developer user) ---
    generation_prices: dict[str, dict[int, int]] = Field(
        # The local renderer also offers Live-Photo-length clips (3 s).
        default_factory=lambda: {"default": {5: 10, 10: 20}, "local": {3: 6, 5: 10, 10: 20}},
        description="Credits per provider and duration in seconds; 'default' for the rest",
    )
    generation_default_duration_s: int = Field(default=5, ge=1)
    generation_poll_interval_s: float = Field(default=2.0, gt=0, description="First poll delay")
    generation_poll_backoff: float = Field(default=1.5, ge=1.0, description="Delay multiplier")
    generation_poll_max_interval_s: float = Field(default=30.0, gt=0)
    generation_poll_timeout_s: int = Field(default=1800, ge=1, description="Submit to done")
    generation_hold_timeout_s: int = Field(
        default=21600, ge=60, description="A never-resumed task's credits return after this"
    )
    generation_lease_s: int = Field(default=120, ge=5, description="A worker's claim on a task")
    generation_image_url_expiry_s: int = Field(default=3600, ge=60)
    render_max_side: int = Field(default=1280, ge=64, description="Local renderer cap, px")
    default_user: str = Field(default="developer", description="Subject of the local dev user")
    dev_grant_credits: int = Field(
        default=100, ge=0, description="One-time grant to the dev user when embedded"
    )

    # --- request register (deadlines) ---
    deadline_timezone: str = Field(
        default="Asia/Shanghai", description="Zone request days are counted and shown in"
    )
    calendar_file: Path | None = Field(
        default=None, description="Your own working-day calendar TOML, replacing the packaged one"
    )

    # --- result downloads ---
    download_max_bytes: int = Field(
        default=100_000_000,
        ge=1,
        description="Largest result video; the longest (15 s of 1080p) is well under this",
    )

    # --- the worker as a service (outages, retries, downloads) ---
    worker_db_give_up_s: float = Field(
        default=300.0, gt=0, description="A worker exits 1 after the database is down this long"
    )
    worker_task_retries: int = Field(
        default=3, ge=0, description="Retries of a task that raised, then it fails"
    )
    worker_retry_base_s: float = Field(
        default=10.0, ge=0, description="First wait before retrying a task that raised"
    )
    download_retries: int = Field(
        default=3, ge=0, description="Retries of a failed result download, then the task fails"
    )

    # --- audit chain ---
    audit_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of the audit chain (32+ chars); default: LIVEAI_HOME/audit.key",
    )
    db_app_role: str | None = Field(
        default=None,
        description="PostgreSQL role the app connects as, when migrations run as the owner: "
        "it may append to the audit log but not rewrite it",
    )

    _credentials: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _read_credentials(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """Take the vendors' credentials out of the input; the fields get the rest, so a
        name neither a field nor a credential is refused as before."""
        if not isinstance(data, dict) or set(data) <= set(cls.model_fields):
            return handler(data)
        declared = declared_credentials()
        given = {name: data[name] for name in data if name in declared}
        settings = handler({name: v for name, v in data.items() if name not in given})
        settings._credentials = _secrets(given)
        return settings

    def credential(self, name: str) -> str:
        """The plain text of the vendor credential ``name``, or "" when it is unset."""
        value = self._credentials.get(name)
        return value.get_secret_value() if value is not None else ""

    @property
    def credentials(self) -> Mapping[str, SecretStr]:
        """The vendor credentials that are set (to anything, "" included), by name."""
        return MappingProxyType(self._credentials)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=default_config_path())
        return (init_settings, env_settings, CredentialVariables(settings_cls), toml)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'liveai.db'}"

    @property
    def resolved_storage_dir(self) -> Path:
        return self.storage_dir or self.home / "storage"

    @property
    def providers_in_order(self) -> list[str]:
        return [name.strip() for name in self.provider_order.split(",") if name.strip()]

    @property
    def is_embedded(self) -> bool:
        return self.database_url is None

    def masked(self) -> dict[str, Any]:
        """Every setting as plain JSON-able values, secrets replaced by asterisks."""
        shown: dict[str, Any] = {}
        for name, value in self:
            if isinstance(value, SecretStr):
                shown[name] = _masked(value)
            elif isinstance(value, Path):
                shown[name] = str(value)
            elif name == "database_url" and value:
                shown[name] = _mask_url_password(value)
            else:
                shown[name] = value
        shown.update({name: _masked(value) for name, value in self._credentials.items()})
        shown["resolved_database_url"] = _mask_url_password(self.resolved_database_url)
        shown["resolved_storage_dir"] = str(self.resolved_storage_dir)
        return shown


class CredentialVariables(PydanticBaseSettingsSource):
    """The `LIVEAI_*` variables that hold a vendor's credentials (no field reads them)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        variables = beyond_fields(os.environ)
        if not variables:
            return {}
        declared = declared_credentials()
        return {
            name: os.environ[variable]
            for variable in variables
            if (name := variable.upper().removeprefix(ENV_PREFIX).lower()) in declared
        }


def env_name(name: str) -> str:
    return f"{ENV_PREFIX}{name.upper()}"


def beyond_fields(environ: Mapping[str, str]) -> list[str]:
    """The `LIVEAI_*` variables, sorted, that no field reads and neither the CLI nor the
    tests do: each a vendor's credential, or a typo."""
    fields = {env_name(name) for name in Settings.model_fields} | OTHER_VARIABLES
    return [
        variable
        for variable in sorted(environ)
        if (upper := variable.upper()).startswith(ENV_PREFIX)
        and upper not in fields
        and not upper.startswith(OTHER_PREFIXES)
    ]


def declared_credentials() -> frozenset[str]:
    """Every vendor credential's name."""
    # Imported here, and only when a setting names something no field reads: every command
    # reads the settings, and most need not pay for loading the vendor modules.
    from liveai.providers.vendors import credentials

    return frozenset(credential.name for credential in credentials())


def _secrets(given: Mapping[str, Any]) -> dict[str, SecretStr]:
    """The credentials as secrets (so no repr shows one), each checked to be text."""
    wrong = [name for name, value in given.items() if not isinstance(value, str | SecretStr)]
    if wrong:
        errors: list[InitErrorDetails] = [
            {"type": "string_type", "loc": (name,), "input": given[name]} for name in wrong
        ]
        raise ValidationError.from_exception_data(Settings.__name__, errors)
    return {
        name: value if isinstance(value, SecretStr) else SecretStr(value)
        for name, value in given.items()
    }


def _masked(value: SecretStr) -> str:
    return "********" if value.get_secret_value() else ""


def _mask_url_password(url: str) -> str:
    return masked_url(url)


def _check_explicit_config(path: Path) -> None:
    """A LIVEAI_CONFIG that names nothing usable is an error, never a silent default."""
    if not os.environ.get("LIVEAI_CONFIG"):
        return
    if path.is_dir():
        raise ConfigError(
            f"LIVEAI_CONFIG names the folder {path}, not a file",
            hint="point it at a liveai.toml file (`liveai config init` writes one)",
        )
    if not path.exists():
        raise ConfigError(
            f"LIVEAI_CONFIG names {path}, which does not exist",
            hint="create it with `liveai config init`, or unset LIVEAI_CONFIG",
        )


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning every way they can be wrong into one ConfigError."""
    path = default_config_path()
    _check_explicit_config(path)
    try:
        return _usable(Settings(**overrides))
    except UnicodeDecodeError:
        raise ConfigError(
            f"the config file {path} is not UTF-8 text",
            hint="save it as UTF-8, or point LIVEAI_CONFIG at another one",
        ) from None
    except SettingsError as exc:  # a value that is not even the right shape (JSON)
        raise ConfigError(
            f"invalid settings: {exc}", hint=f"check the LIVEAI_* environment variables and {path}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"the config file {path} is not valid TOML: {exc}",
            hint="fix the file, or point LIVEAI_CONFIG at another one",
        ) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(
            f"invalid settings: {problems}",
            hint=f"check the LIVEAI_* environment variables and {path}",
        ) from None


def _usable(settings: Settings) -> Settings:
    """Refuse settings that parse but cannot work: a data folder that is a file."""
    if settings.home.exists() and not settings.home.is_dir():
        raise ConfigError(
            f"LIVEAI_HOME {settings.home} is a file, not a folder",
            hint="point LIVEAI_HOME at a folder (it is made if missing)",
        )
    return settings
