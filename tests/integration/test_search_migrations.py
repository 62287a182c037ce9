"""The search migrations on a database that already holds items and decisions: down and up
again keep every row, and whatever is searchable stays searchable."""

from pathlib import Path

from alembic import command
from sqlalchemy import func, select

from curation.accounts.permissions import Actor
from curation.corpus.search_index import pending_count
from curation.enums import Role
from curation.files.importing import import_file
from curation.triage.queue import decide
from curation.triage.search import search_items
from db.migrate import _config, upgrade
from db.models import Decision
from db.session import get_engine, session_scope
from tests.factories import add_items, make_row, write_jsonl


def _downgrade(revision: str) -> None:
    config = _config()
    with get_engine().begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _found(text: str) -> list[int]:
    with session_scope() as session:
        return [hit.id for hit in search_items(session, Actor("vic", Role.VIEWER), text)]


def test_0008_down_and_up_with_data_keeps_rows_and_rebuilds_the_index(db_url: str) -> None:
    with session_scope() as session:
        first, _ = add_items(session, 2)
        decide(session, Actor("ann", Role.CURATOR), first, "accept")
    _downgrade("0007_add_embeddings")
    upgrade()
    with session_scope() as session:
        assert session.scalar(select(func.count(Decision.id))) == 1
    assert _found("post 0") == [first]


def test_0011_down_indexes_what_waited_for_the_index_job(db_url: str, tmp_path: Path) -> None:
    """Before 0011 every item was indexed as it was written: going down indexes the backlog."""
    with session_scope() as session:
        fetched, = add_items(session, 1)
        import_file(session, write_jsonl(tmp_path / "rows.jsonl", [make_row(7, "accept")]))
    assert _found("post") == [fetched]
    _downgrade("0010_team_curation")
    assert set(_found("post")) == {fetched, fetched + 1}
    upgrade()
    with session_scope() as session:
        assert pending_count(session) == 0
    assert set(_found("post")) == {fetched, fetched + 1}
