"""Settings: `ml-connector.toml` plus `ML_CONNECTOR_*` environment overrides.

Precedence (highest first): explicit keyword arguments, environment, the TOML file, defaults.
The config file is located before the settings are built (from `--config`, `ML_CONNECTOR_CONFIG`,
or `<data dir>/ml-connector.toml`), so that errors can name the file they come from.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_FILENAME = "ml-connector.toml"
ENV_PREFIX = "ML_CONNECTOR_"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the key and the fix."""


def default_data_dir() -> Path:
    explicit = os.environ.get(f"{ENV_PREFIX}DATA_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "ml-connector"


class Settings(BaseSettings):
    """Process-wide settings. Connection-specific settings live in the database, not here."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    data_dir: Path = Field(default_factory=default_data_dir, description="where state and keys live")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data dir"
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Fernet key(s), comma separated, newest first; default: the key file in the data dir",
    )
    secret_key_file: Path | None = Field(default=None, description="default: <data dir>/secret.key")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = Field(
        default=None, description="URL at which shops and Exact reach the web app (webhooks, OAuth)"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'ml-connector.db'}"

    @property
    def effective_key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML values arrive through init_settings (see load_settings): they are merged below env.
        return (env_settings, init_settings)


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if from_env:
        return Path(from_env).expanduser()
    return default_data_dir() / CONFIG_FILENAME


def _read_toml(path: Path, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise ConfigError(f"config file {path} does not exist: create it or drop --config")
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}; fix the syntax there") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc


def _describe(error: ErrorDetails) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        known = ", ".join(sorted(Settings.model_fields))
        return f"key '{key}' is not a setting (known settings: {known})"
    return f"key '{key}': {error['msg']} (got {error.get('input')!r})"


def load_settings(explicit_path: str | Path | None = None, **overrides: Any) -> Settings:
    """Build settings from the config file, the environment and `overrides`."""
    path = config_path(explicit_path)
    file_values = _read_toml(path, required=explicit_path is not None)
    file_values.update(overrides)
    try:
        return Settings(**file_values)
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors(include_url=False))
        source = f"config file {path}" if path.exists() else "environment (ML_CONNECTOR_*)"
        raise ConfigError(f"invalid configuration in {source}: {problems}") from exc
