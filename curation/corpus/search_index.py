"""The search index's backlog. A bulk import writes its items with search_pending set, and the
index job adds them afterwards, in batches of their own transactions: tokenising the text was
most of an import's time, and a curator waits on the import, not on search. Items written one
at a time (ingest, fetch) are indexed by the triggers of migration 0008 at once.

The job never builds a search document itself: it clears the flag in an UPDATE that names the
title, which fires the triggers (migration 0011) as if the item had just been written, so what
goes in the index is defined once, in the migrations, for both backends."""

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from curation.progress import ProgressFn, no_progress
from db.models import Item
from db.session import session_scope

BATCH = 2000  # items per transaction: one FTS5 segment each, and a short hold on the write lock


def pending_count(session: Session) -> int:
    """Items not yet searchable (a partial index holds only them)."""
    return session.scalar(select(func.count()).where(Item.search_pending)) or 0


def index_batch(session: Session, limit: int = BATCH) -> int:
    """Add up to limit waiting items to the search index, oldest first; returns how many.
    On PostgreSQL two indexers take different rows (SKIP LOCKED)."""
    waiting = select(Item.id).where(Item.search_pending).order_by(Item.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)
    result = session.execute(update(Item).where(Item.id.in_(waiting))
                             .values(search_pending=False, title=Item.title)
                             .execution_options(synchronize_session=False))
    return result.rowcount


def index_pending(progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Index the whole backlog, a batch per transaction, until none is left (items imported
    meanwhile included)."""
    with session_scope() as session:
        total = pending_count(session)
    done = 0
    while True:
        with session_scope() as session:
            indexed = index_batch(session)
        if not indexed:
            return {"indexed": done}
        done += indexed
        progress(done, max(total, done), "adding items to the search index")
