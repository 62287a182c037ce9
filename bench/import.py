"""Import speed: `python bench/import.py [--sizes 10000 100000] [--postgres URL]`.

Times our import (validate everything, canonicalise, dedup by chunked indexed lookups, bulk
insert in one transaction, near-duplicate check included) against a naive importer (one ORM
object and one duplicate lookup per row) on the same synthetic rows in the same run, and shows
how the rate holds as the table grows by importing the largest set in ten slices into one
database. The search index follows an import in a job (curation/corpus/search_index.py): its
time is printed beside each import's, as "searchable after". --postgres runs it all on a
PostgreSQL server instead of SQLite, each database a fresh schema, dropped afterwards.

Rows are realistic by default: about 2 KB of words drawn with Zipf's law from 50,000 words (as
in English, the ten commonest make a fifth of the text), one row in twenty a repost of an earlier
one with a sentence added. The old rows, "Post i" and the same lorem ipsum in every row, are
kept as the worst case (`alike`): every row shares MinHash bands with every other, so each
check meets a full bucket of candidates, which a real corpus almost never does."""

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from functools import cache
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/queue.py would shadow the stdlib queue

import psycopg  # noqa: E402  (after the path fix: it imports the stdlib queue)

TEXT_BYTES = 2000  # about 2 KB of text per row, like a short article
WORDS = 50_000
REPOST_EVERY = 20
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"]
_SUFFIXES = ("", "s", "ed", "ing", "ly", "er", "tion")  # so the stemmer has work, as in English


def _word(rank: int) -> str:
    """A made-up word per rank, short for common ranks: about 6 bytes a word with its space."""
    letters, r = "", rank + 1
    while r:
        r, digit = divmod(r - 1, len(_SYLLABLES))
        letters += _SYLLABLES[digit]
    return letters + _SUFFIXES[rank % len(_SUFFIXES)]


@cache
def _vocabulary() -> tuple[list[str], np.ndarray]:
    """The words, and the cumulative Zipf weights that pick them (rank r drawn in proportion to 1/r)."""
    weights = 1 / np.arange(1, WORDS + 1)
    return [_word(rank) for rank in range(WORDS)], np.cumsum(weights) / weights.sum()


