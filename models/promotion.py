"""The promotion gate: a trained version becomes active only if its holdout F1 is not worse than
the active version's on the same holdout. Training calls it; a person choosing a version on the
Model page goes through registry.promote_as instead, which skips the gate."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from curation.enums import ModelStatus
from curation.errors import ModelError
from db.models import Item, ModelVersion
from models.loading import load_version, predict_metrics
from models.registry import activate, active_version, check_promotable, get_version


def _holdout_f1(session: Session, version: ModelVersion, candidate: ModelVersion) -> float:
    """The version's F1 on the candidate's holdout: stored at training time when it was the one
    compared against, else computed now."""
    compared = candidate.metrics.get("compared_with") or {}
    if compared.get("version_id") == version.id:
        return float(compared["f1"])
    ids, labels = candidate.metrics["holdout_item_ids"], candidate.metrics["holdout_labels"]
    texts = dict(session.execute(select(Item.id, Item.text).where(Item.id.in_(ids))).all())
    return predict_metrics(load_version(version), [texts[i] or "" for i in ids], labels)["f1"]


def promote(session: Session, version_id: int, *, force: bool = False) -> ModelVersion:
    """Activate a trained version if its holdout F1 is not worse than the active version's on the
    same holdout. A cold-start scorer is always replaced; force skips the gate."""
    candidate = get_version(session, version_id)
    check_promotable(candidate)
    current = active_version(session)
    if current and current.id != candidate.id and current.status == ModelStatus.TRAINED and not force:
        new_f1 = candidate.metrics["holdout"]["f1"]
        old_f1 = _holdout_f1(session, current, candidate)
        if new_f1 < old_f1:
            raise ModelError(
                f"model version {candidate.id} has holdout F1 {new_f1:.3f}, worse than the active "
                f"version {current.id} ({old_f1:.3f}) on the same holdout; it stays inactive. "
                "Pass --force to promote it anyway."
            )
    activate(session, candidate)
    return candidate
