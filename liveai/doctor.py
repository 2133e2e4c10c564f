"""Health checks for `liveai doctor`: configuration, database, storage, identity, App Store,
APNs, providers, generation, the audit key, unknown variables and the deployment."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from liveai.audit import KEY_FILE, key_from_settings
from liveai.db import ensure_schema, make_engine
from liveai.dburl import masked_url
from liveai.errors import LiveAIError
from liveai.generation.runtime import generation_health, http_client
from liveai.identity.tokens import probe_key_sets
from liveai.private_files import private_folder
from liveai.providers.registry import build_providers, candidates
from liveai.providers.remote import provider_health
from liveai.purchases.health import app_store_status
from liveai.push import apns_status
from liveai.settings import Settings, load_settings
from liveai.settings_guide import unknown_message, unknown_variables
from liveai.storage import open_storage, probe_storage

OFF_PREFIXES = ("not configured", "no token issuer configured", "no remote provider configured")


@dataclass(frozen=True)
class Check:
    """One health check: `status` is ok, warn (works; look at it), off (not set up) or FAIL."""

    name: str
    ok: bool
    detail: str
    status: str = ""

    def __post_init__(self) -> None:
        if not self.status:
            off = self.ok and self.detail.startswith(OFF_PREFIXES)
            object.__setattr__(self, "status", "FAIL" if not self.ok else "off" if off else "ok")


CheckFn = Callable[[Settings], Check]


def check_database(settings: Settings) -> Check:
    try:
        engine = make_engine(settings.resolved_database_url)
    except LiveAIError as exc:
        return Check("database", False, str(exc))
    try:
        ensure_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
    except LiveAIError as exc:
        return Check("database", False, str(exc))
    finally:
        engine.dispose()
    return Check("database", True, f"{masked_url(engine.url)} reachable, schema up to date")


def check_storage(settings: Settings) -> Check:
    if settings.storage == "s3":
        return check_object_storage(settings)
    folder = settings.resolved_storage_dir
    try:
        private_folder(folder)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("storage", False, f"{folder} is not writable: {exc.strerror}")
    return Check("storage", True, f"{folder} writable")


def check_object_storage(settings: Settings) -> Check:
    """Write, read back and delete a probe object in the configured bucket."""
    try:
        storage = open_storage(settings)
        try:
            probe_storage(storage)
            kept = storage.protection()
        finally:
            getattr(storage, "close", lambda: None)()
    except LiveAIError as exc:
        return Check("storage", False, str(exc))
    detail = (
        f"{storage.describe()} writable, readable, deletable; versioning {kept.versioning}, "
        f"object lock {kept.object_lock}"
    )
    if kept.blocks_erasure:
        return Check("storage", False, f"{detail}; erasure is refused: {kept.blocks_erasure}")
    return Check("storage", True, detail)


def check_identity(settings: Settings) -> Check:
    """Both token key sets (Logto, Apple) reachable, when configured."""
    import httpx

    with httpx.Client(timeout=settings.identity_http_timeout_s) as http:
        probes = probe_key_sets(settings, http=http)
    if not probes:
        return Check("identity", True, "no token issuer configured")
    detail = "; ".join(f"{name}: {text}" for name, _ok, text in probes)
    return Check("identity", all(ok for _name, ok, _text in probes), detail)


def check_app_store(settings: Settings) -> Check:
    ok, detail = app_store_status(settings)
    return Check("app store", ok, detail)


def check_push(settings: Settings) -> Check:
    ok, detail = apns_status(settings)
    return Check("push", ok, detail)


def check_providers(settings: Settings) -> Check:
    """Each remote video provider with credentials authenticates (one cheap call each)."""
    ok, detail = provider_health(settings)
    return Check("providers", ok, detail)


def check_generation(settings: Settings) -> Check:
    """The providers a generation would try, in order, and the price of the default."""
    ok, detail = generation_health(settings)
    return Check("generation", ok, detail)


def check_audit_key(settings: Settings) -> Check:
    """Where the audit chain's key comes from: the setting, or a file beside the data."""
    if settings.audit_key is None:
        path = settings.home / KEY_FILE
        if not path.exists():
            return Check("audit", True, f"no key yet: one is made at {path} on first use")
    try:
        key_from_settings(settings)
    except LiveAIError as exc:
        return Check("audit", False, str(exc))
    if settings.audit_key is not None:
        return Check("audit", True, "chain keyed by LIVEAI_AUDIT_KEY")
    return Check(
        "audit",
        True,
        f"chain keyed by {path}: back it up, or keep it off this machine in LIVEAI_AUDIT_KEY",
    )


def check_variables(settings: Settings) -> Check:
    """Every LIVEAI_* variable is read by a setting: a typo is not silently ignored."""
    unknown = unknown_variables()
    if unknown:
        return Check("variables", False, "; ".join(unknown_message(v, s) for v, s in unknown))
    return Check("variables", True, "every LIVEAI_* variable is a setting")


def check_deployment(settings: Settings) -> Check:
    """Production on the embedded SQLite database with the local renderer is a demo setup."""
    name = "deployment"
    if settings.environment != "production":
        return Check(name, True, f"environment {settings.environment}")
    problems = []
    if settings.resolved_database_url.startswith("sqlite"):
        problems.append("the database is SQLite")
    if _local_renderer_only(settings):
        problems.append("videos come from the local renderer")
    if len(problems) == 2:
        detail = f"environment production, but {' and '.join(problems)}"
        hint = "set LIVEAI_DATABASE_URL and a provider's keys, or LIVEAI_ENVIRONMENT=development"
        return Check(name, True, f"{detail}: {hint}", status="warn")
    return Check(name, True, "environment production")


def _local_renderer_only(settings: Settings) -> bool:
    try:
        with http_client(settings) as client:
            return candidates(build_providers(settings, client), settings) == ["local"]
    except LiveAIError:
        return False


CHECKS: list[CheckFn] = [
    check_database,
    check_storage,
    check_identity,
    check_app_store,
    check_push,
    check_providers,
    check_generation,
    check_audit_key,
    check_variables,
    check_deployment,
]


def run_checks() -> list[Check]:
    """Run every check; a configuration error is itself reported as a failed check."""
    try:
        settings = load_settings()
    except LiveAIError as exc:
        return [Check("config", False, str(exc))]
    results = [Check("config", True, "settings loaded")]
    results.extend(check(settings) for check in CHECKS)
    return results
