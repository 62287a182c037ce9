"""Migration 0008 on a database that already holds items and decisions: down and up again keep
every row, and the search index is rebuilt from the existing items."""

from alembic import command
from sqlalchemy import func, select

from curation.accounts.permissions import Actor
from curation.enums import Role
from curation.triage.queue import decide
from curation.triage.search import search_items
from db.migrate import _config, upgrade
from db.models import Decision
from db.session import get_engine, session_scope
from tests.factories import add_items


def _downgrade(revision: str) -> None:
    config = _config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_down_and_up_with_data_keeps_rows_and_rebuilds_the_index(db_url: str) -> None:
    with session_scope() as session:
        first, _ = add_items(session, 2)
        decide(session, Actor("ann", Role.CURATOR), first, "accept")
    _downgrade("-1")  # this migration only
    upgrade()
    with session_scope() as session:
        assert session.scalar(select(func.count(Decision.id))) == 1
        hits = search_items(session, Actor("vic", Role.VIEWER), "post 0")
    assert [hit.id for hit in hits] == [first]
