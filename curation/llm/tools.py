"""The document tools the agent calls: search for a phrase, read a section, read the metadata,
and the outline it starts from. Long articles keep their deciding evidence late in the text, so
the model navigates sections instead of receiving a truncated prefix.

Everything a tool returns comes from the fetched document, which is untrusted: the agent wraps
each observation in the document delimiters before the model sees it."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SECTION_CHARS = 1500  # a section is a few paragraphs: enough context, small enough to read many
READ_LIMIT = 4000  # the most characters one read returns, bounding tokens per step
SEARCH_HITS = 5
SEARCH_CONTEXT = 200
OUTLINE_TITLE_CHARS = 80


class ToolError(ValueError):
    """A bad tool call; the model gets the message as an error observation and can correct it."""


@dataclass
class Document:
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    sections: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.sections = split_sections(self.text)


def _pieces(text: str) -> Iterator[str]:
    """Lines of the text, long ones cut at a sentence end (else a space) below SECTION_CHARS:
    extracted articles often have no blank lines, or whole paragraphs on one line."""
    for line in text.splitlines():
        line = line.strip()
        while len(line) > SECTION_CHARS:
            cut = line.rfind(". ", 0, SECTION_CHARS) + 1
            if cut <= 0:
                cut = line.rfind(" ", 0, SECTION_CHARS)
            if cut <= 0:
                cut = SECTION_CHARS
            yield line[:cut].strip()
            line = line[cut:].strip()
        if line:
            yield line


def split_sections(text: str) -> list[str]:
    """Group lines into sections of at most about SECTION_CHARS; a markdown heading starts one."""
    sections: list[str] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(text):
        if current and (size + len(piece) > SECTION_CHARS or piece.startswith("#")):
            sections.append("\n".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        sections.append("\n".join(current))
    return sections or [""]


def outline(doc: Document) -> str:
    """One line per section: its number, size and first words, so the model can pick what to read."""
    lines = []
    for number, section in enumerate(doc.sections, start=1):
        first = " ".join(section.split())[:OUTLINE_TITLE_CHARS]
        lines.append(f"{number}. ({len(section)} chars) {first}")
    return "\n".join(lines)


def search(doc: Document, phrase: str) -> str:
    """Case- and whitespace-insensitive matches with the section number and some context."""
    words = phrase.split()
    if not words:
        raise ToolError("give a non-empty phrase")
    pattern = re.compile(r"\s+".join(map(re.escape, words)), re.IGNORECASE)
    hits = []
    for number, section in enumerate(doc.sections, start=1):
        for match in pattern.finditer(section):
            start, end = max(0, match.start() - SEARCH_CONTEXT), match.end() + SEARCH_CONTEXT
            hits.append(f"[section {number}] ...{section[start:end]}...")
            if len(hits) == SEARCH_HITS:
                return "\n\n".join(hits)
    return "\n\n".join(hits) or f"no match for {phrase!r}"


def read_section(doc: Document, number: int) -> str:
    if not 1 <= number <= len(doc.sections):
        raise ToolError(f"section {number} does not exist; sections are 1 to {len(doc.sections)}")
    return doc.sections[number - 1][:READ_LIMIT]


def read_metadata(doc: Document) -> str:
    return json.dumps(doc.metadata, default=str, ensure_ascii=False)


TOOLS: list[dict[str, Any]] = [
    {
        "name": "search_document",
        "description": "Find a phrase in the document (case-insensitive); returns up to "
                       f"{SEARCH_HITS} matches with their section numbers and context.",
        "parameters": {"type": "object", "properties": {"phrase": {"type": "string"}},
                       "required": ["phrase"], "additionalProperties": False},
    },
    {
        "name": "read_section",
        "description": "Read one section of the document by its number in the outline.",
        "parameters": {"type": "object", "properties": {"number": {"type": "integer", "minimum": 1}},
                       "required": ["number"], "additionalProperties": False},
    },
    {
        "name": "read_metadata",
        "description": "Read the document's metadata: title, URL, author, site, publication date.",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
    },
]


def run_tool(doc: Document, name: str, arguments: dict[str, Any]) -> str:
    """Run a document tool; raises ToolError for a call the model should correct."""
    try:
        if name == "search_document":
            return search(doc, str(arguments["phrase"]))
        if name == "read_section":
            return read_section(doc, int(arguments["number"]))
        if name == "read_metadata":
            return read_metadata(doc)
    except (KeyError, TypeError) as exc:
        raise ToolError(f"bad arguments for {name}: {exc!r}") from exc
    except ValueError as exc:  # ToolError, or int("x")
        raise ToolError(str(exc) if isinstance(exc, ToolError) else f"bad arguments for {name}: {exc}") from exc
    raise ToolError(f"unknown tool {name!r}; use one of {', '.join(t['name'] for t in TOOLS)}")