def _realistic_text(i: int) -> str:
    """Text i depends on i alone, so slices of one set add up to the whole set."""
    rng = np.random.default_rng(i)
    if i >= REPOST_EVERY and i % REPOST_EVERY == 0:  # a repost of an earlier row
        return _realistic_text(int(rng.integers(0, i))) + " Updated with one more sentence."
    words, cumulative = _vocabulary()
    ranks = np.searchsorted(cumulative, rng.random(TEXT_BYTES // 5)).tolist()
    return " ".join(map(words.__getitem__, ranks))[:TEXT_BYTES].rpartition(" ")[0]


def make_rows(n: int, start: int = 0, kind: str = "realistic") -> list[dict]:
    if kind == "alike":
        filler = "lorem ipsum dolor sit amet " * (TEXT_BYTES // 27)
        texts = [f"Post {i} {filler}"[:TEXT_BYTES] for i in range(start, start + n)]
    else:
        texts = [_realistic_text(i) for i in range(start, start + n)]
    return [
        {"text": text, "answer": "accept" if i % 2 else "reject",
         "meta": {"url": f"https://Example.com/p/{i}/?utm_source=x", "title": f"Post {i}"}}
        for i, text in enumerate(texts, start=start)
    ]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


POSTGRES: str | None = None  # a server URL, from --postgres
SCHEMAS: list[str] = []


def fresh_database(folder: Path) -> None:
    """An empty, migrated database: SQLite under folder, or a new schema on the --postgres server."""
    from curation.settings import get_settings
    from db.migrate import upgrade
    from db.session import reset_caches

    os.environ["CURATION_HOME"] = str(folder)
    os.environ.pop("CURATION_DATABASE_URL", None)
    if POSTGRES:
        schema = f"bench_import_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        SCHEMAS.append(schema)
        base = POSTGRES.replace("postgresql://", "postgresql+psycopg://", 1)
        os.environ["CURATION_DATABASE_URL"] = f"{base}?options=-csearch_path%3D{schema}"
    get_settings.cache_clear()
    reset_caches()
    upgrade()


def drop_schemas() -> None:
    from db.session import reset_caches

    reset_caches()
    if POSTGRES and SCHEMAS:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            for schema in SCHEMAS:
                connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def ours(path: Path) -> float:
    from curation.files.importing import import_file
    from db.session import session_scope

    started = time.perf_counter()
    with session_scope() as session:
        import_file(session, path)
    return time.perf_counter() - started


def index_job() -> float:
    """What the index job queued by the import then takes, in seconds."""
    from curation.corpus.search_index import index_pending

    started = time.perf_counter()
    index_pending()
    return time.perf_counter() - started


def ours_then_index(n: int, path: Path) -> str:
    seconds = ours(path)
    return f"{n / seconds:,.0f} rows/s (searchable after {index_job():.1f} s more)"


def naive(path: Path) -> float:
    """What a first version would do: parse, look up, add, row by row."""
    from sqlalchemy import select

    from curation.corpus.text import content_hash, split_header
    from curation.corpus.urls import canonicalize_url
    from db.models import Decision, Item
    from db.session import session_scope

    started = time.perf_counter()
    with session_scope() as session:
        for line in path.open():
            row = json.loads(line)
            _, _, body = split_header(row["text"])
            url = canonicalize_url(row["meta"]["url"])
            digest = content_hash(body)
            if session.scalar(select(Item.id).where((Item.canonical_url == url) | (Item.content_hash == digest))):
                continue
            item = Item(canonical_url=url, url=row["meta"]["url"], source_type="import", text=body,
                        title=row["meta"]["title"], content_hash=digest, fetch_status="ok")
            session.add(item)
            session.flush()
            session.add(Decision(item_id=item.id, label=row["answer"], curator="import"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--naive-rows", type=int, default=10_000)
    parser.add_argument("--no-growing", action="store_true", help="skip the ten slices into one table")
    parser.add_argument("--postgres", help="a PostgreSQL server URL, e.g. postgresql://postgres@127.0.0.1/test")
    args = parser.parse_args()
    global POSTGRES
    POSTGRES = args.postgres
    try:
        run(args)
    finally:
        drop_schemas()


def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        largest = max(args.sizes)
        rows = make_rows(max(largest, args.naive_rows))  # row i is the same whatever the set's size
        naive_file = write(tmp_path / "naive.jsonl", rows[:args.naive_rows])
        fresh_database(tmp_path / "naive")
        naive_rate = args.naive_rows / naive(naive_file)
        fresh_database(tmp_path / "ours-same")
        ours_rate = args.naive_rows / ours(naive_file)
        print(f"same {args.naive_rows:,} rows: ours {ours_rate:,.0f} rows/s, naive {naive_rate:,.0f} rows/s, "
              f"ratio {ours_rate / naive_rate:.1f}x")
        for n in args.sizes:
            fresh_database(tmp_path / f"ours-{n}")
            print(f"{n:,} rows into an empty table: "
                  + ours_then_index(n, write(tmp_path / f"rows-{n}.jsonl", rows[:n])))
        n = min(args.sizes)
        fresh_database(tmp_path / f"alike-{n}")
        print(f"{n:,} alike rows (worst case: every row shares bands) into an empty table: "
              + ours_then_index(n, write(tmp_path / f"alike-{n}.jsonl", make_rows(n, kind="alike"))))
        if args.no_growing:
            return
        fresh_database(tmp_path / "growing")
        tenth = largest // 10
        slices = [tenth / ours(write(tmp_path / f"slice-{s}.jsonl", rows[s * tenth:(s + 1) * tenth]))
                  for s in range(10)]
        print("growing table, rows/s per tenth: " + ", ".join(f"{r:,.0f}" for r in slices)
              + f" (last/first {slices[-1] / slices[0]:.2f})")


if __name__ == "__main__":
    main()
