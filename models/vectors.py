"""Reading the embedding store without torch: the stored vectors of items, decoded and checked.

Pages and the CLI's triage commands read vectors (More like this) and must start without loading
an encoder, so this module imports numpy and the database only; models.embeddings computes and
writes the vectors. Which encoder's vectors count is identity_in_use: the one the active version
records, else the one the newest stored row was made with (new items are always embedded with
the encoder in use, so the newest pass is it)."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from db.lookups import rows_where_in
from db.models import Embedding, Item
from models import registry

log = logging.getLogger(__name__)

STORED_DTYPE = np.float16  # half the bytes of float32; a cosine or a logit moves in the 3rd decimal


@dataclass(frozen=True)
class Stored:
    windows: np.ndarray  # float16 (n_windows, dim), each L2-normalised
    spans: np.ndarray  # int32 (n_windows, 2): character span of each window in the text
    document: np.ndarray  # float16 (dim,): L2-normalised mean of the windows
    head_input: np.ndarray  # float16 (dim,): what the head reads (classifier.head_input)


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


def identity_in_use(session: Session) -> str | None:
    """The encoder whose stored vectors count now (see the module docstring); None while nothing
    is stored and no active version records one."""
    active = registry.active_version(session)
    if active and active.metrics.get("encoder"):
        return str(active.metrics["encoder"])
    return session.scalar(select(Embedding.encoder).order_by(Embedding.id.desc()).limit(1))


def stored_join(identity: str | None):  # type: ignore[no-untyped-def]
    return and_(Embedding.content_hash == Item.content_hash, Embedding.encoder == identity)


def document_matrix(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """(item ids as int64, float16 matrix n x d of L2-normalised document vectors) for every item
    with text whose vector is stored for the encoder in use, in item-id order. A row that does not
    decode is left out (and logged); the next embed pass computes it again."""
    return stored_matrix(session, identity_in_use(session))


def stored_matrix(session: Session, identity: str | None, column: str = "document") -> tuple[np.ndarray, np.ndarray]:
    """document_matrix for a given encoder identity; column="head_input" for what the head reads."""
    ids, (matrix,) = stored_matrices(session, identity, (column,))
    return ids, matrix


def stored_matrices(session: Session, identity: str | None,
                    columns: tuple[str, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """stored_matrix for several columns read in one pass, row i of each for item ids[i]: a rescore
    needs the head inputs and the document vectors of the same items."""
    rows = session.execute(
        select(Item.id, Embedding.id, Embedding.dim, *(getattr(Embedding, c) for c in columns))
        .join(Embedding, stored_join(identity)).where(Item.text.is_not(None)).order_by(Item.id)
    ).all()
    width = np.dtype(STORED_DTYPE).itemsize
    dims = {r[2] for r in rows}
    good = [r for r in rows if all(len(blob) == r[2] * width for blob in r[3:])]
    log_corrupt([(r[1], f"{', '.join(columns)} of the wrong length") for r in set(rows) - set(good)])
    if not good or len(dims) != 1:
        dim = dims.pop() if len(dims) == 1 else 0
        return np.zeros(0, dtype=np.int64), [np.zeros((0, dim), dtype=STORED_DTYPE) for _ in columns]
    ids = np.fromiter((r[0] for r in good), dtype=np.int64, count=len(good))
    return ids, [np.frombuffer(b"".join(r[3 + k] for r in good), dtype=STORED_DTYPE).reshape(len(good), -1)
                 for k in range(len(columns))]


def document_vectors(session: Session, item_ids: list[int]) -> dict[int, np.ndarray]:
    """The stored document vector (float16, L2-normalised) of each given item that has one."""
    return {item_id: stored.document for item_id, stored in read_stored(session, identity_in_use(session),
                                                                        item_ids).items()}


def read_stored(session: Session, identity: str | None, item_ids: Iterable[int]) -> dict[int, Stored]:
    """The stored vectors of the given items for one encoder; unreadable rows are logged and skipped.
    Two look-ups (items' hashes, then rows by the unique (encoder, hash) index) rather than a join,
    which SQLite would plan as a scan of every row of the encoder."""
    owners: dict[str, list[int]] = {}
    for item_id, digest in rows_where_in(session, select(Item.id, Item.content_hash), Item.id, item_ids):
        owners.setdefault(digest, []).append(item_id)
    out, corrupt = {}, []
    for row in rows_where_in(session, stored_columns(identity), Embedding.content_hash, list(owners)):
        stored = unpack(row)
        if isinstance(stored, str):
            corrupt.append((row.id, stored))
            continue
        for item_id in owners[row.content_hash]:
            out[item_id] = stored
    log_corrupt(corrupt)
    return out


def log_corrupt(rows: list[tuple[int, str]]) -> None:
    for row_id, reason in rows:
        log.warning("stored embedding %s cannot be read (%s); it will be computed again", row_id, reason)


def stored_columns(identity: str | None):  # type: ignore[no-untyped-def]
    """One encoder's rows as plain tuples (no ORM objects: at 100k items that is seconds)."""
    return select(Embedding.id, Embedding.content_hash, Embedding.dim, Embedding.n_windows,
                  Embedding.document, Embedding.head_input, Embedding.spans, Embedding.windows,
                  ).where(Embedding.encoder == identity)
