"""Which item a curator sees next, leases, decisions and undo.

The Queue page and the CLI (`next`, `decide`, `undo`) both call these functions, so people and
scripts can triage side by side. Serving claims a lease with one atomic upsert (insert, or take
over an expired lease), so two curators racing for one item cannot both get it, on SQLite or
PostgreSQL. Every candidate query is driven by an index and a LIMIT: the cost of "next" does
not grow with the number of items."""

import random
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, aliased

from curation.accounts.audit import origin, record
from curation.accounts.permissions import HasRole, require
from curation.enums import Action, AuditAction, LabelState, Permission, QueueStrategy
from curation.errors import QueueError
from curation.jobs.triggers import maybe_schedule_retrain, request_refit
from curation.llm.latest import latest_assessment_id
from curation.settings import get_settings
from curation.task import get_task
from curation.triage.labels import awaiting_second_curator, decided_by, stands
from db.models import (
    SCORE_MARGIN,
    SCORE_PRIORITY,
    Decision,
    Item,
    Lease,
    LLMAssessment,
    Score,
    says_positive,
    utcnow,
)
from db.session import after_commit
from models.registry import active_version_id

RETRAIN_JOB = "retrain_job"  # session.info key: the retrain a committed decision queued
CANDIDATES = 20  # items fetched per attempt; a claim lost to another curator tries the next one



@dataclass(frozen=True)
class QueueFilter:
    source_type: str | None = None
    published_from: date | None = None
    published_to: date | None = None
    status: LabelState = LabelState.UNLABELLED


@dataclass
class ServedItem:
    id: int
    title: str | None
    url: str | None
    source_type: str
    published_at: datetime | None
    text: str
    score: float | None
    passage: str | None
    llm_verdict: str | None
    llm_confidence: float | None
    llm_rationale: str | None
    llm_evidence: list[str]
    llm_evidence_ok: bool | None
    llm_steps: list[Any]
    lease_expires_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_labelled() -> Any:
    return exists().where(Decision.item_id == Item.id, stands(Decision))


def _wants_another_curator(curator: str) -> Any:
    """An overlap item that one curator has decided and a second has not yet, where curator is
    not the one who did: it is served once more, to someone else, who does not see the first
    decision. Index-driven look-ups on the item, so the cost does not grow with the corpus."""
    return awaiting_second_curator(Item.id) & ~decided_by(curator, Item.id)


def eligible_items(curator: str, filters: QueueFilter, now: datetime) -> Select:
    """Items this curator may be served: with text, matching the filters, not skipped by them,
    not leased to someone else. "Unlabelled" includes an overlap item waiting for its second
    curator, and "labelled" leaves it out, for each curator but the one who decided it."""
    other = aliased(Lease)
    query = select(Item.id).where(
        Item.text.is_not(None),
        ~exists().where(Decision.item_id == Item.id, Decision.curator == curator,
                        Decision.label == Action.SKIP.value, Decision.undone_at.is_(None)),
        ~exists().where(other.item_id == Item.id, other.expires_at > now, other.curator != curator)
        .correlate(Item),
    )
    if filters.status == LabelState.UNLABELLED:
        query = query.where(~_is_labelled() | _wants_another_curator(curator))
    elif filters.status == LabelState.LABELLED:
        query = query.where(_is_labelled() & ~_wants_another_curator(curator))
    return by_source_and_date(query, filters)


def by_source_and_date(query: Select, filters: QueueFilter) -> Select:
    """The filters the queue and search share: source type and a publication date range."""
    if filters.source_type:
        query = query.where(Item.source_type == filters.source_type)
    if filters.published_from:
        query = query.where(Item.published_at >= filters.published_from)
    if filters.published_to:
        query = query.where(Item.published_at < filters.published_to + timedelta(days=1))
    return query


def _disagrees(session: Session, ids: list[int], version_id: int) -> set[int]:
    """Items whose LLM verdict contradicts the classifier."""
    positive = get_task().positive_label
    rows = session.execute(
        select(Score.item_id, Score.probability, LLMAssessment.verdict)
        .join(LLMAssessment, LLMAssessment.id == latest_assessment_id(Score.item_id))
        .where(Score.item_id.in_(ids), Score.model_version_id == version_id)
    )
    return {item_id for item_id, p, verdict in rows if says_positive(p) != (verdict == positive)}


