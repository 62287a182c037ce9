"""Reading items for display: what the pages list, with each item's current label."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole
from curation.triage.labels import shown_label
from db.models import Item


def list_items(session: Session, who: HasRole, limit: int = 500) -> list[dict[str, Any]]:
    """Newest first, with the label who may see (None while unlabelled to them)."""
    query = (
        select(Item.id, Item.title, Item.canonical_url, Item.source_type, Item.fetch_status,
               shown_label(who, Item.id).label("label"))
        .order_by(Item.id.desc())
        .limit(limit)
    )
    return [dict(row._mapping) for row in session.execute(query)]
