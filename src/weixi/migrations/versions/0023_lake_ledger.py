"""the lake ledger (issue 21): which months of accruals are in the lake, which lake expiries are applied, how far each
member is folded into the SQL ledger

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # one row per closed month whose accruals are in the lake's ``accruals`` table (the committed watermark): the
    # Delta version that holds it, the lake folder, and the accrual's result once the month's accrual is complete
    op.create_table(
        "lake_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("lake_dir", sa.Text(), nullable=False),
        sa.Column("accruals_version", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("month"),
    )
    # one row per expiry run (the close's ``as_of`` day) whose lake ``expiries`` rows are applied to the balances
    op.create_table(
        "lake_expiries",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("expiries_version", sa.BigInteger(), nullable=False),
        sa.Column("lots", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("as_of"),
    )
    # one row per member touched since the lake took accruals: the last lake month whose rows are in the SQL ledger
    op.create_table(
        "ledger_folds",
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.PrimaryKeyConstraint("member_id"),
    )


def downgrade() -> None:
    op.drop_table("ledger_folds")
    op.drop_table("lake_expiries")
    op.drop_table("lake_months")
