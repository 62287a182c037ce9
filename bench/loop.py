"""The learning loop at 1k, 10k and 100k items: `python bench/loop.py [--sizes 1000 10000 100000]
[--postgres postgresql://postgres@127.0.0.1:5432/test]`.

Each size runs in a child process of its own (so peak RSS is that size's) on a fresh SQLite home
(or a fresh schema of the given PostgreSQL server, dropped afterwards):
N items whose embeddings are already stored (synthetic unit float16 vectors, 384 dimensions, a
few windows each, in the packaged MiniLM's identity), labels on 2% of them (at least 60, at most
2,000) that a random direction separates with noise. It times, ours:
- retrain + rescore: `train(promote=True)` = cross-validation over all labels, the head on all,
  the gate on the same folds, every item's score written in bulk and the version activated;
  the driving passages that follow are timed apart;
- decision -> re-ranked queue: a decision, then the refit job it queues (run inline here), until
  the new version is active with every item scored, i.e. the queue order reflects the decision.
Today's way (every retrain re-embeds every labelled document, every promotion re-reads every
item) is extrapolated from a measured sample: the packaged MiniLM embedding real dev documents
(the same code path as `score`), in the same run. That sample is also the embedding path on
real documents: a document is embedded once, at ingest, and never again."""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import numpy as np  # noqa: E402

# ../shared beside the checkout (as DESIGN.md says), or beside a worktree's parent folder
DEV = next((folder / "shared" / "data" / "research_radar_labeled_dev.jsonl"
            for folder in Path(__file__).resolve().parents
            if (folder / "shared" / "data" / "research_radar_labeled_dev.jsonl").exists()), Path("missing"))
DIM, WINDOWS = 384, 4  # MiniLM's width; a few windows per synthetic document
SAMPLE_DOCS = 12  # real documents embedded for the per-document cost


