"""Look-ups by many keys at once: on SQLite one IN list per chunk, well under its bound-parameter
limit however many keys an import or an ingest brings; on PostgreSQL the keys as one array
(= ANY), a round trip per 50,000 keys rather than per 500."""

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Row, Select, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

CHUNK = {"sqlite": 500, "postgresql": 50_000}


def rows_where_in(session: Session, query: Select, column: Any, values: Iterable[Any]) -> Iterator[Row]:
    """query's rows whose column is one of values."""
    keys = list(values)
    dialect = session.get_bind().dialect.name
    # One parameter, not a literal list: building an IN of 500 values costs more than running it
    # (the statement is compiled once and cached; only the values travel).
    if dialect == "postgresql":
        query = query.where(column == any_(bindparam("values", type_=ARRAY(column.type))))
    else:
        query = query.where(column.in_(bindparam("values", expanding=True)))
    size = CHUNK.get(dialect, CHUNK["sqlite"])
    for start in range(0, len(keys), size):
        yield from session.execute(query, {"values": keys[start:start + size]})
