"""Near-duplicate checks at import: `python bench/near_duplicates.py [--rows 20000]`.

Imports the same rows (2 KB of text over a 5,000-word vocabulary, one in ten a light edit of an
earlier row) three ways in the same run: with the check switched off, with ours (MinHash bands
looked up by index), and with a naive check that compares each new signature with every stored
one. Prints rows/s and how many near-duplicates each found; also the signature cost per
document of the real dev rows and the similarity gap the threshold sits in."""

import argparse
import itertools
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import curation.files.importing as importing  # noqa: E402
from curation.corpus import near_duplicates  # noqa: E402
from curation.corpus.near_duplicates import signature, similarity  # noqa: E402
from curation.settings import get_settings  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.session import reset_caches, session_scope  # noqa: E402

VOCABULARY = [f"w{i}" for i in range(5000)]
DATA = Path("/work/shared/data")


def make_rows(n: int) -> list[dict]:
    rng = random.Random(n)
    texts: list[str] = []
    for i in range(n):
        if i >= 10 and i % 10 == 0:  # a repost: an earlier text with a sentence added
            texts.append(rng.choice(texts) + " Updated with one more sentence.")
        else:
            texts.append(" ".join(rng.choices(VOCABULARY, k=330)))
    return [{"text": t, "meta": {"url": f"https://e.com/{i}", "title": f"T{i}"}, "answer": None}
            for i, t in enumerate(texts)]


def naive_mark(session, ids, signed):  # type: ignore[no-untyped-def]
    """Compare each new signature with every stored one: a scan that grows with the corpus."""
    from sqlalchemy import bindparam, insert, select, update

    from db.models import Item, MinhashSignature

    stored = [(i, np.frombuffer(s, dtype=np.uint64)) for i, s in
              session.execute(select(MinhashSignature.item_id, MinhashSignature.signature))]
    links, rows = {}, []
    mask, sigs = signed
    for item_id, sig in zip(itertools.compress(ids, mask), sigs):
        match = next((i for i, other in stored if similarity(sig, other) >= 0.8), None)
        if match:
            links[item_id] = match
        else:
            stored.append((item_id, sig))
            rows.append({"item_id": item_id, "signature": sig.tobytes()})
    if rows:
        session.execute(insert(MinhashSignature.__table__), rows)
    if links:
        table = Item.__table__
        session.execute(update(table).where(table.c.id == bindparam("i")).values(near_duplicate_of=bindparam("o")),
                        [{"i": i, "o": o} for i, o in links.items()])
    return links


def timed_import(folder: Path, path: Path, check) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from db.models import Item

    os.environ["CURATION_HOME"] = str(folder)
    get_settings.cache_clear()
    reset_caches()
    upgrade()
    importing.mark_signed = check
    started = time.perf_counter()
    with session_scope() as session:
        importing.import_file(session, path)
    seconds = time.perf_counter() - started
    with session_scope() as session:
        found = session.scalar(select(func.count()).where(Item.near_duplicate_of.is_not(None))) or 0
    return seconds, found


def dev_rows_report() -> None:
    from curation.corpus.text import split_header

    rows = [json.loads(line) for name in ("research_radar_labeled_dev.jsonl", "research_radar_unlabeled.jsonl")
            for line in (DATA / name).open()]
    bodies = [split_header(r["text"])[2] for r in rows]
    started = time.perf_counter()
    sigs = [signature(b) for b in bodies]
    per_doc = (time.perf_counter() - started) / len(bodies) * 1e6
    pairs = sorted((similarity(sigs[i], sigs[j]) for i, j in itertools.combinations(range(len(rows)), 2)), reverse=True)
    above = [p for p in pairs if p >= get_settings().near_duplicate_threshold]
    below = next(p for p in pairs if p < get_settings().near_duplicate_threshold)
    print(f"dev+unlabelled rows ({len(rows)}, median {int(np.median([len(b) for b in bodies])):,} chars): "
          f"signature {per_doc:.0f} us/doc; {len(above)} pairs at or above the threshold "
          f"(lowest {min(above):.2f}), highest pair below it {below:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--naive-rows", type=int, default=5_000)
    args = parser.parse_args()
    dev_rows_report()
    real = near_duplicates.mark_signed
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n, ways in ((args.naive_rows, ("off", "ours", "naive")), (args.rows, ("off", "ours"))):
            path = folder / f"rows-{n}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in make_rows(n)))
            checks = {"off": lambda session, ids, signed: {}, "ours": real, "naive": naive_mark}
            results = {way: timed_import(folder / f"{way}-{n}", path, checks[way]) for way in ways}
            print(f"{n:,} rows: " + " | ".join(f"{way} {n / s:,.0f} rows/s ({found} near-duplicates)"
                                              for way, (s, found) in results.items()))


if __name__ == "__main__":
    main()