def _labels_for(n: int) -> int:
    return max(60, min(2000, n // 50))


def build(n: int) -> None:
    """N items with stored synthetic embeddings and labelled 2% of them, written in bulk."""
    from sqlalchemy import insert

    from db.models import Decision, Embedding, Item, utcnow
    from db.session import session_scope
    from models.embeddings import default_encoder
    from models.vectors import STORED_DTYPE

    identity = default_encoder().encoder_identity
    rng = np.random.default_rng(0)
    direction = rng.normal(size=DIM)
    now = utcnow()
    n_labels = _labels_for(n)
    for start in range(0, n, 10_000):
        ids = range(start + 1, min(n, start + 10_000) + 1)
        windows = rng.normal(size=(len(ids), WINDOWS, DIM)).astype(np.float32)
        windows /= np.linalg.norm(windows, axis=2, keepdims=True)
        heads = windows.mean(1)  # the head input: with at most 8 windows, the mean of all of them
        documents = heads / np.linalg.norm(heads, axis=1, keepdims=True)
        spans = np.array([[i * 50, i * 50 + 50] for i in range(WINDOWS)], dtype=np.int32).tobytes()
        with session_scope() as session:
            session.execute(insert(Item), [
                {"id": i, "canonical_url": f"https://example.com/{i}", "url": f"https://example.com/{i}",
                 "source_type": "web", "title": f"Item {i}", "text": f"Item {i}. " + "word " * 40,
                 "content_hash": f"h{i}", "fetch_status": "ok", "created_at": now} for i in ids])
            session.execute(insert(Embedding), [
                {"encoder": identity, "content_hash": f"h{i}", "dim": DIM, "n_windows": WINDOWS,
                 "document": documents[k].astype(STORED_DTYPE).tobytes(),
                 "head_input": heads[k].astype(STORED_DTYPE).tobytes(), "spans": spans,
                 "windows": windows[k].astype(STORED_DTYPE).tobytes(), "created_at": now}
                for k, i in enumerate(ids)])
            labelled = [(k, i) for k, i in enumerate(ids) if i <= n_labels]
            session.execute(insert(Decision), [
                {"item_id": i, "curator": "bench", "created_at": now,
                 "label": "accept" if documents[k] @ direction + rng.normal(scale=0.3) > 0 else "reject"}
                for k, i in labelled] or [{"item_id": 1, "curator": "bench", "label": "accept", "created_at": now}])


def one(n: int) -> dict:
    """Everything for one size, in this (child) process."""
    from curation.accounts.permissions import LOCAL_ADMIN
    from curation.triage.queue import decide, next_item
    from db.migrate import upgrade
    from db.session import session_scope
    from models.training import refit, train

    upgrade()
    started = time.perf_counter()
    build(n)
    build_s = time.perf_counter() - started

    marks: dict[str, float] = {}

    def mark_passages(done: int, total: int | None, message: str) -> None:
        marks.setdefault(message, time.perf_counter())

    started = time.perf_counter()
    first = train(promote=True, progress=mark_passages)
    ended = time.perf_counter()
    retrain_rescore_s = marks.get("marking driving passages", ended) - started
    passages_s = ended - marks.get("marking driving passages", ended)

    marks.clear()
    with session_scope() as session:
        served = next_item(session, LOCAL_ADMIN)
    started = time.perf_counter()
    with session_scope() as session:
        decide(session, LOCAL_ADMIN, served.id, "accept")
    second = refit(progress=mark_passages)
    decision_s = marks.get("marking driving passages", time.perf_counter()) - started
    return {"items": n, "labels": first["n_train"], "build_s": round(build_s, 1),
            "retrain_rescore_s": round(retrain_rescore_s, 2), "passages_s": round(passages_s, 2),
            "decision_to_reranked_s": round(decision_s, 2), "refit_promoted": second["promoted"],
            "cv_f1": first["f1"], "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def embedding_sample() -> dict:
    """Seconds per real dev document through the packaged MiniLM: what today's way pays per
    labelled document at each retrain and per item at each promotion."""
    from curation.corpus.text import split_header
    from models.embeddings import default_encoder

    model = default_encoder()
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()][:SAMPLE_DOCS]
    texts = [split_header(r["text"])[2] for r in rows]
    model.predict(["warm up"])
    started = time.perf_counter()
    model.predict(texts)
    seconds = time.perf_counter() - started
    return {"docs": len(texts), "seconds": round(seconds, 2), "seconds_per_doc": round(seconds / len(texts), 3)}


def child_env(home: str, database_url: str | None) -> dict[str, str]:
    extra = {"CURATION_DATABASE_URL": database_url} if database_url else {}
    return {**os.environ, **extra, "CURATION_HOME": home, "CURATION_BASE_MODEL": "sentence-transformers/all-MiniLM-L6-v2",
            "CURATION_HUB_OFFLINE": "1", "CURATION_MIN_LABELS_PER_CLASS": "5",
            "CURATION_RETRAIN_EVERY_LABELS": "0"}


@contextmanager
def fresh_schema(server: str | None) -> Iterator[str | None]:
    """A schema of its own on the PostgreSQL server for one child, dropped afterwards."""
    if server is None:
        yield None
        return
    import psycopg

    schema = f"bench_loop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{server.replace('postgresql://', 'postgresql+psycopg://', 1)}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--postgres", help="a PostgreSQL URL to run on instead of SQLite")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sample", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one or args.sample:
        print(json.dumps(one(args.one) if args.one else embedding_sample()))
        return

    def child(*flags: str) -> dict:
        with tempfile.TemporaryDirectory() as home, fresh_schema(args.postgres) as database_url:
            out = subprocess.run([sys.executable, __file__, *flags], env=child_env(home, database_url),
                                 check=True, capture_output=True, text=True).stdout
        return json.loads(out.strip().splitlines()[-1])

    sample = child("--sample")
    print(f"embedding path on real documents: {sample}", file=sys.stderr)
    results = []
    for n in args.sizes:
        ours = child("--one", str(n))
        naive_s = (ours["labels"] + n) * sample["seconds_per_doc"]
        ours["naive_retrain_rescore_s"] = round(naive_s)
        ours["ratio"] = round(naive_s / ours["retrain_rescore_s"], 1)
        print(f"{n} items: ours {ours['retrain_rescore_s']} s (+{ours['passages_s']} s passages), "
              f"today's way ~{naive_s / 3600:.2f} h (x{ours['ratio']}); decision -> re-ranked "
              f"{ours['decision_to_reranked_s']} s; peak RSS {ours['peak_rss_mb']} MB", file=sys.stderr)
        results.append(ours)
    print(json.dumps({"embedding_sample": sample, "sizes": results}))


if __name__ == "__main__":
    main()
