"""Next-item latency: `python bench/queue.py [--sizes 1000 10000 100000] [--postgres URL]`.

For each backend and table size, times the triage cycle a curator runs all day (serve the next
item with a lease, decide it) with our queue, in its default (density) order and in uncertainty
order, and a naive queue that loads every open item id and picks in Python, in the same run.
Prints p50/p95 per size, the ratio at the largest size, and EXPLAIN for the default order's
candidate query, to show which indexes it uses."""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

# Replace the script folder with the repo root: bench/queue.py would shadow the stdlib queue.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert, select, text  # noqa: E402

from curation.accounts.permissions import Actor  # noqa: E402
from curation.enums import ModelStatus, QueueStrategy, Role  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from curation.triage.queue import (  # noqa: E402
    Lease,
    QueueFilter,
    decide,
    eligible_items,
    first_by,
    next_item,
)
from db.migrate import upgrade  # noqa: E402
from db.models import SCORE_PRIORITY, Decision, Item, ModelVersion, Score, utcnow  # noqa: E402
from db.session import get_engine, reset_caches, session_scope  # noqa: E402

CYCLES = 200


def use_database(url: str) -> None:
    os.environ["CURATION_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_caches()
    upgrade()


def fill(n: int) -> None:
    rng = random.Random(n)
    with session_scope() as session:
        version = ModelVersion(base_model="bench", n_train=0, metrics={}, path="-", status=ModelStatus.TRAINED, active=True)
        session.add(version)
        session.flush()
        for start in range(0, n, 5000):
            ids = session.scalars(insert(Item).returning(Item.id, sort_by_parameter_order=True), [
                {"canonical_url": f"https://e.com/{i}", "source_type": "web", "title": f"T{i}",
                 "text": "body", "content_hash": f"h{i}", "fetch_status": "ok"}
                for i in range(start, min(n, start + 5000))]).all()
            session.execute(insert(Score), [{"item_id": i, "model_version_id": version.id,
                                             "probability": rng.random(), "density": rng.random()} for i in ids])
    with get_engine().connect() as conn:  # planner statistics, as a live database would have
        for table in ("items", "scores", "decisions", "leases"):
            conn.execute(text(f"ANALYZE {table}"))
        conn.commit()


def ours(strategy: QueueStrategy) -> Callable[[str], bool]:
    def cycle(curator: str) -> bool:
        who = Actor(curator, Role.CURATOR)
        with session_scope() as session:
            item = next_item(session, who, strategy=strategy)
            if item:
                decide(session, who, item.id, "accept")
        return item is not None
    return cycle


def naive(curator: str) -> bool:
    """Load every open item id, drop the labelled and leased ones in Python, take the first."""
    with session_scope() as session:
        open_ids = session.scalars(select(Item.id).order_by(Item.id)).all()
        done = set(session.scalars(select(Decision.item_id)))
        leased = set(session.scalars(select(Lease.item_id)))
        item_id = next((i for i in open_ids if i not in done and i not in leased), None)
        if item_id is not None:
            session.add(Lease(item_id=item_id, curator=curator, expires_at=utcnow()))
            session.flush()
            decide(session, Actor(curator, Role.CURATOR), item_id, "accept")
    return item_id is not None


def percentiles(step: Callable[[str], bool], cycles: int) -> tuple[float, float]:
    times = []
    for _ in range(cycles):
        started = time.perf_counter()
        step("bench")
        times.append((time.perf_counter() - started) * 1000)
    quantiles = statistics.quantiles(times, n=20)
    return quantiles[9], quantiles[18]


def explain() -> str:
    with session_scope() as session:
        version = session.scalar(select(ModelVersion.id))
        query = first_by(eligible_items("bench", QueueFilter(), utcnow()), version, SCORE_PRIORITY)
        dialect = session.get_bind().dialect
        sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
        return "\n".join("  " + " ".join(str(c) for c in row) for row in session.execute(text(prefix + sql)))


def run_backend(name: str, url_for: Callable[[int], str], sizes: list[int]) -> None:
    results = {}
    for n in sizes:
        use_database(url_for(n))
        fill(n)
        uncertainty = percentiles(ours(QueueStrategy.UNCERTAINTY), CYCLES)
        results[n] = (percentiles(ours(QueueStrategy.DENSITY), CYCLES), percentiles(naive, max(20, CYCLES // 10)))
        (p50, p95), (n50, n95) = results[n]
        print(f"{name} {n:>7,} items: ours (density) p50 {p50:6.1f} ms p95 {p95:6.1f} ms | "
              f"uncertainty p50 {uncertainty[0]:6.1f} ms p95 {uncertainty[1]:6.1f} ms | "
              f"naive p50 {n50:7.1f} ms p95 {n95:7.1f} ms")
    largest = max(sizes)
    (_, p95), (_, n95) = results[largest]
    print(f"{name}: p95 ratio naive/ours at {largest:,} items: {n95 / p95:.1f}x; "
          f"ours p95 {largest:,} vs {min(sizes):,}: {p95 / results[min(sizes)][0][1]:.2f}x")
    print(f"{name} candidate query plan:\n{explain()}")
    get_engine().dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CURATION_HOME"] = tmp
        run_backend("sqlite", lambda n: f"sqlite:///{tmp}/q{n}.db", args.sizes)
    schemas = []

    def pg_url(n: int) -> str:
        schema = f"bench_queue_{uuid.uuid4().hex[:8]}"
        schemas.append(schema)
        with get_engine(args.postgres).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        return f"{args.postgres}?options=-csearch_path%3D{schema}"

    try:
        run_backend("postgresql", pg_url, args.sizes)
    finally:
        with get_engine(args.postgres).begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
