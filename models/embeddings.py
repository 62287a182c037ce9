"""The embedding store: each text's window vectors, their character spans and the pooled document
vector, computed once per (encoder identity, content hash) and kept in the database.

With a frozen encoder (the CPU default) these vectors are a pure function of (encoder, text), so
training, the rescore after a promotion, the refit after each decision, similar items and
near-duplicates read them instead of running the encoder again. A changed text has a new content
hash and is embedded again; a fine-tuned encoder hashes to another identity and gets its own rows.
Embedding runs in chunks of documents, each committed on its own: a worker killed mid-way loses
at most one chunk and the next run resumes with what is still missing. A stored row that does not
decode (corrupt or cut short) is deleted with a logged reason and computed again, never a crash.

Public API for other code: document_matrix(session) and document_vectors(session, item_ids)."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from curation.progress import ProgressFn, no_progress
from curation.settings import get_settings
from curation.task import get_task
from db.lookups import rows_where_in
from db.models import Embedding, Item, utcnow
from db.session import session_scope
from models import registry
from models.base import frozen_base
from models.classifier import ClassifierConfig, WindowClassifier, document_vector, head_input
from models.loading import load_version
from models.runtime import device, use_compute_dtype

log = logging.getLogger(__name__)

CHUNK_DOCS = 32  # documents embedded and committed together: a killed worker loses one chunk at most
STORED_DTYPE = np.float16  # half the bytes of float32; a cosine or a logit moves in the 3rd decimal


@dataclass(frozen=True)
class Stored:
    windows: np.ndarray  # float16 (n_windows, dim), each L2-normalised
    spans: np.ndarray  # int32 (n_windows, 2): character span of each window in the text
    document: np.ndarray  # float16 (dim,): L2-normalised mean of the windows
    head_input: np.ndarray  # float16 (dim,): what the head reads (classifier.head_input)


def pack(windows: torch.Tensor, spans: list[tuple[int, int]]) -> dict[str, object]:
    """The row values for one text's window vectors (float32 in, float16 stored)."""
    vectors = windows.detach().float().cpu()
    return {"dim": int(vectors.shape[1]), "n_windows": int(vectors.shape[0]),
            "document": document_vector(vectors).numpy().astype(STORED_DTYPE).tobytes(),
            "head_input": head_input(vectors).numpy().astype(STORED_DTYPE).tobytes(),
            "spans": np.asarray(spans, dtype=np.int32).reshape(-1, 2).tobytes(),
            "windows": vectors.numpy().astype(STORED_DTYPE).tobytes()}


def unpack(row: Any) -> Stored | str:
    """The stored vectors, or why the row cannot be read."""
    width = np.dtype(STORED_DTYPE).itemsize
    expected = {"document": row.dim * width, "head_input": row.dim * width,
                "windows": row.n_windows * row.dim * width, "spans": row.n_windows * 8}
    for column, size in expected.items():
        if len(getattr(row, column) or b"") != size:
            return f"{column} holds {len(getattr(row, column) or b'')} bytes, expected {size}"
    document = np.frombuffer(row.document, dtype=STORED_DTYPE)
    head = np.frombuffer(row.head_input, dtype=STORED_DTYPE)
    windows = np.frombuffer(row.windows, dtype=STORED_DTYPE).reshape(row.n_windows, row.dim)
    if row.n_windows == 0 or not all(np.isfinite(a).all() for a in (document, head, windows)):
        return "no windows or a value that is not a finite number"
    return Stored(windows, np.frombuffer(row.spans, dtype=np.int32).reshape(-1, 2), document, head)


@lru_cache(maxsize=2)
def default_encoder(base_model: str | None = None) -> WindowClassifier:
    """The frozen encoder new items are embedded with while no model version is active: the
    configured base model (or the packaged one it falls back to) with the configured windows."""
    settings, task = get_settings(), get_task()
    base = frozen_base(base_model)
    config = ClassifierConfig(base.name, settings.window_tokens, settings.window_overlap,
                              task.positive_label, task.negative_label)
    return use_compute_dtype(WindowClassifier(base.encoder, base.tokenizer, config).to(device()).eval())


