"""add embeddings

Each text's window embeddings per encoder identity, computed once, so training, the rescore
after a promotion and the refit after each decision never run the encoder on a stored document.

Revision ID: 0007_add_embeddings
Revises: 0005_add_jobs_retry_of
"""

import sqlalchemy as sa
from alembic import op

revision = '0007_add_embeddings'
down_revision = '0005_add_jobs_retry_of'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'embeddings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('encoder', sa.String(length=512), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('dim', sa.Integer(), nullable=False),
        sa.Column('n_windows', sa.Integer(), nullable=False),
        sa.Column('document', sa.LargeBinary(), nullable=False),
        sa.Column('head_input', sa.LargeBinary(), nullable=False),
        sa.Column('spans', sa.LargeBinary(), nullable=False),
        sa.Column('windows', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_embeddings')),
        sa.UniqueConstraint('encoder', 'content_hash', name='uq_embeddings_encoder_content_hash'),
    )
    with op.batch_alter_table('embeddings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_embeddings_content_hash'), ['content_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('embeddings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_embeddings_content_hash'))
    op.drop_table('embeddings')
