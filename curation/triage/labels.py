"""Current labels, derived from the append-only decisions. Never stored, so an undo or a relabel
cannot leave them stale.

An item's label is its latest decision that is not undone and is not a skip, with two rules for
team curation (CURATION_OVERLAP): a lead's adjudication outranks every curator decision, and an
overlap item whose two curators disagree has no label at all until a lead settles it, so a
disputed item never trains the classifier on a coin toss. An overlap item that only one curator
has decided so far carries that decision; once the second agrees, nothing changes.

An item is in the overlap by a stable hash of its id, computed in SQL on the id itself, so the
queue needs no extra column and no pass over the corpus: (id * 2654435761) mod 10000 permutes
every block of 10,000 consecutive ids, so the share is exact, evenly spread and the same on every
server and every run."""

from typing import Any

from sqlalchemy import Subquery, and_, exists, false, func, literal, select
from sqlalchemy.orm import aliased

from curation.enums import Action
from curation.settings import get_settings
from db.models import Decision

_MULTIPLIER = 2654435761  # Knuth's multiplicative hash constant
_BUCKETS = 10_000


def stands(decision: Any) -> Any:
    """SQL condition: this decision (the Decision class or an alias of it) is a label that
    counts: not undone and not a skip."""
    return decision.undone_at.is_(None) & (decision.label != Action.SKIP.value)


def is_overlap_item(item_id: int) -> bool:
    """in_overlap() for one id, in Python."""
    return (item_id * _MULTIPLIER) % _BUCKETS < _overlap_buckets()


def in_overlap(item_id: Any) -> Any:
    """SQL condition: the item (an id column) is one of the overlap share. Plain false when
    CURATION_OVERLAP is 0, so every query is then what it was without overlap."""
    buckets = _overlap_buckets()
    if buckets == 0:
        return false()
    return (item_id * literal(_MULTIPLIER)) % _BUCKETS < buckets


def adjudicated(item_id: Any) -> Any:
    """SQL condition: a lead's decision on the item stands."""
    return exists().where(Decision.item_id == item_id, Decision.adjudicated, stands(Decision))


def disputed(item_id: Any) -> Any:
    """SQL condition: an overlap item two curators labelled differently, not yet adjudicated."""
    first, second = aliased(Decision), aliased(Decision)
    disagree = (
        select(first.id)
        .join(second, and_(second.item_id == first.item_id, second.curator != first.curator,
                           second.label != first.label, stands(second), ~second.adjudicated))
        .where(first.item_id == item_id, stands(first), ~first.adjudicated)
        .exists()
    )
    return in_overlap(item_id) & disagree & ~adjudicated(item_id)


def current_labels() -> Subquery:
    """Subquery with columns (item_id, label, curator, decided_at), one row per labelled item."""
    ranked = (
        select(
            Decision.item_id,
            Decision.label,
            Decision.curator,
            Decision.created_at.label("decided_at"),
            func.row_number()
            .over(partition_by=Decision.item_id,
                  order_by=(Decision.adjudicated.desc(), Decision.id.desc()))
            .label("rank"),
        )
        .where(stands(Decision))
        .subquery("ranked_decisions")
    )
    return (
        select(ranked.c.item_id, ranked.c.label, ranked.c.curator, ranked.c.decided_at)
        .where(ranked.c.rank == 1, ~disputed(ranked.c.item_id))
        .subquery("current_labels")
    )


def _overlap_buckets() -> int:
    return round(get_settings().overlap * _BUCKETS)
