"""The registry of model versions: each trained folder under CURATION_HOME/models is one row in
model_versions; exactly one (or none) is active. Older versions stay for rollback.

A version is registered only once its folder is complete: training writes into a staging folder
and register() renames it in the same transaction that inserts the row, so a half-trained model
is never registered, let alone active."""

import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, case, cast, func, select, update
from sqlalchemy.orm import Session

from curation.accounts.audit import record
from curation.accounts.permissions import HasRole, require
from curation.enums import AuditAction, ModelStatus, Permission
from curation.errors import ModelError
from curation.settings import get_settings
from db.models import ModelVersion, Score


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


def check_promotable(version: ModelVersion) -> None:
    if version.status != ModelStatus.TRAINED:
        raise ModelError(f"model version {version.id} is a {version.status} scorer, not a trained "
                         "classifier; only trained versions can be promoted")


def activate(session: Session, version: ModelVersion) -> None:
    """Make version the active one (and no other)."""
    _activate(session, version)


def rollback(session: Session, version_id: int) -> ModelVersion:
    """Make an older version active again, without the gate: the curator chose it."""
    version = get_version(session, version_id)
    if not Path(version.path).is_dir():
        raise ModelError(f"model version {version_id}'s folder {version.path} is missing; "
                         "choose another version or train a new one")
    _activate(session, version)
    return version


def promote_as(session: Session, who: HasRole, version_id: int) -> ModelVersion:
    """A person promotes a trained version they chose, without the F1 gate (training applies
    the gate; see models.promotion): admins only, and written to the audit log."""
    require(who, Permission.PROMOTE)
    previous = active_version(session)
    version = get_version(session, version_id)
    check_promotable(version)
    _activate(session, version)
    record(session, who.name, AuditAction.PROMOTE, f"model_version:{version.id}",
           {"from": previous.id if previous else None, "force": True})
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
    """Every version, oldest first, with its metrics (cross-validated; a holdout for versions
    trained before) flattened for tables and charts."""
    rows = []
    for version in reversed(list_versions(session)):
        holdout = version.metrics.get("cv") or version.metrics.get("holdout") or {}
        rows.append({"version": version.id, "created_at": version.created_at, "status": version.status,
                     "base_model": version.base_model, "n_train": version.n_train,
                     "active": version.active, **{k: holdout.get(k) for k in ("f1", "precision", "recall", "accuracy")}})
    return rows


def describe(version: ModelVersion | None) -> str:
    """One line for the UI and the CLI: which scorer a version is."""
    if version is None:
        return "no scorer: label at least one item of each label to start"
    if version.status == ModelStatus.COLD_START:
        return (f"cold start (version {version.id}): {version.metrics.get('scorer')} with "
                f"{version.base_model}; train a classifier once you have "
                f"{get_settings().min_labels_per_class} labels of each")
    note = " (fallback: the configured base model could not be loaded)" if version.metrics.get(
        "base_model_note") else ""
    cv = version.metrics.get("cv")
    measured = (f"cross-validated F1 {cv['f1']:.2f} over {cv['n']} labels" if cv
                else f"holdout F1 {version.metrics['holdout']['f1']:.2f}")
    return f"trained classifier version {version.id} on {version.base_model}{note}, {measured}"


def scorer_description(session: Session) -> str:
    """describe() of the active version."""
    return describe(active_version(session))


def score_histogram(session: Session, version_id: int, bins: int = 20) -> list[dict[str, Any]]:
    """How many scores of a version fall in each of `bins` equal bins of [0, 1], counted in SQL:
    the Model page draws 20 bars, not 100k probabilities."""
    scaled = Score.probability * bins
    floor = func.floor(scaled) if session.get_bind().dialect.name == "postgresql" else cast(scaled, Integer)
    index = case((floor >= bins, bins - 1), else_=floor)
    rows = session.execute(select(index, func.count()).where(Score.model_version_id == version_id)
                           .group_by(index)).all()
    counts = {int(b): n for b, n in rows}
    return [{"from": i / bins, "to": (i + 1) / bins, "items": counts.get(i, 0)} for i in range(bins)]