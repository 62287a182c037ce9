"""Bulk inserts handed straight to the database driver.

A Core executemany runs every row's values through SQLAlchemy's parameter processing, which
for small rows (a band key and an item id) costs several times what the database spends
storing them. For columns whose Python values the driver takes as they are (integers, bytes;
psycopg also adapts datetimes and booleans), SQLite gets the statement compiled once and the rows
in the driver's executemany, and PostgreSQL gets them by COPY: an INSERT per row there is a round
trip each (30 us a band row, against 2 us by COPY)."""

from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.orm import Session


def insert_many(session: Session, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows (tuples of driver-native values for columns) into table in one executemany."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy(connection, table, columns, rows)
        return
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(columns))
    if compiled.positiontup is None:  # a driver that takes named parameters
        params: list[Any] = [dict(zip(columns, row, strict=True)) for row in rows]
    else:
        params = rows if list(compiled.positiontup) == list(columns) else [
            tuple(dict(zip(columns, row, strict=True))[key] for key in compiled.positiontup) for row in rows]
    connection.exec_driver_sql(str(compiled), params)


def _copy(connection: Connection, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows into table on the session's own psycopg connection, so inside its transaction."""
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def insert_in_one_statement(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) as one INSERT ... VALUES (...), (...) on SQLite.

    Why one statement and not an executemany: inside a transaction every statement that fires a
    trigger opens a statement savepoint, and FTS5 writes its pending terms to disk at each one.
    Row by row, items_fts (migration 0008) gets a segment per item and spends most of an import
    merging them; one statement per chunk indexes the chunk at once, about 1.7x faster. Values
    go through the column types' bind processors (datetimes become SQLite's text form), as Core
    would do; rows x columns must stay under SQLite's 32,766 bound parameters."""
    if not rows:
        return
    connection = session.connection()
    columns = list(rows[0])
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=columns)
    order = list(compiled.positiontup or ())
    if connection.dialect.paramstyle != "qmark" or set(order) != set(columns):
        raise ValueError("insert_in_one_statement takes SQLite and rows that give every column with a "
                         f"Python-side default; got {connection.dialect.name}, columns {sorted(set(order) - set(columns))} missing")
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in order]
    params = [value if process is None else process(value)
              for row in rows for process, value in zip(processors, map(row.__getitem__, order), strict=True)]
    one_row = str(compiled).rpartition(" VALUES ")[2]
    connection.exec_driver_sql(f"{compiled}{f', {one_row}' * (len(rows) - 1)}", tuple(params))


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys, every column with a Python-side default given) as
    one bulk write: one statement on SQLite (see insert_in_one_statement), COPY on PostgreSQL."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        insert_many(session, table, tuple(rows[0]), [tuple(row.values()) for row in rows])
    else:
        insert_in_one_statement(session, table, rows)
