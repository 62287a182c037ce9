"""Export items with their current labels in the same row format import reads, so
import(export(db)) gives back the same items and labels. A near-duplicate's meta carries
near_duplicate_of, the URL of the earlier item it nearly repeats (curation/corpus/near_duplicates.py),
so a downstream user sees the repeats: a URL, because item ids mean nothing outside this database.
Import ignores the field and finds the repeats again from the text."""

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from curation.errors import CurationError
from curation.triage.labels import current_labels
from db.models import Item

FORMATS = ("jsonl", "csv")


def _rows(session: Session) -> Iterator[dict[str, Any]]:
    labels = current_labels()
    original = aliased(Item)
    query = (
        select(Item, labels.c.label, func.coalesce(original.url, original.canonical_url))
        .outerjoin(labels, labels.c.item_id == Item.id)
        .outerjoin(original, original.id == Item.near_duplicate_of)
        .order_by(Item.id)
        .execution_options(yield_per=1000)
    )
    for item, label, near_duplicate_of in session.execute(query):
        url = item.url or item.canonical_url
        yield {
            # An item still waiting for its text goes out as the header import reads back.
            "text": item.text or f"{item.title or url}\n\n{url}\n\n",
            "meta": {
                "url": url,
                "title": item.title,
                "published_date": item.published_at.isoformat() if item.published_at else None,
                "author": item.author,
                "near_duplicate_of": near_duplicate_of,
            },
            "answer": label,
        }


def export_items(session: Session, path: Path, fmt: str) -> int:
    """Write every item to path; returns the number of rows written."""
    if fmt not in FORMATS:
        raise CurationError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "meta", "answer"]) if fmt == "csv" else None
        if writer:
            writer.writeheader()
        for row in _rows(session):
            if writer:
                writer.writerow(row | {"meta": json.dumps(row["meta"]), "answer": row["answer"] or ""})
            else:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count
