"""Current labels, derived from the append-only decisions: the latest decision of an item that
is not undone and is not a skip. Never stored, so an undo or a relabel cannot leave it stale."""

from sqlalchemy import Subquery, func, select

from curation.enums import Action
from db.models import Decision


def current_labels() -> Subquery:
    """Subquery with columns (item_id, label, curator, decided_at), one row per labelled item."""
    ranked = (
        select(
            Decision.item_id,
            Decision.label,
            Decision.curator,
            Decision.created_at.label("decided_at"),
            func.row_number()
            .over(partition_by=Decision.item_id, order_by=Decision.id.desc())
            .label("rank"),
        )
        .where(Decision.undone_at.is_(None), Decision.label != Action.SKIP.value)
        .subquery("ranked_decisions")
    )
    return (
        select(ranked.c.item_id, ranked.c.label, ranked.c.curator, ranked.c.decided_at)
        .where(ranked.c.rank == 1)
        .subquery("current_labels")
    )
