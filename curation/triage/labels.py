"""Current labels, derived from the append-only decisions. Never stored, so an undo or a relabel
cannot leave them stale.

An item's label is its latest decision that is not undone and is not a skip, with two rules for
team curation (CURATION_OVERLAP): a lead's adjudication outranks every curator decision, and an
overlap item whose two curators disagree has no label at all until a lead settles it, so a
disputed item never trains the classifier on a coin toss. An overlap item that only one curator
has decided so far carries that decision; once the second agrees, nothing changes. Only each
curator's latest standing decision counts (curator_decision): one who relabels changes their
vote, the old one is not held against them.

What a person is shown follows hidden_from(viewer): an overlap item still waiting for its second
curator shows its label only to the curator who gave it and to leads and admins, so the second
curator decides blind; to everyone else it is unlabelled. Training reads current_labels().

An item is in the overlap by a stable hash of its id, computed in SQL on the id itself, so the
queue needs no extra column and no pass over the corpus: (id * 2654435761) mod 10000 permutes
every block of 10,000 consecutive ids, so the share is exact, evenly spread and the same on every
server and every run."""

from typing import Any

from sqlalchemy import Subquery, and_, case, exists, false, func, literal, null, select
from sqlalchemy.orm import aliased

from curation.accounts.permissions import HasRole, can
from curation.enums import Action, Permission
from curation.settings import get_settings
from db.models import Decision

_MULTIPLIER = 2654435761  # Knuth's multiplicative hash constant
_BUCKETS = 10_000
OVERLAP_CURATORS = 2  # how many curators decide an overlap item independently
_RANKING = (Decision.adjudicated.desc(), Decision.id.desc())  # a lead's adjudication, else the latest


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


def curator_decision(decision: Any) -> Any:
    """SQL condition: this decision (the Decision class or an alias) is its curator's vote on the
    item: it stands, is no lead's adjudication, and its curator made no later standing one there.
    disputed() and the agreement figures compare curators by this one rule."""
    later = aliased(Decision)
    relabelled = exists().where(later.item_id == decision.item_id, later.curator == decision.curator,
                                later.id > decision.id, stands(later), ~later.adjudicated)
    return stands(decision) & ~decision.adjudicated & ~relabelled


def disputed(item_id: Any) -> Any:
    """SQL condition: an overlap item two curators' votes label differently, not yet adjudicated."""
    first, second = aliased(Decision), aliased(Decision)
    disagree = (
        select(first.id)
        .join(second, and_(second.item_id == first.item_id, second.curator != first.curator,
                           second.label != first.label, curator_decision(second)))
        .where(first.item_id == item_id, curator_decision(first))
        .exists()
    )
    return in_overlap(item_id) & disagree & ~adjudicated(item_id)


def awaiting_second_curator(item_id: Any) -> Any:
    """SQL condition: an overlap item fewer than OVERLAP_CURATORS curators have decided and no lead
    has settled. The queue serves it again; until then its label is provisional."""
    people = (select(func.count(func.distinct(Decision.curator)))
              .where(Decision.item_id == item_id, stands(Decision)).scalar_subquery())
    return in_overlap(item_id) & (people < OVERLAP_CURATORS) & ~adjudicated(item_id)


def current_labels() -> Subquery:
    """Subquery with columns (item_id, label, curator, decided_at), one row per labelled item."""
    ranked = (
        select(
            Decision.item_id,
            Decision.label,
            Decision.curator,
            Decision.created_at.label("decided_at"),
            func.row_number()
            .over(partition_by=Decision.item_id, order_by=_RANKING)
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


def decided_by(curator: str, item_id: Any) -> Any:
    """SQL condition: curator has a standing decision on the item."""
    return exists().where(Decision.item_id == item_id, Decision.curator == curator, stands(Decision))


def hidden_from(viewer: HasRole, item_id: Any) -> Any:
    """SQL condition: the item's label so far is provisional (awaiting_second_curator) and viewer
    neither gave it nor adjudicates, so to viewer the item is unlabelled and its second curator
    decides blind. The one rule for every place a person is shown labels (shown_label and the
    lists that join current_labels()); training is unaffected. Plain false when CURATION_OVERLAP
    is 0, so the common case adds nothing to a query."""
    if can(viewer, Permission.ADJUDICATE) or _overlap_buckets() == 0:
        return false()
    return awaiting_second_curator(item_id) & ~decided_by(viewer.name, item_id)


def shown_label(viewer: HasRole, item_id: Any) -> Any:
    """The item's (an id column) label as viewer may see it, None while unlabelled to them: the
    rank and dispute rule of current_labels() plus hidden_from(). A correlated look-up that the
    index on (item_id, created_at) serves, so a page of search hits costs the same at 100k items
    as at 100; a join on current_labels() would rank every decision first."""
    label = (select(Decision.label).where(Decision.item_id == item_id, stands(Decision))
             .order_by(*_RANKING).limit(1).correlate_except(Decision).scalar_subquery())
    if _overlap_buckets() == 0:
        return label
    return case((disputed(item_id) | hidden_from(viewer, item_id), null()), else_=label)


def _overlap_buckets() -> int:
    return round(get_settings().overlap * _BUCKETS)
