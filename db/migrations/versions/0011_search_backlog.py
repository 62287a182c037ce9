"""search index built after a bulk import: items.search_pending

Tokenising text for the search index was most of an import's time (1.0-1.3 s of CPU per 10,000
2 KB rows on SQLite, more for real articles). An import now writes its items with search_pending
set; the triggers of 0008 leave such an item alone, and the index job adds it and clears the flag
(curation/corpus/search_index.py). Items written one at a time (ingest, fetch) are indexed by the
triggers at once, as before. The partial index finds the backlog without a scan.

Revision ID: 0011_search_backlog
Revises: 0010_team_curation
"""

from importlib import import_module

import sqlalchemy as sa
from alembic import op

previous = import_module("db.migrations.versions.0008_add_search_and_near_duplicates")

revision = '0011_search_backlog'
down_revision = '0010_team_curation'
branch_labels = None
depends_on = None

# Only items not waiting for the index job are in it, so only they are added, deleted or replaced.
# The update trigger also covers an item leaving the backlog with new text in the same statement.
SQLITE_TRIGGERS = [
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items WHEN NOT new.search_pending BEGIN "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items WHEN NOT old.search_pending BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) SELECT 'delete', old.id, old.title, old.text "
    "WHERE NOT old.search_pending; "
    "INSERT INTO items_fts(rowid, title, text) SELECT new.id, new.title, new.text "
    "WHERE NOT new.search_pending; END",
]
SQLITE_DROP = ["DROP TRIGGER items_fts_update", "DROP TRIGGER items_fts_delete",
               "DROP TRIGGER items_fts_insert"]

POSTGRES_TRIGGER = ("CREATE TRIGGER items_fts_sync AFTER INSERT OR UPDATE OF title, text ON items "
                    "FOR EACH ROW {when}EXECUTE FUNCTION items_fts_sync()")


def _index_the_backlog() -> None:
    """Going down: what waits for the index job is indexed now, by the triggers themselves (an
    UPDATE OF title fires them whether or not the title changes), as 0008's would have done."""
    op.execute("UPDATE items SET search_pending = false, title = title WHERE search_pending")


def upgrade() -> None:
    op.add_column('items', sa.Column('search_pending', sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    op.create_index('ix_items_search_pending', 'items', ['id'],
                    sqlite_where=sa.text('search_pending'), postgresql_where=sa.text('search_pending'))
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DROP + SQLITE_TRIGGERS:
            op.execute(statement)
    else:
        op.execute("DROP TRIGGER items_fts_sync ON items")
        op.execute(POSTGRES_TRIGGER.format(when="WHEN (NOT NEW.search_pending) "))


def downgrade() -> None:
    _index_the_backlog()
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DROP + previous.SQLITE_UP[2:]:
            op.execute(statement)
    else:
        op.execute("DROP TRIGGER items_fts_sync ON items")
        op.execute(POSTGRES_TRIGGER.format(when=""))
    op.drop_index('ix_items_search_pending', table_name='items')
    op.drop_column('items', 'search_pending')
