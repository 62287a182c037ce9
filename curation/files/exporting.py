"""Export items with their current labels in the same row format import reads, so
import(export(db)) gives back the same items and labels."""

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.errors import CurationError
from curation.triage.labels import current_labels
from db.models import Item

FORMATS = ("jsonl", "csv")


def _rows(session: Session) -> Iterator[dict[str, Any]]:
    labels = current_labels()
    query = (
        select(Item, labels.c.label)
        .outerjoin(labels, labels.c.item_id == Item.id)
        .order_by(Item.id)
        .execution_options(yield_per=1000)
    )
    for item, label in session.execute(query):
        url = item.url or item.canonical_url
        yield {
            # An item still waiting for its text goes out as the header import reads back.
            "text": item.text or f"{item.title or url}\n\n{url}\n\n",
            "meta": {
                "url": url,
                "title": item.title,
                "published_date": item.published_at.isoformat() if item.published_at else None,
                "author": item.author,
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
