"""Import speed: `python bench/import.py [--sizes 10000 100000]`.

Times our import (validate everything, canonicalise, dedup by chunked indexed lookups, bulk
insert in one transaction) against a naive importer (one ORM object and one duplicate lookup per
row) on the same synthetic rows in the same run, and shows how the rate holds as the table grows
by importing the largest set in ten slices into one database."""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEXT_BYTES = 2000  # about 2 KB of text per row, like a short article


def make_rows(n: int, start: int = 0) -> list[dict]:
    filler = "lorem ipsum dolor sit amet " * (TEXT_BYTES // 27)
    return [
        {"text": f"Post {i} {filler}"[:TEXT_BYTES], "answer": "accept" if i % 2 else "reject",
         "meta": {"url": f"https://Example.com/p/{i}/?utm_source=x", "title": f"Post {i}"}}
        for i in range(start, start + n)
    ]


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def fresh_database(folder: Path) -> None:
    from curation.settings import get_settings
    from db.migrate import upgrade
    from db.session import reset_caches

    os.environ["CURATION_HOME"] = str(folder)
    os.environ.pop("CURATION_DATABASE_URL", None)
    get_settings.cache_clear()
    reset_caches()
    upgrade()


def ours(path: Path) -> float:
    from curation.files.importing import import_file
    from db.session import session_scope

    started = time.perf_counter()
    with session_scope() as session:
        import_file(session, path)
    return time.perf_counter() - started


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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        naive_file = write(tmp_path / "naive.jsonl", make_rows(args.naive_rows))
        fresh_database(tmp_path / "naive")
        naive_rate = args.naive_rows / naive(naive_file)
        fresh_database(tmp_path / "ours-same")
        ours_rate = args.naive_rows / ours(naive_file)
        print(f"same {args.naive_rows} rows: ours {ours_rate:,.0f} rows/s, naive {naive_rate:,.0f} rows/s, "
              f"ratio {ours_rate / naive_rate:.1f}x")
        for n in args.sizes:
            fresh_database(tmp_path / f"ours-{n}")
            rate = n / ours(write(tmp_path / f"rows-{n}.jsonl", make_rows(n)))
            print(f"{n:,} rows into an empty table: {rate:,.0f} rows/s")
        largest = max(args.sizes)
        fresh_database(tmp_path / "growing")
        slices = []
        for s in range(10):
            rows = make_rows(largest // 10, start=s * largest // 10)
            slices.append(len(rows) / ours(write(tmp_path / f"slice-{s}.jsonl", rows)))
        print("growing table, rows/s per tenth: " + ", ".join(f"{r:,.0f}" for r in slices)
              + f" (last/first {slices[-1] / slices[0]:.2f})")


if __name__ == "__main__":
    main()
