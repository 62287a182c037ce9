"""The research-radar row format (text, meta{url,title,published_date,author}, answer), read from
JSONL or CSV. Import reads it and export writes it, so the two cannot disagree."""

import csv
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError, field_validator

from curation.errors import ImportFileError

META_FIELDS = ("url", "title", "published_date", "author")
CSV_COLUMNS = ("text", "meta", "answer", *META_FIELDS)
ENCODING = "utf-8-sig"  # UTF-8, with or without the byte-order mark spreadsheet programs write
csv.field_size_limit(sys.maxsize)  # articles are far longer than csv's 128 KB default


class RowMeta(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: StrictStr | None = None
    title: StrictStr | None = None
    published_date: datetime | None = None
    author: StrictStr | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().lower().startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("published_date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if value in ("", None):
            return None
        if not isinstance(value, str):
            raise ValueError(f"{value!r} must be an ISO date string")
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO date such as 2024-07-29") from None


class Row(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: StrictStr
    meta: RowMeta = RowMeta()
    answer: StrictStr | None = None

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value


class RowError(BaseModel):
    line: int
    reason: str

    def describe(self, path: Path) -> str:
        return f"{path}:{self.line}: {self.reason}"


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "row"
        parts.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _jsonl_records(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding=ENCODING) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, RowError(line=number, reason=f"invalid JSON: {exc.msg}")


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding=ENCODING, newline="") as handle:
        header = next(csv.reader(handle), None) or []
    if "text" not in header:
        raise ImportFileError(f"{path}: the CSV header has no 'text' column; expected "
                              "text,meta,answer or text,url,title,published_date,author,answer")
    return header


def ignored_columns(path: Path) -> list[str]:
    """The CSV header's columns that import does not read (none for JSONL), to warn about:
    a misspelt 'answr' column would otherwise lose every label without a word."""
    if path.suffix.lower() != ".csv":
        return []
    return [name for name in _csv_header(path) if name not in CSV_COLUMNS]


def _csv_records(path: Path) -> Iterator[tuple[int, Any]]:
    """CSV rows take meta as a JSON column, or its fields as columns of their own. A record is
    numbered by the line it starts on: a quoted field may span many lines."""
    header = _csv_header(path)
    with path.open(encoding=ENCODING, newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        end = reader.line_num
        for values in reader:
            number, end = end + 1, reader.line_num
            if not values:
                continue
            record = {k: (v if v != "" else None) for k, v in zip(header, values, strict=False)}
            try:
                meta = json.loads(record["meta"]) if record.get("meta") else {}
            except json.JSONDecodeError as exc:
                yield number, RowError(line=number, reason=f"meta: invalid JSON: {exc.msg}")
                continue
            if isinstance(meta, dict):
                meta |= {k: record[k] for k in META_FIELDS if record.get(k) is not None}
            yield number, {"text": record.get("text"), "meta": meta, "answer": record.get("answer")}


def _first_undecodable_line(path: Path) -> int:
    """The number of the first line that is not UTF-8; only read once decoding has failed."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def read_rows(path: Path) -> Iterator[tuple[int, Row | RowError]]:
    """Yield (line number, row or the reason it is invalid) for a .jsonl or .csv file."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file; give the path of a .jsonl or .csv file")
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise ImportFileError(f"{path}: unsupported file type {suffix!r}; use .jsonl or .csv")
    records = _jsonl_records(path) if suffix == ".jsonl" else _csv_records(path)
    try:
        for number, record in records:
            if isinstance(record, RowError):
                yield number, record
            elif not isinstance(record, dict):
                yield number, RowError(line=number, reason="a row must be a JSON object")
            else:
                try:
                    yield number, Row.model_validate(record)
                except ValidationError as exc:
                    yield number, RowError(line=number, reason=_explain(exc))
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}:{_first_undecodable_line(path)}: not UTF-8 text ({exc.reason}); "
                              "save the file as UTF-8") from exc