def first_by(eligible: Select, version_id: int, order: Any) -> Select:
    """(item id, rank) of the scored eligible items that come first by `order`, lowest first:
    the one query behind the uncertainty order (SCORE_MARGIN, served by the expression index
    ix_scores_margin) and the density order (SCORE_PRIORITY, ix_scores_priority)."""
    return (eligible.add_columns(order)
            .join(Score, and_(Score.item_id == Item.id, Score.model_version_id == version_id))
            .order_by(order)
            .limit(CANDIDATES))


def _ranked(session: Session, eligible: Select, version_id: int | None, order: Any, tie: int) -> list[int]:
    """Lowest rank first; within a tie (ranks equal to `tie` decimals), classifier-LLM
    disagreements first. Items the active model has not scored yet follow."""
    if version_id is None:
        return list(session.scalars(eligible.order_by(Item.id.desc()).limit(CANDIDATES)))
    rows = session.execute(first_by(eligible, version_id, order)).all()
    disagree = _disagrees(session, [r[0] for r in rows], version_id)
    ranked = [r[0] for r in sorted(rows, key=lambda r: (round(r[1], tie), r[0] not in disagree))]
    if len(ranked) < CANDIDATES:
        unscored = ~exists().where(Score.item_id == Item.id, Score.model_version_id == version_id)
        ranked += session.scalars(eligible.where(unscored).order_by(Item.id.desc()).limit(CANDIDATES))
    return ranked


def _by_disagreement(session: Session, eligible: Select, version_id: int | None) -> list[int]:
    if version_id is None:
        return []
    positive = get_task().positive_label
    llm_positive = LLMAssessment.verdict == positive
    rows = session.execute(
        eligible.add_columns(Score.probability, llm_positive)
        .join(Score, and_(Score.item_id == Item.id, Score.model_version_id == version_id))
        .join(LLMAssessment, LLMAssessment.id == latest_assessment_id(Item.id))
        .where(says_positive(Score.probability) != llm_positive)
        .limit(CANDIDATES * 5)
    ).all()
    return [r[0] for r in sorted(rows, key=lambda r: -abs(r[1] - float(r[2])))][:CANDIDATES]


def _at_random(session: Session, eligible: Select) -> list[int]:
    """Start at a random id and walk up, wrapping once: random order without sorting the table."""
    top = session.scalar(select(func.max(Item.id))) or 0
    pivot = random.randint(0, top)
    first = list(session.scalars(eligible.where(Item.id >= pivot).order_by(Item.id).limit(CANDIDATES)))
    return first or list(session.scalars(eligible.order_by(Item.id).limit(CANDIDATES)))


def _candidates(session: Session, strategy: str, eligible: Select, version_id: int | None) -> list[int]:
    if strategy == QueueStrategy.DENSITY:  # ties: a hundredth, as density narrows the range
        return _ranked(session, eligible, version_id, SCORE_PRIORITY, 2)
    if strategy == QueueStrategy.UNCERTAINTY:  # ties: within a tenth of margin
        return _ranked(session, eligible, version_id, SCORE_MARGIN, 1)
    if strategy == QueueStrategy.DISAGREEMENT:
        return _by_disagreement(session, eligible, version_id)
    if strategy == QueueStrategy.NEWEST:
        return list(session.scalars(eligible.order_by(Item.id.desc()).limit(CANDIDATES)))
    return _at_random(session, eligible)


def _claim(session: Session, item_id: int, curator: str, now: datetime) -> bool:
    """Lease item_id to curator unless someone else holds a live lease on it."""
    expires = now + timedelta(minutes=get_settings().lease_minutes)
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {"item_id": item_id, "curator": curator, "leased_at": now, "expires_at": expires}
    statement = dialect_insert(Lease).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Lease.item_id],
        set_={k: v for k, v in values.items() if k != "item_id"},
        where=(Lease.expires_at <= now) | (Lease.curator == curator),
    ).returning(Lease.item_id)
    return session.execute(statement).first() is not None


def _still_eligible(session: Session, eligible: Select, item_id: int) -> bool:
    """Re-check after claiming: another curator may have decided the item between our candidate
    query and our claim (PostgreSQL reads each statement afresh). If so, let the lease go."""
    if session.scalar(eligible.where(Item.id == item_id)) is not None:
        return True
    session.execute(delete(Lease).where(Lease.item_id == item_id))
    return False


