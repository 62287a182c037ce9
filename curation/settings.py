"""The one settings object. Every knob is read from the environment (prefix CURATION_) here and
nowhere else, so the README's configuration table and the code cannot drift apart."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'curation.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the environment once per process; tests call get_settings.cache_clear()."""
    return Settings()
