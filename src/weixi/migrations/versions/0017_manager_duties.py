"""manager duties (issue 20 §4, the recreation-department plan): a member's manual transfer to another manager with
its reason (the history kept), the inspection of tracking records, per-person quotas (月饼, 圣诞票) and what was
handed out against them

Revision ID: 0017
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ops_transfers",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("from_staff", sa.String(length=128), nullable=True),
        sa.Column("to_staff", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("moved_tasks", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("at", _TS, nullable=False),
        sa.Column("by_user", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ops_transfers_member", "ops_transfers", ["member_id", "at"])
    op.create_table(
        "ops_inspections",
        sa.Column("task_id", sa.String(length=200), nullable=False),
        sa.Column("staff_id", sa.String(length=128), nullable=True),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("inspected_by", sa.String(length=128), nullable=False),
        sa.Column("inspected_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_ops_inspections_month", "ops_inspections", ["month", "staff_id"])
    op.create_table(
        "ops_quotas",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("set_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "item", "staff_id", name="uq_ops_quotas_person"),
    )
    op.create_table(
        "ops_quota_handouts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("quota_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by_user", sa.String(length=128), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ops_quota_handouts_quota", "ops_quota_handouts", ["quota_id"])


def downgrade() -> None:
    op.drop_index("ix_ops_quota_handouts_quota", table_name="ops_quota_handouts")
    op.drop_table("ops_quota_handouts")
    op.drop_table("ops_quotas")
    op.drop_index("ix_ops_inspections_month", table_name="ops_inspections")
    op.drop_table("ops_inspections")
    op.drop_index("ix_ops_transfers_member", table_name="ops_transfers")
    op.drop_table("ops_transfers")
