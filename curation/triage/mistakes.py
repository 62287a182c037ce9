"""Where the model and the curators disagree: the Errors page's false positives and negatives,
and labels that look wrong because a confident model and the LLM both say otherwise."""

from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole, require
from curation.enums import MistakeKind, Permission
from curation.llm.latest import latest_assessment_id
from curation.task import get_task
from curation.triage.labels import current_labels, hidden_from
from db.models import Item, LLMAssessment, Score, says_positive
from models.registry import active_version_id


def _labelled_and_scored(who: HasRole, version_id: int) -> Select:
    labels = current_labels()
    return (
        select(Item.id, Item.title, Item.url, labels.c.label, labels.c.curator, Score.probability,
               LLMAssessment.verdict.label("llm_verdict"))
        .join(labels, labels.c.item_id == Item.id)
        .join(Score, and_(Score.item_id == Item.id, Score.model_version_id == version_id))
        .outerjoin(LLMAssessment, LLMAssessment.id == latest_assessment_id(Item.id))
        .where(~hidden_from(who, Item.id))
    )


def model_mistakes(session: Session, who: HasRole, kind: str, limit: int = 200) -> list[dict[str, Any]]:
    """Items the active model gets wrong against the curator label who may see, worst first."""
    require(who, Permission.VIEW)
    if kind not in set(MistakeKind):
        raise ValueError(f"kind must be one of {', '.join(MistakeKind)}, not {kind!r}")
    version_id = active_version_id(session)
    if version_id is None:
        return []
    task = get_task()
    query = _labelled_and_scored(who, version_id)
    if kind == MistakeKind.FALSE_POSITIVE:
        query = query.where(query.selected_columns.label == task.negative_label,
                            says_positive(Score.probability)).order_by(Score.probability.desc())
    else:
        query = query.where(query.selected_columns.label == task.positive_label,
                            ~says_positive(Score.probability)).order_by(Score.probability)
    return [dict(row._mapping) for row in session.execute(query.limit(limit))]


def suspect_labels(session: Session, who: HasRole, confidence: float = 0.9,
                   limit: int = 200) -> list[dict[str, Any]]:
    """Labels contradicted both by a model at least `confidence` sure and by the LLM verdict."""
    require(who, Permission.VIEW)
    version_id = active_version_id(session)
    if version_id is None:
        return []
    task = get_task()
    query = _labelled_and_scored(who, version_id)
    label = query.selected_columns.label
    says_positive = (label == task.negative_label) & (Score.probability >= confidence) & (
        LLMAssessment.verdict == task.positive_label)
    says_negative = (label == task.positive_label) & (Score.probability <= 1 - confidence) & (
        LLMAssessment.verdict == task.negative_label)
    query = query.where(says_positive | says_negative).order_by(Item.id).limit(limit)
    return [dict(row._mapping) for row in session.execute(query)]
