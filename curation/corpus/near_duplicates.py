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

from collections.abc import Iterator
from itertools import compress

import numpy as np
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from curation.settings import get_settings
from db.bulk import insert_many
from db.lookups import rows_where_in
from db.models import Item, MinhashBand, MinhashSignature

NUM_PERM = 32
BANDS = 8  # 8 bands of 4 rows: a pair at Jaccard 0.8 is a candidate with probability 0.985
ROWS = NUM_PERM // BANDS
MAX_BYTES = 100_000  # a document that repeats its first 100 KB is the same document
GROUP_BYTES = 1 << 18  # text hashed in one pass (>= MAX_BYTES): ~45,000 words, an 11 MB shingle array
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
# Positions run over a whole group of joined documents, which GROUP_BYTES bounds.
_POW = np.cumprod(np.r_[1, np.full(GROUP_BYTES - 1, _P)].astype(np.uint64), dtype=np.uint64)
_INV = np.cumprod(np.r_[1, np.full(GROUP_BYTES - 1, pow(_P, -1, 2**64))].astype(np.uint64), dtype=np.uint64)
_WORD_BYTE = np.zeros(256, dtype=bool)  # letters, digits, _ and every byte of a non-ASCII letter
_WORD_BYTE[[*b"abcdefghijklmnopqrstuvwxyz0123456789_", *range(128, 256)]] = True
_WORD_BYTES_ONLY = bytes(byte if _WORD_BYTE[byte] else 0 for byte in range(256))  # bytes.translate table


def _encoded(document: str) -> bytes:
    return document[:MAX_BYTES].lower().encode("utf-8", "ignore")[:MAX_BYTES]


def _groups(encoded: list[bytes]) -> Iterator[range]:
    """Runs of documents at most GROUP_BYTES long once joined by spaces (a document is at most
    MAX_BYTES), so the byte and shingle arrays of one pass stay a few MB whatever a chunk holds."""
    start, size = 0, 0
    for index, data in enumerate(encoded):
        if size and size + len(data) > GROUP_BYTES:
            yield range(start, index)
            start, size = index, 0
        size += len(data) + 1
    if start < len(encoded):
        yield range(start, len(encoded))


