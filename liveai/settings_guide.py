"""What each setting means and where its value comes from; the checks around them.

`describe()` gives every setting with its value (secrets masked), its source (default,
file, environment) and a one-line description; `template()` is a commented liveai.toml;
`unknown_variables()` finds `LIVEAI_*` variables no setting reads (typos); `read_env_file()`
parses a dotenv file.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveai.errors import ConfigError, InvalidInput
from liveai.settings import (
    OTHER_VARIABLES,
    Settings,
    beyond_fields,
    declared_credentials,
    default_config_path,
    env_name,
)

if TYPE_CHECKING:  # for types only: the vendor modules load where they are read
    from liveai.providers.spec import Credential

# One line each for the settings whose field declares no description.
DESCRIPTIONS: dict[str, str] = {
    "environment": "production, staging or development",
    "storage": "Where media is kept: local folder or s3",
    "storage_dir": "Local storage folder; default: HOME/storage",
    "upload_retention_days": "Days an uploaded photo is kept",
    "log_retention_days": "Days nginx access logs are kept",
    "provider_order": "Providers tried in turn, comma-separated",
    "allow_overseas": "Allow providers outside mainland China (fal)",
    "apple_shared_secret": "App Store shared secret for verifyReceipt",
    "apple_verify_receipt_url": "Apple verifyReceipt endpoint (production)",
    "apple_verify_receipt_sandbox_url": "Apple verifyReceipt endpoint (sandbox)",
    "apple_allow_sandbox": "Accept sandbox purchases",
    "apple_app_apple_id": "The app's numeric Apple id",
    "apple_api_url": "App Store Server API (production)",
    "apple_api_sandbox_url": "App Store Server API (sandbox)",
    "apple_api_key_id": "In-App Purchase key id",
    "apple_api_issuer_id": "In-App Purchase key issuer id",
    "kling_base_url": "Kling API base URL",
    "kling_model": "Kling model name",
    "kling_mode": "Kling mode: std or pro",
    "ark_base_url": "Volcengine Ark API base URL",
    "ark_model": "Ark (Seedance) model name",
    "wan_base_url": "Alibaba DashScope base URL",
    "wan_model": "Wan model name",
    "fal_base_url": "fal queue base URL",
    "fal_model": "fal model path",
    "provider_http_timeout_s": "Seconds before a provider call times out",
    "qwen_vl_model": "Qwen-VL model for image moderation (optional)",
    "s3_bucket": "S3 bucket name",
    "s3_region": "S3 region",
    "s3_addressing_style": "S3 addressing: auto, virtual or path",
    "s3_access_key_id": "S3 access key id",
    "s3_secret_access_key": "S3 secret access key",
    "s3_timeout_seconds": "Seconds before an S3 call times out",
    "s3_max_attempts": "Attempts per S3 call",
    "apns_timeout_seconds": "Seconds before an APNs call times out",
    "apns_retries": "Retries of a failed APNs call",
    "logto_m2m_app_secret": "Logto Management API M2M app secret",
    "logto_management_resource": "Logto Management API resource indicator",
    "apple_jwks_url": "Sign in with Apple key set URL",
    "siwa_team_id": "Apple team id for Sign in with Apple",
    "auth_leeway_seconds": "Clock skew allowed on token times",
    "identity_http_timeout_s": "Seconds before an identity call times out",
    "generation_default_duration_s": "Video length when none is asked for",
    "generation_poll_max_interval_s": "Longest delay between polls",
    "generation_image_url_expiry_s": "Seconds a photo URL sent to a provider stays valid",
}


DERIVED = {
    "resolved_database_url": "The database in use (database_url, or SQLite under home)",
    "resolved_storage_dir": "The local storage folder in use",
}


@dataclass(frozen=True)
class SettingInfo:
    name: str
    value: Any
    source: str
    description: str
    variable: str


def description(name: str) -> str:
    field = Settings.model_fields[name]
    return field.description or DESCRIPTIONS.get(name, "")


def _file_keys() -> set[str]:
    path = default_config_path()
    if not path.is_file():
        return set()
    try:
        return set(tomllib.loads(path.read_text()))
    except (OSError, tomllib.TOMLDecodeError):
        return set()


def describe(settings: Settings, environ: Mapping[str, str] | None = None) -> list[SettingInfo]:
    """Every setting: value (secrets masked), source and description."""
    env = {k.upper() for k in (os.environ if environ is None else environ)}
    in_file = _file_keys()
    shown = {**settings.masked(), **_vendor_defaults(settings)}
    found = []
    for name, credential in _in_order():
        variable = env_name(name)
        source = "environment" if variable in env else "file" if name in in_file else "default"
        if credential is not None:
            value = _credential_shown(settings, credential)
            found.append(SettingInfo(name, value, source, credential.description, variable))
        else:
            found.append(SettingInfo(name, shown[name], source, description(name), variable))
    for name, text in DERIVED.items():
        found.append(SettingInfo(name, shown[name], "derived", text, ""))
    return found


def _in_order() -> list[tuple[str, Credential | None]]:
    """Every setting's name in the fields' order, each vendor's credentials right after
    its ``<name>_base_url``; a vendor without that setting has them after the others'."""
    # Imported here: every command reads this module, few need the vendor modules.
    from liveai.providers.vendors import VENDORS

    after = {f"{spec.name}_base_url": spec.declared() for spec in VENDORS}
    placed: list[tuple[str, Credential | None]] = []
    for name in Settings.model_fields:
        placed.append((name, None))
        placed.extend((credential.name, credential) for credential in after.pop(name, ()))
    prefixes = tuple(f"{spec.name}_" for spec in VENDORS)
    vendors_last = (i for i, (name, _) in enumerate(placed) if name.startswith(prefixes))
    end = max(vendors_last, default=len(placed) - 1) + 1
    rest = [(credential.name, credential) for group in after.values() for credential in group]
    return [*placed[:end], *rest, *placed[end:]]


