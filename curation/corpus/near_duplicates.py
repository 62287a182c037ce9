"""Near-duplicates by MinHash over word shingles, with LSH band keys stored in the database.

Why MinHash rather than embedding cosine: it needs no model, so it runs at import and ingest
before anything is embedded (and where no embedding is ever made), and it costs tens of
microseconds per document in numpy, which keeps import above 5,000 rows/s. It also measures
what "the same article again" means, shared wording, where cosine also pulls together different
articles on one topic.

Each item's signature is NUM_PERM minimum hashes of its 3-word shingles; the estimated Jaccard
similarity of two items is the share of equal positions. The signature is cut into BANDS bands;
two items that agree on a whole band are candidates. Band keys sit in minhash_bands under a
primary key, so finding candidates is an index look-up per band, never a scan. An item found to
be a near-duplicate points at the earlier one (near_duplicate_of) and is not banded itself, so
a bucket holds one entry per distinct text however often it repeats.

On PostgreSQL the check-and-band step holds a transaction advisory lock, so two ingests at the
same moment see each other's items; SQLite's writers already take turns (BEGIN IMMEDIATE)."""

import numpy as np
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from curation.settings import get_settings
from db.lookups import rows_where_in
from db.models import Item, MinhashBand, MinhashSignature

NUM_PERM = 32
BANDS = 8  # 8 bands of 4 rows: a pair at Jaccard 0.8 is a candidate with probability 0.985
ROWS = NUM_PERM // BANDS
MAX_BYTES = 100_000  # a document that repeats its first 100 KB is the same document
# Items kept per band key. Templated pages can share bands and still fall below the threshold;
# without a cap their bucket, and every check against it, would grow with the corpus.
BUCKET_CAP = 32
LOCK_ID = 0x6E656172  # pg_advisory_xact_lock key for near-duplicate marking ("near")

_rng = np.random.default_rng(20261201)  # fixed: stored signatures must match across processes
_A = _rng.integers(1, 2**63, NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _rng.integers(0, 2**63, NUM_PERM, dtype=np.uint64)
_ROW = _rng.integers(1, 2**63, ROWS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_BAND = _rng.integers(1, 2**63, BANDS, dtype=np.uint64)
_SHINGLE = _rng.integers(1, 2**63, 2, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
# Word hashes are polynomial in an odd base P, modulo 2**64. With prefix sums of byte * P**i, a
# word's hash is a difference times P**-start (odd numbers are invertible modulo 2**64): every
# word of a document hashed at once in numpy, no Python loop over words.
_P = 1_000_003
_POW = np.cumprod(np.r_[1, np.full(MAX_BYTES - 1, _P)].astype(np.uint64), dtype=np.uint64)
_INV = np.cumprod(np.r_[1, np.full(MAX_BYTES - 1, pow(_P, -1, 2**64))].astype(np.uint64), dtype=np.uint64)
_WORD_BYTE = np.zeros(256, dtype=bool)  # letters, digits, _ and every byte of a non-ASCII letter
_WORD_BYTE[[*b"abcdefghijklmnopqrstuvwxyz0123456789_", *range(128, 256)]] = True


def _word_hashes(document: str) -> np.ndarray:
    data = np.frombuffer(document[:MAX_BYTES].lower().encode("utf-8", "ignore")[:MAX_BYTES], dtype=np.uint8)
    inside = np.concatenate(([False], _WORD_BYTE[data], [False]))
    edges = np.flatnonzero(inside[1:] != inside[:-1])
    starts, ends = edges[::2], edges[1::2]
    with np.errstate(over="ignore"):
        prefix = np.concatenate(([np.uint64(0)], np.cumsum(data * _POW[: len(data)], dtype=np.uint64)))
        return (prefix[ends] - prefix[starts]) * _INV[starts]


def signature(document: str) -> np.ndarray | None:
    """The MinHash signature (NUM_PERM uint64) of a text's 3-word shingles (its words when it
    has fewer than three), or None when it has no words."""
    words = _word_hashes(document)
    if not len(words):
        return None
    with np.errstate(over="ignore"):
        if len(words) >= 3:
            words = (words[:-2] * _SHINGLE[0] + words[1:-1]) * _SHINGLE[1] + words[2:]
        return (words[:, None] * _A + _B).min(axis=0)


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (the database's BIGINT), the band's number mixed in."""
    with np.errstate(over="ignore"):
        keys = (sig.reshape(BANDS, ROWS) * _ROW).sum(axis=1) + _BAND
    return keys.view(np.int64).tolist()


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (for tuning the threshold)."""
    return float(np.mean(a == b))


def _stored_candidates(session: Session, keys: set[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for key, item_id in rows_where_in(session, select(MinhashBand.band_key, MinhashBand.item_id),
                                      MinhashBand.band_key, keys):
        found.setdefault(key, []).append(item_id)
    return found


def _signatures(session: Session, ids: set[int]) -> dict[int, np.ndarray]:
    query = select(MinhashSignature.item_id, MinhashSignature.signature)
    return {item_id: np.frombuffer(blob, dtype=np.uint64)
            for item_id, blob in rows_where_in(session, query, MinhashSignature.item_id, ids)}


def mark_near_duplicates(session: Session, documents: list[tuple[int, str]]) -> dict[int, int]:
    """For new items (id, text), in id order: link each to the most similar earlier item at or
    above the threshold, or band it as a new original. Returns {item id: original id}."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_ID})
    threshold = get_settings().near_duplicate_threshold
    signed = [(item_id, sig, band_keys(sig)) for item_id, document in sorted(documents)
              if (sig := signature(document)) is not None]
    buckets = _stored_candidates(session, {key for _, _, keys in signed for key in keys})
    known = _signatures(session, {i for ids in buckets.values() for i in ids})
    links: dict[int, int] = {}
    bands, signatures = [], []
    for item_id, sig, keys in signed:
        candidates = sorted({c for key in keys for c in buckets.get(key, ())})
        if candidates:
            similar = (np.stack([known[c] for c in candidates]) == sig).mean(axis=1)
            best = int(np.argmax(similar))  # the earliest of the most similar
            if similar[best] >= threshold:
                links[item_id] = candidates[best]
                continue
        known[item_id] = sig
        for key in keys:
            bucket = buckets.setdefault(key, [])
            if len(bucket) < BUCKET_CAP:
                bucket.append(item_id)
                bands.append({"band_key": key, "item_id": item_id})
        signatures.append({"item_id": item_id, "signature": sig.tobytes()})
    _store(session, bands, signatures, links)
    return links


def _store(session: Session, bands: list[dict], signatures: list[dict], links: dict[int, int]) -> None:
    """Core executemany statements: the ORM's per-row bookkeeping would cost more than the check."""
    if bands:
        session.execute(insert(MinhashBand.__table__), bands)
    if signatures:
        session.execute(insert(MinhashSignature.__table__), signatures)
    if links:
        items = Item.__table__
        session.execute(update(items).where(items.c.id == bindparam("item")).values(
            near_duplicate_of=bindparam("original")),
            [{"item": i, "original": o} for i, o in links.items()])


def near_duplicates_of(session: Session, item_id: int) -> list[int]:
    """The other items of this item's group: its original and everything linked to that."""
    original = session.scalar(select(Item.near_duplicate_of).where(Item.id == item_id)) or item_id
    members = session.scalars(select(Item.id).where(Item.near_duplicate_of == original)
                              .order_by(Item.id))
    return [i for i in [original, *members] if i != item_id]