def _serve(session: Session, item_id: int, curator: str, version_id: int | None) -> ServedItem:
    """Load what goes on screen and remember on the lease what the curator was shown."""
    item = session.get_one(Item, item_id)
    score = session.get(Score, (item_id, version_id)) if version_id else None
    assessment = session.scalar(select(LLMAssessment).where(
        LLMAssessment.id == latest_assessment_id(item_id)))
    lease = session.get_one(Lease, item_id)
    lease.served_score = score.probability if score else None
    lease.served_model_version_id = version_id if score else None
    lease.served_verdict = assessment.verdict if assessment else None
    return ServedItem(
        id=item.id, title=item.title, url=item.url or item.canonical_url,
        source_type=item.source_type, published_at=item.published_at, text=item.text or "",
        score=lease.served_score, passage=score.passage if score else None,
        llm_verdict=lease.served_verdict, llm_confidence=assessment.confidence if assessment else None,
        llm_rationale=assessment.rationale if assessment else None,
        llm_evidence=[e.get("quote", "") if isinstance(e, dict) else str(e)
                      for e in (assessment.evidence if assessment else [])],
        llm_evidence_ok=assessment.evidence_ok if assessment else None,
        llm_steps=assessment.steps if assessment else [],
        lease_expires_at=lease.expires_at,
    )


def next_item(session: Session, who: HasRole, *, strategy: str = QueueStrategy.DENSITY,
              filters: QueueFilter = QueueFilter(), item_id: int | None = None) -> ServedItem | None:
    """Lease and return the next item for who, or None when nothing is left for them.
    A curator who already holds a live lease gets that item again (a reload loses nothing).
    item_id asks for that item (a search hit opened in the Queue), whatever the filters."""
    require(who, Permission.DECIDE)
    curator = who.name
    if item_id is not None:
        return _open(session, item_id, curator, active_version_id(session))
    if strategy not in set(QueueStrategy):
        raise QueueError(f"unknown queue strategy {strategy!r}; use one of "
                         f"{', '.join(QueueStrategy)}")
    now = utcnow()
    version_id = active_version_id(session)
    eligible = eligible_items(curator, filters, now)
    held = session.scalars(eligible.join(Lease, Lease.item_id == Item.id)
                           .where(Lease.curator == curator, Lease.expires_at > now)).first()
    if held:
        _claim(session, held, curator, now)
        return _serve(session, held, curator, version_id)
    for _ in range(3):  # every candidate may be claimed by others between query and claim
        candidates = _candidates(session, strategy, eligible, version_id)
        for candidate in candidates:
            if _claim(session, candidate, curator, now) and _still_eligible(session, eligible, candidate):
                return _serve(session, candidate, curator, version_id)
        if not candidates:
            return None
    return None


def _open(session: Session, item_id: int, curator: str, version_id: int | None) -> ServedItem:
    """Lease this item to curator and let go of any other they hold, so it is what they see."""
    if session.get(Item, item_id) is None:
        raise QueueError(f"no item with id {item_id}; `python -m curation search QUERY` lists ids")
    now = utcnow()
    if not _claim(session, item_id, curator, now):
        holder = session.get_one(Lease, item_id)
        raise QueueError(f"item {item_id} is being curated by {holder.curator} until "
                         f"{holder.expires_at:%H:%M:%S} UTC; open another one")
    session.execute(delete(Lease).where(Lease.curator == curator, Lease.item_id != item_id))
    return _serve(session, item_id, curator, version_id)


def _check_action(action: str) -> None:
    allowed = (*get_task().labels, Action.SKIP.value)
    if action not in allowed:
        raise QueueError(f"unknown decision {action!r}; use one of {', '.join(allowed)}")


def decide(session: Session, who: HasRole, item_id: int, action: str, *,
           seconds: float | None = None, note: str | None = None) -> Decision:
    """Record who's label (or skip) for item_id and release its lease. The decision keeps the
    score and LLM verdict that were served with the item; a decision on an item nobody holds
    (a relabel) records the current ones. Refused while another curator holds the item. Once
    committed, the retrain rule runs (see _follow_up)."""
    require(who, Permission.DECIDE)
    decision = _record_decision(session, who, item_id, action, seconds, note, AuditAction.DECIDE)
    after_commit(session, lambda: _follow_up(session))
    return decision


def _follow_up(session: Session) -> None:
    """Once a decision is committed: queue the refit that re-ranks the queue with it, and a full
    retrain if enough labels came in since the last one. The retrain job (or None) is left in
    session.info[RETRAIN_JOB] for the caller to report."""
    request_refit()
    scheduled = maybe_schedule_retrain()
    session.info[RETRAIN_JOB] = scheduled[0].id if scheduled else None


