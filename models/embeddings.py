"""The embedding store: each text's window vectors, their character spans and the pooled document
vector, computed once per (encoder identity, content hash) and kept in the database.

With a frozen encoder (the CPU default) these vectors are a pure function of (encoder, text), so
training, the rescore after a promotion, the refit after each decision, similar items and
near-duplicates read them instead of running the encoder again. A changed text has a new content
hash and is embedded again; a fine-tuned encoder hashes to another identity and gets its own rows.
Embedding runs in chunks of documents, each committed on its own: a worker killed mid-way loses
at most one chunk and the next run resumes with what is still missing. A stored row that does not
decode (corrupt or cut short) is deleted with a logged reason and computed again, never a crash.

Reading what is stored, without torch, lives in models.vectors."""

from functools import lru_cache

import numpy as np
import torch
from sqlalchemy import delete, exists, func, select
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
from models.vectors import STORED_DTYPE, Stored, log_corrupt, read_stored, stored_columns, stored_join, unpack

CHUNK_DOCS = 32  # documents embedded and committed together: a killed worker loses one chunk at most


def pack(windows: torch.Tensor, spans: list[tuple[int, int]]) -> dict[str, object]:
    """The row values for one text's window vectors (float32 in, float16 stored)."""
    vectors = windows.detach().float().cpu()
    return {"dim": int(vectors.shape[1]), "n_windows": int(vectors.shape[0]),
            "document": document_vector(vectors).numpy().astype(STORED_DTYPE).tobytes(),
            "head_input": head_input(vectors).numpy().astype(STORED_DTYPE).tobytes(),
            "spans": np.asarray(spans, dtype=np.int32).reshape(-1, 2).tobytes(),
            "windows": vectors.numpy().astype(STORED_DTYPE).tobytes()}


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


def _drop_unreadable(session: Session, identity: str, item_ids: list[int]) -> int:
    """Delete this encoder's rows of the given items that do not decode, saying why, so the next
    embed pass recomputes them."""
    owned = rows_where_in(session, select(Item.id, Item.content_hash), Item.id, item_ids)
    hashes = {digest for _, digest in owned}
    rows = rows_where_in(session, stored_columns(identity), Embedding.content_hash, hashes)
    bad = [(row.id, reason) for row in rows if isinstance(reason := unpack(row), str)]
    log_corrupt(bad)
    if bad:
        session.execute(delete(Embedding).where(Embedding.id.in_([row_id for row_id, _ in bad])))
    return len(bad)


def _missing_query(identity: str, item_ids: list[int] | None):  # type: ignore[no-untyped-def]
    stored = exists().where(stored_join(identity))
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
