"""Versioned prompt files. The stored prompt version is the file's name plus a hash of the
prompt text, guideline and labels, so changing any of them re-assesses instead of reusing a
verdict made under other instructions."""

import hashlib
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from string import Template

from curation.errors import ConfigError
from curation.task import Task

PROMPTS = Path(__file__).parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    version: str
    system: str
    user: str


def load_prompt(name: str, task: Task) -> Prompt:
    path = PROMPTS / f"{name}.toml"
    try:
        raw = tomllib.loads(path.read_text())
        system, user = raw["system"], raw["user"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        available = ", ".join(sorted(p.stem for p in PROMPTS.glob("*.toml")))
        raise ConfigError(
            f"prompt {name!r} ({path}) is unusable: {exc!r}; set CURATION_LLM_PROMPT_VERSION "
            f"to one of {available}"
        ) from exc
    digest = hashlib.sha256(
        "\0".join([system, user, task.guideline, *task.labels]).encode()
    ).hexdigest()[:8]
    return Prompt(version=f"{name}-{digest}", system=system, user=user)


def new_tag() -> str:
    """A delimiter the document cannot know in advance, so its text cannot close it."""
    return f"document-{secrets.token_hex(4)}"


def render(template: str, task: Task, tag: str, **values: str) -> str:
    return Template(template).substitute(
        question=task.question, guideline=task.guideline.strip(), labels=" or ".join(task.labels),
        positive=task.positive_label, negative=task.negative_label, tag=tag,
        **{"outline": "", "metadata": "", **values},
    ).strip()
