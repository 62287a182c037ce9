"""The output contract of an assessment. The verdict tool's JSON schema is built from this model
and the task's labels, and every verdict is validated against it, so nothing the document says
can add a label, a field or drop the evidence. Quotes are then checked against the text itself."""

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

VERDICT_TOOL = "submit_verdict"


class VerdictError(ValueError):
    """The model's verdict broke the contract; the message is sent back to it once."""


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="One of the task's labels.")
    confidence: float = Field(ge=0.0, le=1.0, description="Probability that the label is right.")
    rationale: str = Field(min_length=1, max_length=800, description="Two or three sentences.")
    evidence: list[str] = Field(
        min_length=1, max_length=5,
        description="Exact quotes copied from the document that support the label.",
    )

    @field_validator("label")
    @classmethod
    def _label_of_the_task(cls, value: str, info: ValidationInfo) -> str:
        labels = (info.context or {}).get("labels", ())
        if value not in labels:
            raise ValueError(f"label must be one of {', '.join(labels)}, not {value!r}")
        return value

    @field_validator("evidence")
    @classmethod
    def _quotes_not_blank(cls, value: list[str]) -> list[str]:
        if any(not quote.strip() for quote in value):
            raise ValueError("evidence quotes must not be empty")
        return value


def verdict_schema(labels: tuple[str, ...]) -> dict[str, Any]:
    """JSON schema of the verdict tool: the pydantic schema with the labels as an enum."""
    schema = Verdict.model_json_schema()
    schema["properties"]["label"]["enum"] = list(labels)
    schema.pop("title", None)
    return schema


def parse_verdict(arguments: dict[str, Any] | str, labels: tuple[str, ...]) -> Verdict:
    """Validate the verdict tool's arguments (a dict, or the JSON string OpenAI sends)."""
    try:
        data = json.loads(arguments) if isinstance(arguments, str) else arguments
        return Verdict.model_validate(data, context={"labels": labels})
    except json.JSONDecodeError as exc:
        raise VerdictError(f"arguments are not valid JSON: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'verdict'}: {e['msg']}" for e in exc.errors()
        )
        raise VerdictError(f"invalid verdict: {problems}") from exc


_ELLIPSIS = re.compile(r"\.\.\.|…")
_FANCY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def normalise(text: str) -> str:
    """Case, whitespace and typographic quotes/dashes do not count when matching a quote."""
    return " ".join(text.translate(_FANCY).casefold().split())


def quote_found(quote: str, normalised_text: str) -> bool:
    """A quote counts as found when each part between ellipses occurs in the text."""
    parts = [normalise(p) for p in _ELLIPSIS.split(quote)]
    parts = [p for p in parts if p]
    return bool(parts) and all(p in normalised_text for p in parts)


def check_evidence(quotes: list[str], text: str) -> list[dict[str, Any]]:
    """Each quote with found=True/False; an invented quote is one not found in the text."""
    haystack = normalise(text)
    return [{"quote": q, "found": quote_found(q, haystack)} for q in quotes]
