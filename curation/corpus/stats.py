"""Counts for `stats` and the app's header."""

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole
from curation.triage.labels import current_labels, hidden_from
from db.models import Decision, Item, ModelVersion


def collection_stats(session: Session, who: HasRole) -> dict[str, Any]:
    """The label counts are those who may see (labels.hidden_from), so Items' "Labelled" matches
    its table."""
    labels = current_labels()
    per_label = dict(session.execute(select(labels.c.label, func.count())
                                     .where(~hidden_from(who, labels.c.item_id))
                                     .group_by(labels.c.label)).all())
    per_status = dict(
        session.execute(select(Item.fetch_status, func.count()).group_by(Item.fetch_status)).all()
    )
    return {
        "items": session.scalar(select(func.count(Item.id))) or 0,
        "labelled": sum(per_label.values()),
        "labels": per_label,
        "fetch_status": per_status,
        "decisions": session.scalar(select(func.count(Decision.id))) or 0,
        "model_versions": session.scalar(select(func.count(ModelVersion.id))) or 0,
    }
