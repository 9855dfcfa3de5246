"""incentives: published statements, award nominations and their workflow steps

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incentive_publications",
        sa.Column("month", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plans", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_by", sa.String(length=128), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("month", "version"),
    )
    op.create_table(
        "incentive_nominations",
        sa.Column("nomination_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("staff_id", sa.String(length=128), nullable=False),
        sa.Column("award", sa.String(length=64), nullable=False),
        sa.Column("letter", sa.Text(), nullable=True),
        sa.Column("form", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("nomination_id"),
    )
    op.create_index("ix_incentive_nominations_period", "incentive_nominations", ["period"])
    op.create_table(
        "incentive_steps",
        sa.Column("nomination_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["nomination_id"], ["incentive_nominations.nomination_id"]),
        sa.PrimaryKeyConstraint("nomination_id", "step"),
    )


def downgrade() -> None:
    op.drop_table("incentive_steps")
    op.drop_index("ix_incentive_nominations_period", table_name="incentive_nominations")
    op.drop_table("incentive_nominations")
    op.drop_table("incentive_publications")
