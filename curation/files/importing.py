"""Import research-radar rows: strip the title/URL header, canonicalise URLs, drop duplicates by
URL and by content, link near-duplicates to the item they repeat, and turn answers into
decisions by the curator "import". One import is one
transaction: either every valid row lands or, on a bad row without skip_invalid, none does."""

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from curation.corpus.near_duplicates import mark_near_duplicates
from curation.corpus.text import content_hash, split_header
from curation.corpus.urls import canonicalize_url
from curation.enums import IMPORT_CURATOR, FetchStatus, SourceType
from curation.errors import ImportFileError
from curation.files.rows import Row, RowError, read_rows
from curation.progress import ProgressFn, no_progress
from curation.task import get_task
from db.lookups import rows_where_in
from db.models import Decision, Item, utcnow

CHUNK = 500  # rows per insert; well under SQLite's bound-parameter limit
MAX_LISTED_ERRORS = 20


@dataclass
class ImportResult:
    imported: int = 0
    labelled: int = 0
    duplicates: int = 0
    skipped: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self, path: Path) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "labelled": self.labelled,
            "duplicates": self.duplicates,
            "skipped": [e.describe(path) for e in self.skipped],
            "seconds": round(self.seconds, 3),
        }


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _to_record(row: Row) -> dict[str, Any]:
    header_title, header_url, body = split_header(row.text)
    url = row.meta.url or header_url
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
    }


def _validate(path: Path, skip_invalid: bool) -> tuple[list[tuple[dict[str, Any], str | None]], list[RowError]]:
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
            records.append((_to_record(row), row.answer))
    if errors and not skip_invalid:
        listed = "\n".join(e.describe(path) for e in errors[:MAX_LISTED_ERRORS])
        more = len(errors) - MAX_LISTED_ERRORS
        raise ImportFileError(
            f"{len(errors)} invalid row(s), nothing imported:\n{listed}"
            + (f"\n... and {more} more" if more > 0 else "")
            + "\nFix the rows, or pass --skip-invalid to import the valid ones."
        )
    return records, errors


def _existing(session: Session, column: Any, values: set[str]) -> set[str]:
    return {value for (value,) in rows_where_in(session, select(column), column, values)}


def _drop_duplicates(session: Session, records: list[tuple[dict[str, Any], str | None]]):
    """Keep the first of each canonical URL and content hash, in the file and in the database."""
    seen_urls = _existing(session, Item.canonical_url,
                          {r["canonical_url"] for r, _ in records if r["canonical_url"]})
    seen_hashes = _existing(session, Item.content_hash,
                            {r["content_hash"] for r, _ in records if r["content_hash"]})
    unique = []
    for record, answer in records:
        url, digest = record["canonical_url"], record["content_hash"]
        if (url and url in seen_urls) or (digest and digest in seen_hashes):
            continue
        if url:
            seen_urls.add(url)
        if digest:
            seen_hashes.add(digest)
        unique.append((record, answer))
    return unique


def import_file(session: Session, path: Path, *, skip_invalid: bool = False,
                progress: ProgressFn = no_progress) -> ImportResult:
    """Import a .jsonl or .csv file of research-radar rows into the session's transaction."""
    started = time.perf_counter()
    records, errors = _validate(path, skip_invalid)
    unique = _drop_duplicates(session, records)
    result = ImportResult(duplicates=len(records) - len(unique), skipped=errors)
    now = utcnow()
    for chunk in _chunks(unique, CHUNK):
        ids = session.scalars(
            insert(Item).returning(Item.id, sort_by_parameter_order=True),
            [record | {"created_at": now} for record, _ in chunk],
        ).all()
        mark_near_duplicates(session, [(item_id, record["text"]) for item_id, (record, _)
                                       in zip(ids, chunk, strict=True) if record["text"]])
        decisions = [
            {"item_id": item_id, "label": answer, "curator": IMPORT_CURATOR, "created_at": now}
            for item_id, (_, answer) in zip(ids, chunk, strict=True) if answer is not None
        ]
        if decisions:
            session.execute(insert(Decision), decisions)
        result.imported += len(chunk)
        result.labelled += len(decisions)
        progress(result.imported, len(unique), "importing rows")
    result.seconds = time.perf_counter() - started
    return result


def item_count(session: Session) -> int:
    return session.scalar(select(func.count(Item.id))) or 0
