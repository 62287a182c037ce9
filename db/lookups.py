"""Look-ups by many keys at once, in chunks: one IN list per chunk stays well under SQLite's
bound-parameter limit however many keys an import or an ingest brings."""

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Row, Select, bindparam
from sqlalchemy.orm import Session

CHUNK = 500


def rows_where_in(session: Session, query: Select, column: Any, values: Iterable[Any]) -> Iterator[Row]:
    """query's rows whose column is one of values."""
    keys = list(values)
    # One expanding parameter, not a literal list: building an IN of 500 values costs more than
    # running it (the statement is compiled once and cached; only the values travel).
    query = query.where(column.in_(bindparam("values", expanding=True)))
    for start in range(0, len(keys), CHUNK):
        yield from session.execute(query, {"values": keys[start:start + CHUNK]})
