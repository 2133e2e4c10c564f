"""The one list of knobs: `LIVEAI_*` environment variables over an optional TOML file.

Precedence, highest first: keyword arguments, environment, the TOML file, defaults.
The TOML file is `LIVEAI_CONFIG`, or `liveai.toml` in the user config folder; its keys
are the field names below (``database_url = "..."``).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from liveai.errors import ConfigError

APP_NAME = "liveai"


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
    debug: bool = False
    environment: Literal["production", "staging", "development"] = "production"

    # --- storage ---
    storage: Literal["local", "s3"] = "local"
    storage_dir: Path | None = None

    # --- retention (the privacy policy's promises; the inventory must agree) ---
    upload_retention_days: int = Field(default=30, ge=1)
    log_retention_days: int = Field(default=30, ge=1)

    # --- providers ---
    provider_order: str = "kling,ark,wan,fal"
    allow_overseas: bool = False

    # Later features add their settings below, in a section of their own.

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
        return (init_settings, env_settings, toml)

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
                shown[name] = "********" if value.get_secret_value() else ""
            elif isinstance(value, Path):
                shown[name] = str(value)
            elif name == "database_url" and value:
                shown[name] = _mask_url_password(value)
            else:
                shown[name] = value
        shown["resolved_database_url"] = _mask_url_password(self.resolved_database_url)
        shown["resolved_storage_dir"] = str(self.resolved_storage_dir)
        return shown


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning every way they can be wrong into one ConfigError."""
    path = default_config_path()
    try:
        return Settings(**overrides)
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
