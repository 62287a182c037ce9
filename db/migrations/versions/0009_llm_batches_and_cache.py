"""llm batches, cache tokens, daily spend and scoring runs

Assessments record cache-read and cache-write tokens, whether their first step went by batch and
why they were made (manual or auto); llm_batches keeps each provider batch id so a restarted
worker resumes it; llm_spend is the daily ledger of automatic assessments shared by all workers;
scoring_runs keeps the measured seconds of each scoring pass for the classifier's cost.

Revision ID: 0009_llm_batches_and_cache
Revises: 0008_add_search_and_near_duplicates
"""

import sqlalchemy as sa
from alembic import op

revision = '0009_llm_batches_and_cache'
down_revision = '0008_add_search_and_near_duplicates'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('llm_assessments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cache_read_tokens', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cache_write_tokens', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('batched', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('trigger', sa.String(length=16), server_default='manual', nullable=False))
    op.create_table('llm_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('model', sa.String(length=128), nullable=False),
    sa.Column('prompt_version', sa.String(length=32), nullable=False),
    sa.Column('batch_id', sa.String(length=128), nullable=False),
    sa.Column('tag', sa.String(length=32), nullable=False),
    sa.Column('item_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_llm_batches')),
    sa.UniqueConstraint('batch_id', name=op.f('uq_llm_batches_batch_id'))
    )
    with op.batch_alter_table('llm_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_llm_batches_status'), ['status'], unique=False)
    op.create_table('llm_spend',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('spent_usd', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_llm_spend'))
    )
    op.create_table('scoring_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('device', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_versions.id'], name=op.f('fk_scoring_runs_model_version_id_model_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_runs'))
    )
    with op.batch_alter_table('scoring_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scoring_runs_model_version_id'), ['model_version_id'], unique=False)


def downgrade() -> None:
    op.drop_table('scoring_runs')
    op.drop_table('llm_spend')
    op.drop_table('llm_batches')
    with op.batch_alter_table('llm_assessments', schema=None) as batch_op:
        batch_op.drop_column('trigger')
        batch_op.drop_column('batched')
        batch_op.drop_column('cache_write_tokens')
        batch_op.drop_column('cache_read_tokens')
