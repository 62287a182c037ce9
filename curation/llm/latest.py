"""Which LLM assessment speaks for an item: its newest one that ended in a verdict. The queue,
the error review and the agreement report all read verdicts through this one definition."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from db.models import LLMAssessment


def latest_assessment_id(item_id: Any) -> Any:
    """Scalar subquery: the id of item_id's newest assessment with a verdict and no error
    (item_id may be a column, to correlate with an outer query)."""
    latest = aliased(LLMAssessment)
    return (
        select(func.max(latest.id))
        .where(latest.item_id == item_id, latest.verdict.is_not(None), latest.error.is_(None))
        .scalar_subquery()
    )