def _credential_shown(settings: Settings, credential: Credential) -> str | None:
    """What `config show` says of a credential: None when unset, a secret masked."""
    if credential.name not in settings.credentials:
        return None
    value = settings.credential(credential.name)
    return ("********" if value else "") if credential.secret else value


def _vendor_defaults(settings: Settings) -> dict[str, str]:
    """Each vendor's base URL and model in force: the setting, else its SPEC's default."""
    # Imported here: every command reads this module, few need the vendor modules.
    from liveai.providers.vendors import VENDORS

    found: dict[str, str] = {}
    for spec in VENDORS:
        for name, value in (
            (f"{spec.name}_base_url", spec.base_url_in(settings)),
            (f"{spec.name}_model", spec.model_in(settings)),
        ):
            if name in Settings.model_fields:
                found[name] = value
    return found


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """`LIVEAI_*` variables no setting reads, each with the closest known name (or None)."""
    candidates = beyond_fields(os.environ if environ is None else environ)
    if not candidates:  # decided without loading the vendors
        return []
    known = {env_name(name) for name in [*Settings.model_fields, *declared_credentials()]}
    known |= OTHER_VARIABLES
    unknown = []
    for variable in candidates:
        if variable.upper() in known:
            continue
        close = difflib.get_close_matches(variable.upper(), sorted(known), n=1, cutoff=0.75)
        unknown.append((variable, close[0] if close else None))
    return unknown


def unknown_message(variable: str, suggestion: str | None) -> str:
    guess = f" (did you mean {suggestion}?)" if suggestion else ""
    return f"{variable} is not a liveai setting and is ignored{guess}"


def template() -> str:
    """A liveai.toml with every setting commented out at its default, described."""
    lines = [
        "# liveai settings. Uncomment a line to set it; LIVEAI_<NAME> variables override it.",
        "# `liveai config show` lists each value in force and where it comes from.",
        "",
    ]
    defaults = Settings.model_construct()
    vendor_defaults = _vendor_defaults(defaults)
    for name, credential in _in_order():
        if credential is not None:
            lines.extend([f"# {credential.description}", f'# {name} = ""', ""])
            continue
        field = Settings.model_fields[name]
        lines.append(f"# {description(name)}")
        default = None if field.is_required() else getattr(defaults, name, None)
        default = vendor_defaults.get(name, default)
        if name == "home":
            default = None
        lines.append(f"# {name} = {_toml_value(default)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    if hasattr(value, "get_secret_value"):
        return '""'
    return json.dumps(str(value))


def write_template(path: Path, *, force: bool) -> Path:
    """Write the template to `path` (mode 0600: it may come to hold secrets)."""
    if path.exists() and not force:
        raise InvalidInput(f"{path} already exists", hint="pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(template())
    os.chmod(path, 0o600)
    return path


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv file (comments, blank lines and `export` allowed)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read the env file {path}: {exc.strerror}") from None
    found: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"{path} line {number} is not KEY=VALUE", hint="fix or remove that line"
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key.strip()] = value
    return found
