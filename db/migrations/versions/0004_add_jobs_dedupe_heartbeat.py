"""add active_key and heartbeat_at to jobs

active_key (unique, NULL once a job ends) lets the database refuse a second queued or running
job of the same kind; heartbeat_at lets the next worker see that a job's worker died.

Revision ID: 0004_add_jobs_dedupe_heartbeat
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004_add_jobs_dedupe_heartbeat'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active_key', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_jobs_active_key'), ['active_key'])


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_jobs_active_key'), type_='unique')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('active_key')
