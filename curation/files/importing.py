"""Import research-radar rows: strip the title/URL header, canonicalise URLs, keep one item per
URL and per content, link near-duplicates to the item they repeat, and turn answers into
decisions by the curator "import"; a duplicate row gives its item what it brings (a label,
missing text). One import is one transaction: either every valid row lands or, on a bad row or
conflicting labels, none does. The search index and the scores follow in jobs."""

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from curation.corpus.near_duplicates import mark_signed, signatures
from curation.corpus.text import content_hash, split_header
from curation.corpus.urls import canonicalize_url, without_userinfo
from curation.enums import IMPORT_CURATOR, FetchStatus, OnConflict, SourceType
from curation.errors import ImportFileError
from curation.files.duplicates import Target, describe, plan_rows, resolve
from curation.files.rows import CSV_COLUMNS, Row, RowError, ignored_columns, read_rows
from curation.progress import ProgressFn, no_progress
from curation.task import get_task
from db.bulk import insert_rows
from db.models import Decision, Item, utcnow

CHUNK = 500  # rows per insert; well under SQLite's bound-parameter limit
MAX_LISTED_ERRORS = 20


@dataclass
class ImportResult:
    imported: int = 0
    labelled: int = 0
    duplicates: int = 0
    filled: int = 0  # stored items without text that a duplicate row gave their text
    skipped: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # what each duplicate row did
    seconds: float = 0.0

    def summary(self, path: Path) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "labelled": self.labelled,
            "duplicates": self.duplicates,
            "filled": self.filled,
            "duplicate_rows": self.lines,
            "skipped": [e.describe(path) for e in self.skipped],
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
        }


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _to_record(row: Row) -> dict[str, Any]:
    header_title, header_url, body = split_header(row.text)
    given = row.meta.url or header_url
    url = without_userinfo(given) if given else None
    has_text = bool(body.strip())
    return {
        "url": url,
        "canonical_url": canonicalize_url(url) if url else None,
        "source_type": SourceType.IMPORT.value,
        "title": row.meta.title or header_title,
        "author": row.meta.author or None,
        "published_at": row.meta.published_date,
        "text": body if has_text else None,
        "content_hash": content_hash(body) if has_text else None,
        # A header with no article keeps its item and label; ingest fetches the text later.
        "fetch_status": (FetchStatus.OK if has_text else FetchStatus.PENDING).value,
        "fetched_at": None,
        "search_pending": True,  # the index job adds it: see curation/corpus/search_index.py
    }


Record = tuple[int, dict[str, Any], str | None]  # (line, item columns, answer)


def _validate(path: Path, skip_invalid: bool) -> tuple[list[Record], list[RowError]]:
    """Read the whole file before writing anything, so a bad line cannot leave half an import."""
    labels = get_task().labels
    records, errors = [], []
    for number, row in read_rows(path):
        if isinstance(row, Row) and row.answer is not None and row.answer not in labels:
            row = RowError(line=number, reason=f"answer: unknown label {row.answer!r}; "
                                               f"expected one of {', '.join(labels)}")
        if isinstance(row, RowError):
            errors.append(row)
        else:
            records.append((number, _to_record(row), row.answer))
    if errors and not skip_invalid:
        raise ImportFileError(
            f"{len(errors)} invalid row(s), nothing imported:\n{_listed([e.describe(path) for e in errors])}"
            "\nFix the rows, or pass --skip-invalid to import the valid ones."
        )
    return records, errors


def _listed(lines: list[str]) -> str:
    more = len(lines) - MAX_LISTED_ERRORS
    return "\n".join(lines[:MAX_LISTED_ERRORS]) + (f"\n... and {more} more" if more > 0 else "")


def _refuse_conflicts(path: Path, conflicts: list[str]) -> None:
    if conflicts:
        raise ImportFileError(
            f"{path}: {len(conflicts)} item(s) get conflicting labels, nothing imported:\n"
            f"{_listed(conflicts)}\nFix the rows, or pass --on-conflict keep (the first or stored "
            "label), replace (the file's last label) or skip (leave those items' labels alone)."
        )


