"""Who decided how much, and how long a decision takes: the Activity page."""

import statistics
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curation.enums import IMPORT_CURATOR
from db.models import Decision


def decisions_per_day(session: Session) -> list[dict[str, Any]]:
    """Decisions that stand (not undone) per curator and UTC day; bulk imports are left out."""
    day = func.date(Decision.created_at)
    rows = session.execute(
        select(day.label("day"), Decision.curator, func.count().label("decisions"))
        .where(Decision.undone_at.is_(None), Decision.curator != IMPORT_CURATOR)
        .group_by(day, Decision.curator)
        .order_by(day, Decision.curator)
    )
    return [{"day": str(r.day), "curator": r.curator, "decisions": r.decisions} for r in rows]


def seconds_by_curator(session: Session, *where: Any) -> dict[str, list[float]]:
    """Seconds spent on each timed decision, per curator (bulk imports left out), for the
    decisions that also meet the extra conditions."""
    rows = session.execute(
        select(Decision.curator, Decision.seconds_spent)
        .where(Decision.seconds_spent.is_not(None), Decision.curator != IMPORT_CURATOR, *where)
    )
    per_curator: dict[str, list[float]] = {}
    for curator, seconds in rows:
        per_curator.setdefault(curator, []).append(seconds)
    return per_curator


def time_per_decision(session: Session) -> list[dict[str, Any]]:
    """Median and p90 seconds per decision for each curator."""
    per_curator = seconds_by_curator(session)
    return [
        {"curator": curator, "decisions": len(times), "median_s": statistics.median(times),
         "p90_s": statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]}
        for curator, times in sorted(per_curator.items())
    ]


def guideline_changes(session: Session) -> list[dict[str, Any]]:
    """Each guideline version decisions were made under, from its first to its last decision,
    oldest first: a new row is a day the guideline changed."""
    rows = session.execute(
        select(Decision.guideline_version, func.min(Decision.created_at).label("first"),
               func.max(Decision.created_at).label("last"), func.count().label("decisions"))
        .where(Decision.guideline_version.is_not(None))
        .group_by(Decision.guideline_version)
        .order_by(func.min(Decision.created_at))
    )
    return [{"guideline_version": r.guideline_version, "first_decision": r.first,
             "last_decision": r.last, "decisions": r.decisions} for r in rows]
