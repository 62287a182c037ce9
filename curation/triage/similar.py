"""More like this: the k items nearest to one item by cosine of the stored document vectors,
with their current label and active score, so a curator can decide several at once.

Brute force: one matrix-vector product over every stored vector. The vectors are unit length, so
the product is the cosine. The float16 matrix from the store is turned into float32 once and
kept per encoder identity until the store changes (count and newest row id of that encoder's
embeddings, one indexed aggregate per call), because numpy multiplies float16 without BLAS,
about 20x slower, and reading 100k blobs from the database costs more than the product. At 100k
x 384 the product takes milliseconds; past a few million vectors (or with many concurrent
users) an approximate index pays: pgvector HNSW on PostgreSQL, or FAISS IVF-PQ beside SQLite."""

from dataclasses import dataclass
from threading import Lock

import numpy as np
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from curation.accounts.permissions import HasRole, require
from curation.enums import Permission
from curation.errors import SimilarError
from curation.triage.labels import shown_label
from db.lookups import rows_where_in
from db.models import Embedding, Item, Score
from models.registry import active_version_id
from models.vectors import document_matrix, identity_in_use

MAX_K = 100
_cache: dict[str, tuple[tuple[int, int | None], np.ndarray, np.ndarray]] = {}
_cache_lock = Lock()


@dataclass
class SimilarHit:
    id: int
    similarity: float
    title: str | None
    label: str | None
    score: float | None


def _matrix(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """(item ids, float32 unit vectors) of the store for the encoder in use, cached until it changes."""
    identity = identity_in_use(session)
    stamp = tuple(session.execute(select(func.count(Embedding.id), func.max(Embedding.id))
                                  .where(Embedding.encoder == identity)).one())
    with _cache_lock:
        cached = _cache.get(identity)
        if cached and cached[0] == stamp:
            return cached[1], cached[2]
    ids, matrix = document_matrix(session)
    entry = (stamp, ids, matrix.astype(np.float32))
    with _cache_lock:
        _cache.clear()  # one encoder is in use at a time; an old one's matrix is dead weight
        _cache[identity] = entry
    return entry[1], entry[2]


def nearest(matrix: np.ndarray, query: np.ndarray, k: int, exclude: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and cosines of the k rows most similar to query, best first, row `exclude` left out."""
    similarities = matrix @ query
    similarities[exclude] = -np.inf
    k = min(k, len(similarities) - 1)
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    top = np.argpartition(-similarities, k - 1)[:k]
    top = top[np.argsort(-similarities[top], kind="stable")]
    return top, similarities[top]


def similar_items(session: Session, who: HasRole, item_id: int, k: int = 10) -> list[SimilarHit]:
    """The k items most like item_id, most similar first, with the label who may see and the
    active score."""
    require(who, Permission.VIEW)
    if not 1 <= k <= MAX_K:
        raise SimilarError(f"k {k} is out of range; give 1 to {MAX_K}")
    if session.get(Item, item_id) is None:
        raise SimilarError(f"no item with id {item_id}; `python -m curation search QUERY` lists ids")
    ids, matrix = _matrix(session)
    position = int(np.searchsorted(ids, item_id))
    if position >= len(ids) or ids[position] != item_id:
        raise SimilarError(f"item {item_id} has no stored document vector yet; the worker embeds new "
                           "items (or run `python -m curation score`), then try again")
    top, similarities = nearest(matrix, matrix[position], k, position)
    found = [int(i) for i in ids[top]]
    version_id = active_version_id(session)
    query = (select(Item.id, Item.title, shown_label(who, Item.id).label("label"), Score.probability)
             .outerjoin(Score, and_(Score.item_id == Item.id, Score.model_version_id == version_id)))
    details = {row.id: row for row in rows_where_in(session, query, Item.id, found)}
    return [SimilarHit(id=i, similarity=round(float(s), 4), title=details[i].title,
                       label=details[i].label, score=details[i].probability)
            for i, s in zip(found, similarities, strict=True) if i in details]
