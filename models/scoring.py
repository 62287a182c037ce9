"""Score items with the active model version: `python -m curation score`.

Incremental: only items with text and no score from the active version are scored, so after a
promotion everything is scored again and otherwise only new items. While no trained version is
active, a cold-start similarity scorer built from the labelled examples is used (and rebuilt when
the labels change), and every summary says which scorer is in use."""

import time
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, select
from sqlalchemy.orm import Session

from curation.enums import ModelStatus
from curation.errors import ModelError
from curation.progress import ProgressFn, no_progress
from curation.settings import get_settings
from db.models import Item, ModelVersion, Score, ScoringRun, utcnow
from db.session import session_scope
from models import registry
from models.coldstart import centroid_classifier
from models.data import Labelled, labelled_items
from models.loading import load_version
from models.registry import describe

CHUNK_ITEMS = 32  # items scored and committed together: progress survives an interruption


def _build_cold_start(items: list[Labelled], n_labels: int) -> int:
    model = centroid_classifier([i.text for i in items], [i.y for i in items],
                                get_settings().score_batch_size)
    staged = registry.staging_folder()
    model.save(staged)
    description = f"similarity to {n_labels} labelled examples"
    with session_scope() as session:
        version = registry.register(
            session, staged, base_model=model.config.base_model, n_train=n_labels,
            metrics={"scorer": description}, status=ModelStatus.COLD_START, active=True,
        )
        return version.id


def ensure_scorer() -> ModelVersion:
    """The active version; while none is trained, a cold-start scorer kept up to date with the labels."""
    with session_scope() as session:
        active = registry.active_version(session)
        if active and active.status == ModelStatus.TRAINED:
            return active
        items = labelled_items(session)
    if len({i.y for i in items}) < 2:
        if active:
            return active
        raise ModelError("no scorer yet: label at least one item of each label (or import labelled "
                         "rows), then score again; `python -m curation train` needs "
                         f"{get_settings().min_labels_per_class} of each")
    if active is None or active.n_train != len(items):
        _build_cold_start(items, len(items))
    with session_scope() as session:
        return registry.active_version(session)


def score_texts(texts: list[str]) -> list[tuple[float, str]]:
    """(probability of the positive label, driving passage) for each text, with the active scorer."""
    model = load_version(ensure_scorer())
    return [(p.probability, p.passage) for p in model.predict(texts, get_settings().score_batch_size)]


def _unscored_by(version_id: int) -> Any:
    """Items with text that version_id has not scored yet."""
    scored = exists().where(Score.item_id == Item.id, Score.model_version_id == version_id)
    return and_(Item.text.is_not(None), ~scored)


def _unscored(session: Session, version_id: int, after_id: int) -> list[tuple[int, str]]:
    return list(session.execute(
        select(Item.id, Item.text).where(_unscored_by(version_id), Item.id > after_id)
        .order_by(Item.id).limit(CHUNK_ITEMS)
    ).all())


def _score(version: ModelVersion, *, everything: bool, progress: ProgressFn) -> dict[str, Any]:
    started = time.perf_counter()
    model = load_version(version)
    with session_scope() as session:
        if everything:
            session.execute(delete(Score).where(Score.model_version_id == version.id))
        total = session.scalar(select(func.count(Item.id)).where(_unscored_by(version.id)))
    done, after = 0, 0
    while True:
        with session_scope() as session:
            chunk = _unscored(session, version.id, after)
        if not chunk:
            break
        predictions = model.predict([text for _, text in chunk], get_settings().score_batch_size)
        now = utcnow()
        with session_scope() as session:
            session.execute(insert(Score), [
                {"item_id": item_id, "model_version_id": version.id, "probability": p.probability,
                 "passage": p.passage, "created_at": now}
                for (item_id, _), p in zip(chunk, predictions, strict=True)
            ])
        after, done = chunk[-1][0], done + len(chunk)
        progress(done, total, "scoring items")
    seconds = time.perf_counter() - started
    if done:  # measured seconds: the classifier's cost per 1,000 items in the agreement report
        with session_scope() as session:
            session.add(ScoringRun(model_version_id=version.id, items=done, seconds=seconds,
                                   device=getattr(getattr(model, "device", None), "type", "cpu")))
    return {"scored": done, "version_id": version.id, "base_model": version.base_model,
            "scorer": describe(version), "seconds": round(seconds, 2),
            "items_per_second": round(done / seconds, 2) if done else None}


def score_unscored(*, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score items with text that have no score from the active version."""
    return _score(ensure_scorer(), everything=False, progress=progress)


def rescore_all(*, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score every item with text again with the active version (e.g. after a promotion)."""
    return _score(ensure_scorer(), everything=True, progress=progress)