def encoder_in_use(session: Session) -> WindowClassifier:
    """The active version's model, else the default encoder: whose vectors count right now."""
    active = registry.active_version(session)
    return load_version(active) if active else default_encoder()


def identity_in_use(session: Session) -> str:
    """encoder_in_use's identity, read from the version row when it is recorded there."""
    active = registry.active_version(session)
    if active and active.metrics.get("encoder"):
        return str(active.metrics["encoder"])
    return encoder_in_use(session).encoder_identity


def _stored_join(identity: str):  # type: ignore[no-untyped-def]
    return and_(Embedding.content_hash == Item.content_hash, Embedding.encoder == identity)


def document_matrix(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """(item ids as int64, float16 matrix n x d of L2-normalised document vectors) for every item
    with text whose vector is stored for the encoder in use, in item-id order. A row that does not
    decode is left out (and logged); the next embed pass computes it again."""
    return stored_matrix(session, identity_in_use(session))


def stored_matrix(session: Session, identity: str, column: str = "document") -> tuple[np.ndarray, np.ndarray]:
    """document_matrix for a given encoder identity; column="head_input" for what the head reads."""
    rows = session.execute(
        select(Item.id, Embedding.id, Embedding.dim, getattr(Embedding, column))
        .join(Embedding, _stored_join(identity)).where(Item.text.is_not(None)).order_by(Item.id)
    ).all()
    width = np.dtype(STORED_DTYPE).itemsize
    dims = {dim for _, _, dim, _ in rows}
    good = [r for r in rows if len(r[3]) == r[2] * width]
    _log_corrupt([(row_id, f"{column} of the wrong length") for _, row_id, _, _ in set(rows) - set(good)])
    if not good or len(dims) != 1:
        dim = dims.pop() if len(dims) == 1 else 0
        return np.zeros(0, dtype=np.int64), np.zeros((0, dim), dtype=STORED_DTYPE)
    ids = np.fromiter((r[0] for r in good), dtype=np.int64, count=len(good))
    matrix = np.frombuffer(b"".join(r[3] for r in good), dtype=STORED_DTYPE).reshape(len(good), -1)
    return ids, matrix


def document_vectors(session: Session, item_ids: list[int]) -> dict[int, np.ndarray]:
    """The stored document vector (float16, L2-normalised) of each given item that has one."""
    return {item_id: stored.document for item_id, stored in read_stored(session, identity_in_use(session),
                                                                        item_ids).items()}


def read_stored(session: Session, identity: str, item_ids: Iterable[int]) -> dict[int, Stored]:
    """The stored vectors of the given items for one encoder; unreadable rows are logged and skipped.
    Two look-ups (items' hashes, then rows by the unique (encoder, hash) index) rather than a join,
    which SQLite would plan as a scan of every row of the encoder."""
    owners: dict[str, list[int]] = {}
    for item_id, digest in rows_where_in(session, select(Item.id, Item.content_hash), Item.id, item_ids):
        owners.setdefault(digest, []).append(item_id)
    out, corrupt = {}, []
    for row in rows_where_in(session, _stored_columns(identity), Embedding.content_hash, list(owners)):
        stored = unpack(row)
        if isinstance(stored, str):
            corrupt.append((row.id, stored))
            continue
        for item_id in owners[row.content_hash]:
            out[item_id] = stored
    _log_corrupt(corrupt)
    return out


def _log_corrupt(rows: list[tuple[int, str]]) -> None:
    for row_id, reason in rows:
        log.warning("stored embedding %s cannot be read (%s); it will be computed again", row_id, reason)


def _stored_columns(identity: str):  # type: ignore[no-untyped-def]
    """One encoder's rows as plain tuples (no ORM objects: at 100k items that is seconds)."""
    return select(Embedding.id, Embedding.content_hash, Embedding.dim, Embedding.n_windows,
                  Embedding.document, Embedding.head_input, Embedding.spans, Embedding.windows,
                  ).where(Embedding.encoder == identity)


def _drop_unreadable(session: Session, identity: str, item_ids: list[int]) -> int:
    """Delete this encoder's rows of the given items that do not decode, saying why, so the next
    embed pass recomputes them."""
    owned = rows_where_in(session, select(Item.id, Item.content_hash), Item.id, item_ids)
    hashes = {digest for _, digest in owned}
    rows = rows_where_in(session, _stored_columns(identity), Embedding.content_hash, hashes)
    bad = [(row.id, reason) for row in rows if isinstance(reason := unpack(row), str)]
    _log_corrupt(bad)
    if bad:
        session.execute(delete(Embedding).where(Embedding.id.in_([row_id for row_id, _ in bad])))
    return len(bad)


def _missing_query(identity: str, item_ids: list[int] | None):  # type: ignore[no-untyped-def]
    stored = exists().where(_stored_join(identity))
    query = select(Item.id, Item.content_hash, Item.text).where(Item.text.is_not(None), ~stored)
    return query if item_ids is None else query.where(Item.id.in_(item_ids))


def _insert_ignoring_copies(session: Session, rows: list[dict[str, object]]) -> None:
    """Insert rows; one another worker stored meanwhile (same encoder and hash) is kept as is."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(Embedding).on_conflict_do_nothing(
        index_elements=[Embedding.encoder, Embedding.content_hash]), rows)


def _embed_chunk(model: WindowClassifier, chunk: list[tuple[int, str, str]]) -> list[dict[str, object]]:
    """One forward pass over every window of the chunk's distinct texts (batched across documents)."""
    texts = {digest: text for _, digest, text in chunk}
    windows = {digest: model.windows(text) for digest, text in texts.items()}
    flat = [w.input_ids for ws in windows.values() for w in ws]
    with torch.no_grad():
        vectors = model.embed_sorted(flat, get_settings().score_batch_size).split(
            [len(ws) for ws in windows.values()])
    now = utcnow()
    return [{"encoder": model.encoder_identity, "content_hash": digest, "created_at": now,
             **pack(v, [(w.start, w.end) for w in ws])}
            for (digest, ws), v in zip(windows.items(), vectors, strict=True)]


def embed_missing(model: WindowClassifier, item_ids: list[int] | None = None,
                  progress: ProgressFn = no_progress) -> dict[str, int]:
    """Embed every item with text (or only item_ids) that has no vectors for the model's encoder,
    a chunk of documents per transaction. Returns how many texts were embedded. (A stored row
    that does not decode is found, and recomputed, by whoever reads it: stored_for.)"""
    identity, done, embedded = model.encoder_identity, 0, 0
    model.eval()
    slices = [None] if item_ids is None else [item_ids[i:i + 500] for i in range(0, len(item_ids), 500)]
    with session_scope() as session:
        total = sum(session.scalar(select(func.count()).select_from(
            _missing_query(identity, ids).subquery())) or 0 for ids in slices)
    for ids in slices:
        after = 0
        while True:
            with session_scope() as session:
                chunk = list(session.execute(_missing_query(identity, ids).where(Item.id > after)
                                             .order_by(Item.id).limit(CHUNK_DOCS)).all())
            if not chunk:
                break
            rows = _embed_chunk(model, [(i, digest, text) for i, digest, text in chunk])
            with session_scope() as session:
                _insert_ignoring_copies(session, rows)
            after, done, embedded = chunk[-1][0], done + len(chunk), embedded + len(rows)
            progress(done, total, "embedding documents")
    return {"embedded": embedded}


def stored_for(session: Session, model: WindowClassifier, item_ids: list[int]) -> dict[int, Stored]:
    """The vectors of the given items for the model's encoder, embedding in this session only what
    is not stored (or does not decode). For work that embeds many texts, embed_missing first:
    it commits per chunk."""
    identity = model.encoder_identity
    stored = read_stored(session, identity, item_ids)
    absent = [i for i in item_ids if i not in stored]
    if not absent:
        return stored
    _drop_unreadable(session, identity, absent)
    missing = [row for ids in (absent[i:i + 500] for i in range(0, len(absent), 500))
               for row in session.execute(_missing_query(identity, ids).order_by(Item.id)).all()]
    for start in range(0, len(missing), CHUNK_DOCS):
        _insert_ignoring_copies(session, _embed_chunk(model, missing[start:start + CHUNK_DOCS]))
    return {**stored, **read_stored(session, identity, absent)}