def _decision(target: Target, now: datetime) -> dict[str, Any]:
    return {"item_id": target.item_id, "label": target.label, "curator": IMPORT_CURATOR, "created_at": now,
            "adjudicated": False}


def _insert_items(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert items, returning their ids in row order. The ids are taken first, so the rows go
    in as one bulk write rather than an INSERT ... RETURNING per row (SQLAlchemy cannot order a
    multi-row RETURNING on SQLite; on PostgreSQL a row each is a round trip each): on SQLite
    the transaction holds the write lock (BEGIN IMMEDIATE), so the ids SQLite would give,
    max(id) + 1 onwards, are free; on PostgreSQL the sequence hands them out."""
    if session.get_bind().dialect.name == "postgresql":
        ids = sorted(session.scalars(select(func.nextval(func.pg_get_serial_sequence("items", "id")))
                                     .select_from(func.generate_series(1, len(rows)))))
    else:
        first = (session.scalar(select(func.max(Item.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
    insert_rows(session, Item.__table__, [row | {"id": item_id} for row, item_id in zip(rows, ids, strict=True)])
    return ids


def _insert_new(session: Session, new: list[Target], now: datetime, result: ImportResult,
                progress: ProgressFn) -> None:
    """Insert the new items chunk by chunk and check each chunk for near-duplicates. A thread
    works out the MinHash signatures meanwhile: numpy and SQLite both let go of the GIL while
    they work, so on two cores the signatures cost little of the import's time. A failed insert
    cancels the signatures not yet begun, so the error is not kept waiting."""
    chunks = list(_chunks(new, CHUNK))
    signer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minhash")
    try:
        signed = [signer.submit(signatures, [t.record["text"] for t in chunk if t.record["text"]])
                  for chunk in chunks]
        for chunk, chunk_signed in zip(chunks, signed, strict=True):
            ids = _insert_items(session, [target.record | {"created_at": now} for target in chunk])
            for item_id, target in zip(ids, chunk, strict=True):
                target.item_id = item_id
            mark_signed(session, [t.item_id for t in chunk if t.record["text"]], chunk_signed.result())
            result.imported += len(chunk)
            progress(result.imported, len(new), "importing rows")
    finally:
        signer.shutdown(cancel_futures=True)


def import_file(session: Session, path: Path, *, skip_invalid: bool = False,
                on_conflict: OnConflict | None = None, progress: ProgressFn = no_progress) -> ImportResult:
    """Import a .jsonl or .csv file of research-radar rows into the session's transaction. A row
    that duplicates an item keeps what it brings (see curation/files/duplicates.py)."""
    started = time.perf_counter()
    records, errors = _validate(path, skip_invalid)
    plan = plan_rows(session, records)
    _refuse_conflicts(path, resolve(plan, on_conflict))
    result = ImportResult(duplicates=len(plan.duplicates), skipped=errors)
    if ignored := ignored_columns(path):
        result.warnings.append(f"{path}: column(s) {', '.join(map(repr, ignored))} ignored; import "
                               f"reads {', '.join(CSV_COLUMNS)}")
    _insert_new(session, plan.new, utcnow(), result, progress)
    for target in plan.stored:
        if target.fill:
            session.execute(update(Item).where(Item.id == target.item_id).values(**target.fill))
            result.filled += 1
    now = utcnow()
    decisions = [_decision(t, now) for t in [*plan.new, *plan.stored] if t.label is not None]
    for chunk in _chunks(decisions, CHUNK):
        insert_rows(session, Decision.__table__, chunk)
    result.labelled = len(decisions)
    result.lines = [describe(duplicate, on_conflict) for duplicate in plan.duplicates]
    result.seconds = time.perf_counter() - started
    return result


def item_count(session: Session) -> int:
    return session.scalar(select(func.count(Item.id))) or 0