def relabel(session: Session, who: HasRole, item_id: int, label: str, note: str | None = None) -> Decision:
    """Correct an item's label from the Errors page: a new decision, the old one stays."""
    require(who, Permission.RELABEL)
    if label not in get_task().labels:
        raise QueueError(f"unknown label {label!r}; use one of {', '.join(get_task().labels)}")
    return _record_decision(session, who, item_id, label, None, note, AuditAction.RELABEL)


def _lock_item(session: Session, item_id: int) -> None:
    """Hold the item's row until commit, so decisions on one item happen one after another. On
    PostgreSQL that is SELECT ... FOR UPDATE (a second press waits, then sees the first one's
    decision); SQLite ignores FOR UPDATE, but every transaction there begins with BEGIN IMMEDIATE
    (db/session.py), which serialises writers already. A unique index cannot do this job: the same
    curator may relabel an item back and forth, each time a new row."""
    if session.scalar(select(Item.id).where(Item.id == item_id).with_for_update()) is None:
        raise QueueError(f"no item with id {item_id}; `python -m curation next` serves valid ids")


def _repeated(session: Session, curator: str, item_id: int, action: str) -> Decision | None:
    """The item's latest standing decision if it is this very one (same curator, same label):
    a double press or a retried command, to be answered with it rather than stored again."""
    latest = session.scalar(select(Decision).where(Decision.item_id == item_id, Decision.undone_at.is_(None))
                            .order_by(Decision.id.desc()).limit(1))
    return latest if latest and (latest.curator, latest.label) == (curator, action) else None


def _record_decision(session: Session, who: HasRole, item_id: int, action: str, seconds: float | None,
                     note: str | None, audit_action: AuditAction) -> Decision:
    """Append who's decision; the same decision again is not stored twice (see _repeated)."""
    _check_action(action)
    _lock_item(session, item_id)
    curator = who.name
    if repeated := _repeated(session, curator, item_id, action):  # their lease goes, as with a decision
        session.execute(delete(Lease).where(Lease.item_id == item_id, Lease.curator == curator))
        return repeated
    now = utcnow()
    lease = session.get(Lease, item_id, with_for_update=True)
    if lease and lease.curator != curator and lease.expires_at > now:
        raise QueueError(f"item {item_id} is being curated by {lease.curator} until "
                         f"{lease.expires_at:%H:%M:%S} UTC; take another with `next`")
    mine = lease if lease and lease.curator == curator else None
    if mine is None:
        version_id = active_version_id(session)
        score = session.get(Score, (item_id, version_id)) if version_id else None
        verdict = session.scalar(select(LLMAssessment.verdict)
                                 .where(LLMAssessment.id == latest_assessment_id(item_id)))
    if seconds is None and mine:
        seconds = (now - mine.leased_at).total_seconds()
    decision = Decision(
        item_id=item_id, label=action, curator=curator, created_at=now, seconds_spent=seconds,
        note=note,
        model_score=mine.served_score if mine else (score.probability if score else None),
        model_version_id=mine.served_model_version_id if mine else (version_id if score else None),
        llm_verdict=mine.served_verdict if mine else verdict,
        guideline_version=get_task().guideline_version,
    )
    session.add(decision)
    if lease and (mine or lease.expires_at <= now):
        session.delete(lease)
    session.flush()
    record(session, curator, audit_action, f"item:{item_id}",
           {"label": action, "decision": decision.id} | origin(who))
    return decision


def undo(session: Session, who: HasRole) -> Decision:
    """Revert who's own last decision that is not undone yet, and lease its item back to them
    so it is what they see next. When it was part of a bulk decision, the whole group goes."""
    require(who, Permission.DECIDE)
    curator = who.name
    last = session.scalar(
        select(Decision)
        .where(Decision.curator == curator, Decision.undone_at.is_(None))
        .order_by(Decision.id.desc())
        .limit(1)
        .with_for_update()
    )
    if last is None:
        raise QueueError(f"nothing to undo: {curator} has no decision that is not undone")
    now = utcnow()
    together = Decision.id == last.id
    if last.group_id:  # a bulk decision is undone as the one action it was
        together = (Decision.group_id == last.group_id) & (Decision.curator == curator) \
            & Decision.undone_at.is_(None)
    session.execute(update(Decision).where(together).values(undone_at=now))
    session.execute(delete(Lease).where(Lease.curator == curator, Lease.item_id != last.item_id))
    _claim(session, last.item_id, curator, now)
    session.refresh(last)
    record(session, curator, AuditAction.UNDO, f"item:{last.item_id}",
           {"decision": last.id, "group": last.group_id} | origin(who))
    return last