def _word_hashes(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Every word's hash and its document's index, for documents joined by a space (a word never
    crosses one). A hash is shifted back to its word's start, so it does not depend on where the
    word lies, nor on the company its document keeps."""
    # Bytes between words become 0 (bytes.translate: a tenth of what numpy's table look-up took),
    # so a word's hash is the sum of its stretch up to the next word's start (reduceat), with no
    # prefix sum over every byte.
    data = np.frombuffer(b" ".join(encoded).translate(_WORD_BYTES_ONLY), dtype=np.uint8)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)) + 1
    offsets = np.cumsum(lengths) - lengths
    inside = np.concatenate(([False], data != 0, [False]))
    starts = np.flatnonzero(inside[1:] != inside[:-1])[::2]
    if not len(starts):
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    with np.errstate(over="ignore"):
        hashes = np.add.reduceat(data * _POW[: len(data)], starts) * _INV[starts]
    return hashes, np.searchsorted(offsets, starts, side="right") - 1


def _group_signatures(encoded: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Which documents have words, and (documents, NUM_PERM) signatures (zeros for those without)."""
    words, docs = _word_hashes(encoded)
    counts = np.bincount(docs, minlength=len(encoded))
    # The value at word i: the shingle it starts if its document has two more words after it,
    # the word itself in a document of one or two words, none otherwise; still in document order.
    triple = np.zeros(len(words), dtype=bool)
    triple[:-2] = docs[:-2] == docs[2:]
    values = words.copy()
    with np.errstate(over="ignore"):
        values[:-2][triple[:-2]] = ((words[:-2] * _SHINGLE[0] + words[1:-1]) * _SHINGLE[1] + words[2:])[triple[:-2]]
        keep = triple | (counts[docs] < 3)
        values, owners = values[keep], docs[keep]
        result = np.zeros((len(encoded), NUM_PERM), dtype=np.uint64)
        if len(values):
            firsts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            hashed = np.multiply.outer(_A, values)  # permutations by rows: the minimum runs along memory
            hashed += _B[:, None]
            result[owners[firsts]] = np.minimum.reduceat(hashed, firsts, axis=1).T
    return counts > 0, result


def signatures(documents: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The MinHash signatures of many texts at once: (a bool mask of the texts that have words,
    their (n, NUM_PERM) signatures). One pass of array operations over a group of documents, not
    one per document: per-call overhead, not arithmetic, is what a short text costs."""
    encoded = [_encoded(document) for document in documents]
    groups = [_group_signatures([encoded[i] for i in group]) for group in _groups(encoded)]
    if not groups:
        return np.zeros(0, dtype=bool), np.zeros((0, NUM_PERM), dtype=np.uint64)
    mask = np.concatenate([has_words for has_words, _ in groups])
    return mask, np.concatenate([sigs for _, sigs in groups])[mask]


def signature(document: str) -> np.ndarray | None:
    """The MinHash signature (NUM_PERM uint64) of a text's 3-word shingles (its words when it
    has fewer than three), or None when it has no words."""
    mask, sigs = signatures([document])
    return sigs[0] if mask[0] else None


def band_keys(sigs: np.ndarray) -> np.ndarray:
    """One signed 64-bit key per band (the database's BIGINT), the band's number mixed in:
    (n, BANDS) for (n, NUM_PERM) signatures."""
    with np.errstate(over="ignore"):
        keys = (sigs.reshape(len(sigs), BANDS, ROWS) * _ROW).sum(axis=2) + _BAND
    return keys.view(np.int64)


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
    """For new items (id, text): link each to the most similar earlier item at or above the
    threshold, or band it as a new original. Returns {item id: original id}."""
    documents = sorted(documents)
    return mark_signed(session, [item_id for item_id, _ in documents],
                       signatures([document for _, document in documents]))


def mark_signed(session: Session, ids: list[int], signed: tuple[np.ndarray, np.ndarray]) -> dict[int, int]:
    """mark_near_duplicates for texts already signed: ids ascending, signed what signatures()
    returned for their texts (worked out beforehand, as import does while it writes)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_ID})
    needed = get_settings().near_duplicate_threshold * NUM_PERM  # equal positions, exact in floats
    mask, sigs = signed
    ids = list(compress(ids, mask))
    keys = band_keys(sigs)
    buckets = _stored_candidates(session, set(keys.ravel().tolist()))
    known = _signatures(session, {i for members in buckets.values() for i in members})
    # Every signature a check may compare with, as rows of one array: stored ones, then the chunk's.
    pool = np.concatenate([np.stack(list(known.values())), sigs]) if known else sigs
    row = {item_id: r for r, item_id in enumerate([*known, *ids])}
    alone = _alone(keys, buckets)
    links: dict[int, int] = {}
    bands, stored = _band_alone(np.array(ids, dtype=np.int64)[alone], keys[alone], sigs[alone])
    for r in np.flatnonzero(~alone).tolist():  # in id order: a row is checked against the rows before it
        item_id = ids[r]
        candidates = sorted({c for key in keys[r].tolist() for c in buckets.get(key, ())})
        if candidates:
            equal = (pool[[row[c] for c in candidates]] == sigs[r]).sum(axis=1)
            best = int(np.argmax(equal))  # the earliest of the most similar
            if equal[best] >= needed:
                links[item_id] = candidates[best]
                continue
        for key in keys[r].tolist():
            bucket = buckets.setdefault(key, [])
            if len(bucket) < BUCKET_CAP:
                bucket.append(item_id)
                bands.append((key, item_id))
        stored.append((item_id, sigs[r].tobytes()))
    _store(session, bands, stored, links)
    return links


def _alone(keys: np.ndarray, buckets: dict[int, list[int]]) -> np.ndarray:
    """Which rows share no band key with a stored item nor with another row of the chunk: they
    have no candidate whatever comes before them, so they are banded at once, without the check's
    per-row loop (most rows of a real import)."""
    flat = keys.ravel()
    _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    shared = (counts[inverse] > 1) | np.isin(flat, np.fromiter(buckets, dtype=np.int64, count=len(buckets)))
    return ~shared.reshape(keys.shape).any(axis=1)


def _band_alone(ids: np.ndarray, keys: np.ndarray, sigs: np.ndarray) -> tuple[list[tuple[int, int]], list[tuple[int, bytes]]]:
    """The band rows and signature rows of rows without candidates: every band goes in."""
    bands = list(zip(keys.ravel().tolist(), np.repeat(ids, keys.shape[1]).tolist(), strict=True))
    return bands, list(zip(ids.tolist(), map(np.ndarray.tobytes, sigs), strict=True))


def _store(session: Session, bands: list[tuple[int, int]], signatures: list[tuple[int, bytes]],
           links: dict[int, int]) -> None:
    """Bands and signatures go to the driver's executemany: even Core's per-row parameter
    processing would cost more than the check."""
    insert_many(session, MinhashBand.__table__, ("band_key", "item_id"), bands)
    insert_many(session, MinhashSignature.__table__, ("item_id", "signature"), signatures)
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
