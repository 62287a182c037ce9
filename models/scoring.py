"""Score items with the active model version: `python -m curation score`.

With a frozen encoder a score is the head applied to stored vectors (models.embeddings): the
probability from the head input, the driving passage from the window with the highest head
logit and its stored character span, and the item's density for the queue's density order
(models.density). The encoder runs only on texts not yet stored.

Incremental: only items with text and no score from the active version are scored. A whole
rescore (after a promotion or a refit) is a matrix product over the stored head inputs,
written in bulk before the version goes live, so the queue never ranks by a half-scored model;
the passages follow in chunks. While no trained version is active, a cold-start similarity scorer
built from the labelled examples' stored vectors is used (and rebuilt when the labels change), and
every summary says which scorer is in use."""

import time
from typing import Any

import numpy as np
from sqlalchemy import and_, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from curation.enums import ModelStatus
from curation.errors import ModelError
from curation.progress import ProgressFn, no_progress
from curation.settings import get_settings
from db.lookups import rows_where_in
from db.models import SCORE_MARGIN, Item, ModelVersion, Score, ScoringRun, utcnow
from db.session import session_scope
from models import registry
from models.classifier import WindowClassifier
from models.coldstart import centroid_classifier
from models.crossval import Head
from models.data import Labelled, labelled_items
from models.density import density, keep, kept_centre, unlabelled_centre
from models.embeddings import embed_missing, stored_for
from models.loading import load_version
from models.registry import describe
from models.vectors import Stored, stored_matrices

CHUNK_ITEMS = 256  # items scored and committed together: progress survives an interruption
WRITE_CHUNK = 10_000  # score rows per bulk insert


def head_of(model: WindowClassifier) -> Head:
    return Head(model.head.weight.detach().float().cpu().numpy()[0], float(model.head.bias.detach()))


def probabilities(head: Head, vectors: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-head.logits(vectors)))


def passage(head: Head, stored: Stored, text: str) -> str:
    """The text of the window whose head logit is highest."""
    start, end = stored.spans[int(np.argmax(head.logits(stored.windows)))]
    return text[int(start):int(end)]


def forget_superseded_scores(session: Session, previous: ModelVersion | None) -> None:
    """Drop the scores of the version just replaced if it was made by the loop itself (a refit
    after a decision, a cold-start rebuild): one per decision would keep 100k rows each. Its
    folder stays, so a rollback to it works and the score job scores with it again."""
    if previous is not None and (previous.metrics.get("trigger") == "decision"
                                 or previous.status == ModelStatus.COLD_START):
        session.execute(delete(Score).where(Score.model_version_id == previous.id))


def _build_cold_start(items: list[Labelled], n_labels: int) -> int:
    model = centroid_classifier(items)
    staged = registry.staging_folder()
    model.save(staged)
    description = f"similarity to {n_labels} labelled examples"
    with session_scope() as session:
        forget_superseded_scores(session, registry.active_version(session))
        version = registry.register(
            session, staged, base_model=model.config.base_model, n_train=n_labels,
            metrics={"scorer": description, "encoder": model.encoder_identity},
            status=ModelStatus.COLD_START, active=True,
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


def _summary(version: ModelVersion, done: int, started: float, **extra: Any) -> dict[str, Any]:
    seconds = time.perf_counter() - started
    return {"scored": done, "version_id": version.id, "base_model": version.base_model,
            "scorer": describe(version), "seconds": round(seconds, 2),
            "items_per_second": round(done / seconds, 2) if done else None, **extra}


def score_new(version: ModelVersion, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score the items `version` has not scored, chunk by chunk: the encoder runs only on texts
    not yet stored; every score is written with its passage."""
    started = time.perf_counter()
    model = load_version(version)
    head = head_of(model)
    with session_scope() as session:
        total = session.scalar(select(func.count(Item.id)).where(_unscored_by(version.id)))
    done, after = 0, 0
    while True:
        with session_scope() as session:
            chunk = _unscored(session, version.id, after)
        if not chunk:
            break
        ids = [item_id for item_id, _ in chunk]
        embed_missing(model, ids)
        now = utcnow()
        with session_scope() as session:
            stored = stored_for(session, model, ids)
            around = kept_centre(session, session.get_one(ModelVersion, version.id), model.encoder_identity)
            session.execute(insert(Score), [
                {"item_id": item_id, "model_version_id": version.id, "created_at": now,
                 "probability": float(probabilities(head, stored[item_id].head_input[None])[0]),
                 "density": float(density(stored[item_id].document[None], around)[0]),
                 "passage": passage(head, stored[item_id], text)}
                for item_id, text in chunk
            ])
        after, done = chunk[-1][0], done + len(chunk)
        progress(done, total, "scoring items")
    if done:  # measured seconds: the classifier's cost per 1,000 items in the agreement report
        with session_scope() as session:
            session.add(ScoringRun(model_version_id=version.id, items=done,
                                   seconds=time.perf_counter() - started, device=model.device.type))
    return _summary(version, done, started)


def write_all_probabilities(version: ModelVersion) -> int:
    """Replace the version's scores with head(head input) and density for every stored item, in
    bulk and in one transaction, and keep the density centre on the version for items scored
    later; passages are left for fill_passages. Returns the number written."""
    model = load_version(version)
    head = head_of(model)
    now = utcnow()
    with session_scope() as session:
        ids, (inputs, documents) = stored_matrices(session, model.encoder_identity, ("head_input", "document"))
        around = unlabelled_centre(session, ids, documents)
        keep(session, version.id, around)
        session.execute(delete(Score).where(Score.model_version_id == version.id))
        for start in range(0, len(ids), WRITE_CHUNK):
            chunk = slice(start, start + WRITE_CHUNK)
            p, d = probabilities(head, inputs[chunk]), density(documents[chunk], around)
            session.execute(insert(Score), [
                {"item_id": int(i), "model_version_id": version.id, "probability": float(q),
                 "density": float(w), "passage": None, "created_at": now}
                for i, q, w in zip(ids[chunk], p, d, strict=True)])
    return len(ids)


def fill_passages(version: ModelVersion, progress: ProgressFn = no_progress) -> int:
    """Write the driving passage of every score of the version that has none, chunk by chunk and
    the most uncertain first: those are the items the queue serves next."""
    model = load_version(version)
    head = head_of(model)
    with session_scope() as session:
        pending = list(session.scalars(select(Score.item_id).where(
            Score.model_version_id == version.id, Score.passage.is_(None)).order_by(SCORE_MARGIN)))
    for start in range(0, len(pending), CHUNK_ITEMS):
        ids = pending[start:start + CHUNK_ITEMS]
        with session_scope() as session:
            texts = dict(rows_where_in(session, select(Item.id, Item.text), Item.id, ids))
            stored = stored_for(session, model, ids)
            session.connection().execute(
                update(Score.__table__).where(Score.item_id == bindparam("item"),
                                              Score.model_version_id == version.id)
                .values(passage=bindparam("text")),
                [{"item": i, "text": passage(head, stored[i], texts[i])} for i in ids])
        progress(start + len(ids), len(pending), "marking driving passages")
    return len(pending)


def score_unscored(*, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score items with text that have no score from the active version."""
    return score_new(ensure_scorer(), progress)


def rescore_all(*, progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Score every item with text again with the active version (e.g. after a rollback)."""
    started = time.perf_counter()
    version = ensure_scorer()
    written = write_all_probabilities(version)
    fill_passages(version, progress)
    new = score_new(version, progress)
    return _summary(version, written + new["scored"], started)
