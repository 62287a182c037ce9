"""add leases table and score margin index

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("curator", sa.String(length=128), nullable=False),
        sa.Column("leased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("served_score", sa.Float(), nullable=True),
        sa.Column("served_model_version_id", sa.Integer(), nullable=True),
        sa.Column("served_verdict", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_leases_item_id_items")),
        sa.ForeignKeyConstraint(["served_model_version_id"], ["model_versions.id"],
                                name=op.f("fk_leases_served_model_version_id_model_versions")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_leases")),
    )
    op.create_index("ix_leases_curator", "leases", ["curator"])
    op.create_index("ix_scores_margin", "scores", ["model_version_id", sa.text("abs(probability - 0.5)")])


def downgrade() -> None:
    op.drop_index("ix_scores_margin", table_name="scores")
    op.drop_index("ix_leases_curator", table_name="leases")
    op.drop_table("leases")
