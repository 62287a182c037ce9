"""Current labels, derived from the append-only decisions: the latest decision of an item that
is not undone and is not a skip. Never stored, so an undo or a relabel cannot leave it stale."""

from typing import Any

from sqlalchemy import Subquery, func, select

from curation.enums import Action
from db.models import Decision


def stands(decision: Any) -> Any:
    """SQL condition: this decision (the Decision class or an alias of it) is a label that
    counts: not undone and not a skip."""
    return decision.undone_at.is_(None) & (decision.label != Action.SKIP.value)


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
        .where(stands(Decision))
        .subquery("ranked_decisions")
    )
    return (
        select(ranked.c.item_id, ranked.c.label, ranked.c.curator, ranked.c.decided_at)
        .where(ranked.c.rank == 1)
        .subquery("current_labels")
    )
