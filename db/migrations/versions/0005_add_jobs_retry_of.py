"""add retry_of to jobs

A job whose worker died is run once more automatically; retry_of links the second run to the
first, so a job that kills its worker every time is retried only once.

Revision ID: 0005_add_jobs_retry_of
Revises: 0004_add_jobs_dedupe_heartbeat
"""

import sqlalchemy as sa
from alembic import op

revision = '0005_add_jobs_retry_of'
down_revision = '0004_add_jobs_dedupe_heartbeat'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_of', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_jobs_retry_of_jobs'), 'jobs', ['retry_of'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_jobs_retry_of_jobs'), type_='foreignkey')
        batch_op.drop_column('retry_of')
