"""Mark passages (the classifier's driving window, the LLM's evidence quotes) inside a document
for display. The document is untrusted: every character of it is HTML-escaped, and the only
markup in the result is the <mark> tags added here."""

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "passage" or "evidence": a CSS class on the <mark>


def _pattern(quote: str) -> re.Pattern[str] | None:
    """Match a quote in the text however its whitespace was wrapped, ignoring case."""
    words = quote.split()
    if not words:
        return None
    return re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)


def find_spans(text: str, quotes: list[str], kind: str) -> list[Span]:
    spans = []
    for quote in quotes:
        pattern = _pattern(quote)
        match = pattern.search(text) if pattern else None
        if match:
            spans.append(Span(match.start(), match.end(), kind))
    return spans


def highlighted_html(text: str, spans: list[Span]) -> str:
    """Escaped text with non-overlapping spans wrapped in <mark class="kind">; where spans
    overlap, the earlier one wins."""
    out, position = [], 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start < position:
            continue
        out.append(html.escape(text[position:span.start]))
        out.append(f'<mark class="{span.kind}">{html.escape(text[span.start:span.end])}</mark>')
        position = span.end
    out.append(html.escape(text[position:]))
    return "".join(out)
