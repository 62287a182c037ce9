"""The one settings object. Every knob is read from the environment (prefix CURATION_) here and
nowhere else, so the README's configuration table and the code cannot drift apart."""

import os
import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from curation.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CURATION_", extra="ignore")

    home: Path = Field(Path(".curation"), description="Data folder: SQLite file, models, job queue.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means SQLite at CURATION_HOME/curation.db."
    )
    task_file: Path | None = Field(
        None, description="TOML file with the task (labels, guideline); default research-radar."
    )
    sqlite_busy_timeout_s: float = Field(
        30.0, description="How long a SQLite writer waits for another before giving up."
    )

    lease_minutes: float = Field(
        10.0, description="How long an item served to one curator stays reserved for them."
    )

    auth: bool = Field(
        False, description="Accounts on: login required, roles enforced; needed to listen beyond 127.0.0.1."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins in a row that lock an account."
    )
    lockout_minutes: float = Field(15.0, gt=0, description="How long a locked account stays locked.")
    session_hours: float = Field(12.0, gt=0, description="How long a login lasts before it expires.")
    secrets_file: Path | None = Field(
        None, description="KEY=VALUE file for API keys, read when the environment lacks them."
    )

    def secret(self, name: str) -> str | None:
        """An API key by its usual name (e.g. ANTHROPIC_API_KEY): the environment first, then
        secrets_file. Secrets live only there, never in the database or this object's dump."""
        return os.environ.get(name) or self._file_secrets().get(name)

    def secret_values(self) -> set[str]:
        """Every secret value in reach, so logs can mask them: the secrets file and environment
        variables whose names say they hold a key, token, secret or password."""
        from_env = {value for name, value in os.environ.items() if SECRET_NAME.search(name)}
        return {v for v in from_env | set(self._file_secrets().values()) if len(v) >= 8}

    def _file_secrets(self) -> dict[str, str]:
        if self.secrets_file is None:
            return {}
        if not self.secrets_file.is_file():
            raise ConfigError(
                f"CURATION_SECRETS_FILE {self.secrets_file} does not exist; create it or unset it"
            )
        pairs = (line.split("=", 1) for line in self.secrets_file.read_text().splitlines()
                 if "=" in line and not line.lstrip().startswith("#"))
        return {key.strip(): value.strip().strip("'\"") for key, value in pairs}

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'curation.db').resolve()}"


SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.IGNORECASE)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process; tests call get_settings.cache_clear()."""
    return Settings()
