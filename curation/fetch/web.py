"""Web and company pages: main text and metadata out of downloaded HTML with trafilatura.

Only the cleaned text is kept; raw HTML is never stored, so nothing a site sends can be rendered
as markup later. extract_page is a plain top-level function of bytes so a process pool can run
it on every core (extraction, not downloading, is what limits ingest speed)."""

from datetime import UTC, datetime
from typing import Any

import trafilatura


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


def extract_page(html: bytes, url: str) -> dict[str, Any]:
    """Title, author, published_at, site_name and text ("" when nothing readable was found)."""
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      include_tables=True)
    if doc is None:
        return {"title": None, "author": None, "published_at": None, "site_name": None, "text": ""}
    return {
        "title": doc.title,
        "author": doc.author,
        "published_at": _date(doc.date),
        "site_name": doc.sitename or doc.hostname,
        "text": (doc.text or "").strip(),
    }
