"""team curation: guideline version and adjudication on decisions

guideline_version is the hash of the task guideline a decision was made under, so the Activity
page can show when it changed; adjudicated marks a lead's final word on an item two curators
disagreed on, which then is the item's label.

Revision ID: 0010_team_curation
Revises: 0009_llm_batches_and_cache
"""

import sqlalchemy as sa
from alembic import op

revision = '0010_team_curation'
down_revision = '0009_llm_batches_and_cache'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guideline_version', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('adjudicated', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_column('adjudicated')
        batch_op.drop_column('guideline_version')
