"""Reading items for display: what the pages list, with each item's current label."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.triage.labels import current_labels
from db.models import Item


def list_items(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    """Newest first, with the current label (None while unlabelled)."""
    labels = current_labels()
    query = (
        select(Item.id, Item.title, Item.canonical_url, Item.source_type, Item.fetch_status,
               labels.c.label)
        .outerjoin(labels, labels.c.item_id == Item.id)
        .order_by(Item.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(query)]
