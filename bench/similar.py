"""More-like-this latency: `python bench/similar.py [--items 100000] [--dim 384]`.

Fills a SQLite database with N items and a random unit document vector each (float16, as the
embedding store keeps them), then times similar_items (a float32 copy of the store cached until
it changes, one BLAS product) against a naive way in the same run (read the store, multiply the
float16 matrix, sort everything) for random items. Prints p50/p95 and the ratio."""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert  # noqa: E402

from bench.latency import p50_p95_ms  # noqa: E402
from curation.accounts.permissions import Actor  # noqa: E402
from curation.enums import ModelStatus, Role  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from curation.triage.similar import similar_items  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Embedding, Item, ModelVersion  # noqa: E402
from db.session import reset_caches, session_scope  # noqa: E402
from models.vectors import document_matrix  # noqa: E402

VIEWER = Actor("bench", Role.VIEWER)
CALLS = 100


def fill(n: int, dim: int) -> None:
    rng = np.random.default_rng(n)
    with session_scope() as session:
        session.add(ModelVersion(base_model="bench", n_train=0, metrics={"encoder": "bench"}, path="-",
                                 status=ModelStatus.TRAINED, active=True))
        for start in range(0, n, 5000):
            count = min(n, start + 5000) - start
            vectors = rng.standard_normal((count, dim)).astype(np.float32)
            vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float16)
            session.execute(insert(Item), [
                {"canonical_url": f"https://e.com/{i}", "source_type": "web", "title": f"T{i}",
                 "text": "body", "content_hash": f"h{i}", "fetch_status": "ok"} for i in range(start, start + count)])
            session.execute(insert(Embedding), [
                {"encoder": "bench", "content_hash": f"h{start + j}", "dim": dim, "n_windows": 1,
                 "document": vectors[j].tobytes(), "head_input": vectors[j].tobytes(), "spans": b"\0" * 8,
                 "windows": vectors[j].tobytes()}
                for j in range(count)])


def ours(item_id: int) -> int:
    with session_scope() as session:
        return len(similar_items(session, VIEWER, item_id, k=10))


def naive(item_id: int) -> int:
    with session_scope() as session:
        ids, matrix = document_matrix(session)
        position = int(np.searchsorted(ids, item_id))
        order = np.argsort(-(matrix @ matrix[position]))
        return len([i for i in ids[order[:11]] if i != item_id])



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CURATION_HOME"] = tmp
        os.environ["CURATION_DATABASE_URL"] = f"sqlite:///{tmp}/similar.db"
        get_settings.cache_clear()
        reset_caches()
        upgrade()
        fill(args.items, args.dim)
        rng = np.random.default_rng(0)
        probes = [int(i) for i in rng.integers(1, args.items + 1, CALLS)]
        started = time.perf_counter()
        ours(probes[0])
        first = (time.perf_counter() - started) * 1000
        (p50, p95), (n50, n95) = p50_p95_ms(ours, probes), p50_p95_ms(naive, probes[:20])
        print(f"{args.items:,} x {args.dim} vectors: ours p50 {p50:.1f} ms p95 {p95:.1f} ms (first call, "
              f"filling the cache: {first:.0f} ms) | naive p50 {n50:.1f} ms p95 {n95:.1f} ms | "
              f"p95 ratio {n95 / p95:.1f}x")


if __name__ == "__main__":
    main()
