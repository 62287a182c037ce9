"""The migrations are the schema: built from empty they must give exactly what db/models.py
declares, on SQLite and PostgreSQL, and running them again must change nothing."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from db.migrate import current_revision, head_revision, upgrade
from db.models import SEARCH_TABLE, Base
from db.session import get_engine


def _outside_search_index(name: str | None, type_: str, parent: object) -> bool:
    """The full-text index and its triggers' tables live beside the ORM (SEARCH_TABLE)."""
    return not (type_ == "table" and name and name.startswith(SEARCH_TABLE))


def _differences() -> list:
    """What autogenerate would change to make the live schema match the models."""
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "include_name": _outside_search_index})
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_has_every_table_column_and_index_of_the_models(db_url: str) -> None:
    tables = set(inspect(get_engine()).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert _differences() == []


def test_every_expression_index_of_the_models_exists(db_url: str) -> None:
    """Autogenerate skips expression indexes (ix_scores_margin drives the queue), so name them."""
    declared = {index.name for table in Base.metadata.tables.values() for index in table.indexes}
    engine = get_engine()
    catalog = ("SELECT name FROM sqlite_master WHERE type = 'index'" if engine.dialect.name == "sqlite"
               else "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    with engine.connect() as connection:
        live = set(connection.scalars(text(catalog)))
    assert declared <= live


def test_migrating_again_is_a_no_op_that_keeps_the_head_revision(db_url: str) -> None:
    assert current_revision() == head_revision()
    before = _differences()
    assert upgrade() == head_revision()
    assert _differences() == before == []
