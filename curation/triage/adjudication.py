"""Settling overlap items two curators disagreed on: a lead (or an admin) sees both decisions,
their notes, the classifier score and the LLM verdict side by side, and decides. That decision
is final, audited, and the item's training label (labels.current_labels ranks it first)."""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.accounts.audit import record
from curation.accounts.permissions import HasRole, require
from curation.enums import AuditAction, Permission
from curation.errors import AdjudicationError
from curation.llm.latest import latest_assessment_id
from curation.task import get_task
from curation.triage.labels import curator_decision, disputed
from db.models import Decision, Item, LLMAssessment, Score
from models.registry import active_version_id


@dataclass
class Dispute:
    """One disputed item as the Adjudicate page and `python -m curation disputes` show it."""

    item_id: int
    title: str | None
    url: str | None
    score: float | None
    llm_verdict: str | None
    llm_rationale: str | None
    decisions: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def list_disputes(session: Session, who: HasRole, limit: int = 20) -> list[Dispute]:
    """Disputed items, oldest first: those waiting longest are settled first."""
    require(who, Permission.ADJUDICATE)
    ids = list(session.scalars(select(Item.id).where(disputed(Item.id)).order_by(Item.id).limit(limit)))
    return [_dispute(session, item_id) for item_id in ids]


def adjudicate(session: Session, who: HasRole, item_id: int, label: str, note: str | None = None) -> Decision:
    """Record who's final label for a disputed item."""
    require(who, Permission.ADJUDICATE)
    if label not in get_task().labels:
        raise AdjudicationError(f"unknown label {label!r} for item {item_id}; use one of "
                                f"{', '.join(get_task().labels)}")
    if session.scalar(select(Item.id).where(Item.id == item_id, disputed(Item.id))) is None:
        raise AdjudicationError(f"item {item_id} is not disputed (no two curators disagree on it, "
                                "or a lead settled it already); `python -m curation disputes` lists them")
    shown = _dispute(session, item_id)
    version_id = active_version_id(session) if shown.score is not None else None
    decision = Decision(item_id=item_id, label=label, curator=who.name, note=note, adjudicated=True,
                        model_score=shown.score, model_version_id=version_id,
                        llm_verdict=shown.llm_verdict, guideline_version=get_task().guideline_version)
    session.add(decision)
    session.flush()
    record(session, who.name, AuditAction.ADJUDICATE, f"item:{item_id}",
           {"label": label, "decision": decision.id,
            "over": {d["curator"]: d["label"] for d in shown.decisions}})
    return decision


def _dispute(session: Session, item_id: int) -> Dispute:
    item = session.get_one(Item, item_id)
    version_id = active_version_id(session)
    score = session.get(Score, (item_id, version_id)) if version_id else None
    assessment = session.scalar(select(LLMAssessment).where(
        LLMAssessment.id == latest_assessment_id(item_id)))
    decisions = session.scalars(select(Decision).where(
        Decision.item_id == item_id, curator_decision(Decision)).order_by(Decision.id))
    return Dispute(
        item_id=item_id, title=item.title, url=item.url or item.canonical_url,
        score=score.probability if score else None,
        llm_verdict=assessment.verdict if assessment else None,
        llm_rationale=assessment.rationale if assessment else None,
        decisions=[{"curator": d.curator, "label": d.label, "note": d.note,
                    "seconds": d.seconds_spent, "decided_at": _iso(d.created_at)} for d in decisions],
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
