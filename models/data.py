"""The training data: items with text and a current label, from the append-only decisions."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.task import get_task
from curation.triage.labels import current_labels
from db.models import Item


@dataclass
class Labelled:
    item_id: int
    group: str  # canonical URL: duplicates share it and so stay on one side of every split
    text: str
    y: int  # 1 for the task's positive label
    curator: str = ""  # who gave the current label


def labelled_items(session: Session) -> list[Labelled]:
    """Items with text and a current label, in id order."""
    labels = current_labels()
    positive = get_task().positive_label
    rows = session.execute(
        select(Item.id, Item.canonical_url, Item.text, labels.c.label, labels.c.curator)
        .join(labels, labels.c.item_id == Item.id)
        .where(Item.text.is_not(None))
        .order_by(Item.id)
    )
    return [Labelled(i, url or f"item-{i}", text, int(label == positive), curator)
            for i, url, text, label, curator in rows]
