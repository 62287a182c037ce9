"""Bulk inserts handed straight to the database driver.

A Core executemany runs every row's values through SQLAlchemy's parameter processing, which
for small rows (a band key and an item id) costs several times what the database spends
storing them. For columns whose Python values the driver takes as they are (integers, bytes),
the statement is compiled once for the dialect and the rows go to the driver's executemany."""

from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session


def insert_many(session: Session, table: Table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows (tuples of driver-native values for columns) into table in one executemany."""
    if not rows:
        return
    connection = session.connection()
    compiled = insert(table).compile(dialect=connection.dialect, column_keys=list(columns))
    if compiled.positiontup is None:  # a driver that takes named parameters
        params: list[Any] = [dict(zip(columns, row, strict=True)) for row in rows]
    else:
        params = rows if list(compiled.positiontup) == list(columns) else [
            tuple(dict(zip(columns, row, strict=True))[key] for key in compiled.positiontup) for row in rows]
    connection.exec_driver_sql(str(compiled), params)
