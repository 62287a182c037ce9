"""Search latency: `python bench/search.py [--items 100000] [--postgres URL]`.

Fills a database with N items of random text over a 5,000-word vocabulary (Zipf-like, so some
words are common and some rare), then times search_items for one- and two-word queries with
our full-text index (FTS5 on SQLite, tsvector+GIN on PostgreSQL) against a naive search (LIKE
'%word%' over title and text) in the same run. Prints p50/p95 and the ratio."""

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert, or_, select, text  # noqa: E402

from bench.latency import p50_p95_ms  # noqa: E402
from curation.accounts.permissions import Actor  # noqa: E402
from curation.enums import Role  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from curation.triage.search import search_items  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Item  # noqa: E402
from db.session import get_engine, reset_caches, session_scope  # noqa: E402

VOCABULARY = [f"w{i}" for i in range(5000)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
QUERIES = 100
VIEWER = Actor("bench", Role.VIEWER)


def fill(n: int, words: int = 100) -> None:
    rng = random.Random(n)
    with session_scope() as session:
        for start in range(0, n, 5000):
            session.execute(insert(Item), [
                {"canonical_url": f"https://e.com/{i}", "source_type": "web", "title": f"T{i}",
                 "text": " ".join(rng.choices(VOCABULARY, WEIGHTS, k=words)), "fetch_status": "ok"}
                for i in range(start, min(n, start + 5000))])


def ours(query: str) -> int:
    with session_scope() as session:
        return len(search_items(session, VIEWER, query))


def naive(query: str) -> int:
    """Every word somewhere in title or text, by LIKE: a scan of every row's text."""
    with session_scope() as session:
        statement = select(Item.id)
        for word in query.split():
            statement = statement.where(or_(Item.title.like(f"%{word}%"), Item.text.like(f"%{word}%")))
        return len(session.scalars(statement.order_by(Item.id.desc()).limit(20)).all())



def run(name: str, url: str, n: int) -> None:
    os.environ["CURATION_DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_caches()
    upgrade()
    started = time.perf_counter()
    fill(n)
    print(f"{name}: filled {n:,} items in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    rng = random.Random(1)
    queries = [" ".join(rng.choices(VOCABULARY[:2000], k=rng.choice([1, 2]))) for _ in range(QUERIES)]
    (p50, p95), (n50, n95) = p50_p95_ms(ours, queries), p50_p95_ms(naive, queries[: QUERIES // 5])
    print(f"{name} {n:,} items: ours p50 {p50:.1f} ms p95 {p95:.1f} ms | naive LIKE p50 {n50:.1f} ms "
          f"p95 {n95:.1f} ms | p95 ratio {n95 / p95:.1f}x")
    get_engine().dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CURATION_HOME"] = tmp
        run("sqlite", f"sqlite:///{tmp}/search.db", args.items)
    schema = f"bench_search_{uuid.uuid4().hex[:8]}"
    with get_engine(args.postgres).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        run("postgresql", f"{args.postgres}?options=-csearch_path%3D{schema}", args.items)
    finally:
        with get_engine(args.postgres).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
