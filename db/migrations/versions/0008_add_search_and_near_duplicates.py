"""add full-text search, near-duplicate links and decision groups

Search: on SQLite an FTS5 table over items(title, text) with external content; on PostgreSQL a
tsvector per item with a GIN index. Both live beside the ORM (db.models.SEARCH_TABLE names
them) and triggers keep them in step with every insert, update and delete, whoever writes.
Near-duplicates: items.near_duplicate_of, and the MinHash LSH band keys of each item that is
not itself a near-duplicate, so a check is an index look-up. Decisions: group_id ties the
decisions of one bulk action together, so undo can revert them as one.

Revision ID: 0008_add_search_and_near_duplicates
Revises: 0007_add_embeddings
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_add_search_and_near_duplicates'
down_revision = '0007_add_embeddings'
branch_labels = None
depends_on = None

# Long documents are cut before PostgreSQL builds their tsvector: one tsvector holds at most 1 MB.
PG_DOCUMENT = ("setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') || "
               "setweight(to_tsvector('english', left(coalesce(NEW.text, ''), 200000)), 'B')")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='items', content_rowid='id', "
    "tokenize='porter unicode61')",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
]
SQLITE_DOWN = ["DROP TRIGGER items_fts_update", "DROP TRIGGER items_fts_delete",
               "DROP TRIGGER items_fts_insert", "DROP TABLE items_fts"]

POSTGRES_UP = [
    "CREATE TABLE items_fts (item_id integer PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    "CREATE INDEX ix_items_fts_document ON items_fts USING gin (document)",
    "CREATE FUNCTION items_fts_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO items_fts (item_id, document) VALUES (NEW.id, {PG_DOCUMENT}) "
    "ON CONFLICT (item_id) DO UPDATE SET document = EXCLUDED.document; RETURN NULL; END $$",
    "CREATE TRIGGER items_fts_sync AFTER INSERT OR UPDATE OF title, text ON items "
    "FOR EACH ROW EXECUTE FUNCTION items_fts_sync()",
    "INSERT INTO items_fts (item_id, document) SELECT id, "
    + PG_DOCUMENT.replace("NEW.", "") + " FROM items",
]
POSTGRES_DOWN = ["DROP TRIGGER items_fts_sync ON items", "DROP FUNCTION items_fts_sync()",
                 "DROP TABLE items_fts"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # this revision id is longer than Alembic's 32
        op.execute("ALTER TABLE alembic_version ALTER COLUMN version_num TYPE varchar(128)")
    # Plain ADD COLUMN, no batch: rebuilding items on SQLite would trip the foreign keys of
    # every decision and score pointing at it once the table holds data.
    op.add_column('items', sa.Column('near_duplicate_of', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_items_near_duplicate_of'), 'items', ['near_duplicate_of'])
    op.add_column('decisions', sa.Column('group_id', sa.String(length=32), nullable=True))
    op.create_index(op.f('ix_decisions_group_id'), 'decisions', ['group_id'])
    op.create_table(
        'minhash_bands',
        sa.Column('band_key', sa.BigInteger(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_minhash_bands_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('band_key', 'item_id', name=op.f('pk_minhash_bands')),
    )
    op.create_table(
        'minhash_signatures',
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('signature', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_minhash_signatures_item_id_items'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('item_id', name=op.f('pk_minhash_signatures')),
    )
    for statement in SQLITE_UP if op.get_bind().dialect.name == "sqlite" else POSTGRES_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_table('minhash_signatures')
    op.drop_table('minhash_bands')
    op.drop_index(op.f('ix_decisions_group_id'), table_name='decisions')
    op.drop_column('decisions', 'group_id')
    op.drop_index(op.f('ix_items_near_duplicate_of'), table_name='items')
    op.drop_column('items', 'near_duplicate_of')
