"""The registry of model versions: each trained folder under CURATION_HOME/models is one row in
model_versions; exactly one (or none) is active. Older versions stay for rollback.

A version is registered only once its folder is complete: training writes into a staging folder
and register() renames it in the same transaction that inserts the row, so a half-trained model
is never registered, let alone active."""

import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from curation.audit import record
from curation.enums import AuditAction, ModelStatus
from curation.errors import ModelError
from curation.permissions import HasRole, Permission, require
from curation.settings import get_settings
from db.models import Item, ModelVersion, Score


def models_dir() -> Path:
    return get_settings().home / "models"


def staging_folder() -> Path:
    """A fresh folder to save a model into before it is registered."""
    return models_dir() / f".staging-{uuid.uuid4().hex}"


def active_version(session: Session) -> ModelVersion | None:
    return session.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).first()


def active_version_id(session: Session) -> int | None:
    """Only the id, for queries that join scores of the active version."""
    return session.scalar(select(ModelVersion.id).where(ModelVersion.active.is_(True)))


def list_versions(session: Session) -> list[ModelVersion]:
    """Newest first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def get_version(session: Session, version_id: int) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise ModelError(f"model version {version_id} does not exist; `python -m curation stats` "
                         "counts the versions and the Models page lists them")
    return version


def register(session: Session, staged: Path, *, base_model: str, n_train: int, metrics: dict[str, Any],
             status: ModelStatus, active: bool = False) -> ModelVersion:
    """Insert the version, move its staged folder into place, and activate it if asked."""
    version = ModelVersion(base_model=base_model, n_train=n_train, metrics=metrics, path="",
                           status=status.value, active=False)
    session.add(version)
    session.flush()
    final = models_dir() / f"version-{version.id}"
    staged.rename(final)
    version.path = str(final.resolve())
    try:
        if active:
            _activate(session, version)
        session.flush()
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return version


def _activate(session: Session, version: ModelVersion) -> None:
    session.execute(update(ModelVersion).where(ModelVersion.id != version.id).values(active=False))
    version.active = True


def _holdout_f1(session: Session, version: ModelVersion, candidate: ModelVersion) -> float:
    """The version's F1 on the candidate's holdout: stored at training time when it was the one
    compared against, else computed now."""
    compared = candidate.metrics.get("compared_with") or {}
    if compared.get("version_id") == version.id:
        return float(compared["f1"])
    from models.metrics import classification_metrics
    from models.scoring import load_version

    ids, labels = candidate.metrics["holdout_item_ids"], candidate.metrics["holdout_labels"]
    texts = dict(session.execute(select(Item.id, Item.text).where(Item.id.in_(ids))).all())
    predictions = load_version(version).predict([texts[i] or "" for i in ids])
    return classification_metrics(labels, [p.probability for p in predictions])["f1"]


def promote(session: Session, version_id: int, *, force: bool = False) -> ModelVersion:
    """Activate a trained version if its holdout F1 is not worse than the active version's on the
    same holdout. A cold-start scorer is always replaced; force skips the gate."""
    candidate = get_version(session, version_id)
    if candidate.status != ModelStatus.TRAINED:
        raise ModelError(f"model version {version_id} is a {candidate.status} scorer, not a trained "
                         "classifier; only trained versions can be promoted")
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
    _activate(session, candidate)
    return candidate


def rollback(session: Session, version_id: int) -> ModelVersion:
    """Make an older version active again, without the gate: the curator chose it."""
    version = get_version(session, version_id)
    if not Path(version.path).is_dir():
        raise ModelError(f"model version {version_id}'s folder {version.path} is missing; "
                         "choose another version or train a new one")
    _activate(session, version)
    return version


def promote_as(session: Session, who: HasRole, version_id: int, *, force: bool = False) -> ModelVersion:
    """promote() for a person: admins only, and written to the audit log."""
    require(who, Permission.PROMOTE)
    previous = active_version(session)
    version = promote(session, version_id, force=force)
    record(session, who.name, AuditAction.PROMOTE, f"model_version:{version.id}",
           {"from": previous.id if previous else None, "force": force})
    return version


def rollback_as(session: Session, who: HasRole, version_id: int) -> ModelVersion:
    """rollback() for a person: admins only, and written to the audit log."""
    require(who, Permission.ROLLBACK)
    previous = active_version(session)
    version = rollback(session, version_id)
    record(session, who.name, AuditAction.ROLLBACK, f"model_version:{version.id}",
           {"from": previous.id if previous else None})
    return version


def version_table(session: Session) -> list[dict[str, Any]]:
    """Every version, oldest first, with its holdout metrics flattened for tables and charts."""
    rows = []
    for version in reversed(list_versions(session)):
        holdout = version.metrics.get("holdout", {})
        rows.append({"version": version.id, "created_at": version.created_at, "status": version.status,
                     "base_model": version.base_model, "n_train": version.n_train,
                     "active": version.active, **{k: holdout.get(k) for k in ("f1", "precision", "recall", "accuracy")}})
    return rows


def scores_of(session: Session, version_id: int) -> list[float]:
    """Every probability a version gave, for the score histogram."""
    return list(session.scalars(select(Score.probability).where(Score.model_version_id == version_id)))
