"""The labelling task is configuration, not code: research-radar is only the shipped default."""

import hashlib
import tomllib
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ValidationError, model_validator

from curation.errors import ConfigError
from curation.settings import get_settings

DEFAULT_TASK_FILE = Path(__file__).parent / "tasks" / "research_radar.toml"


class Task(BaseModel):
    name: str
    question: str
    positive_label: str
    negative_label: str
    guideline: str

    @model_validator(mode="after")
    def _labels_differ(self) -> "Task":
        if self.positive_label == self.negative_label:
            raise ValueError("positive_label and negative_label must differ")
        return self

    @property
    def labels(self) -> tuple[str, str]:
        return (self.positive_label, self.negative_label)

    @property
    def guideline_version(self) -> str:
        """A short hash of the guideline text; each decision keeps the one it was made under."""
        return hashlib.sha256(self.guideline.strip().encode()).hexdigest()[:12]


def load_task(path: Path) -> Task:
    try:
        return Task.model_validate(tomllib.loads(path.read_text()))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(
            f"task file {path} is invalid: {exc}; see {DEFAULT_TASK_FILE} for the format"
        ) from exc


@lru_cache(maxsize=4)
def _cached(path: Path) -> Task:
    return load_task(path)


def get_task() -> Task:
    return _cached(get_settings().task_file or DEFAULT_TASK_FILE)
