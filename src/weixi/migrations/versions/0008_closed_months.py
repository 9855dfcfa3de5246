"""closed months: the monthly close records each month it closes in the ledger, and no event may be posted into a
closed month afterwards (issue 16, item 6)

Revision ID: 0008
Revises: 0007 (chained after 0007 so that the tree keeps one head; the lead re-chains)
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "closed_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )


def downgrade() -> None:
    op.drop_table("closed_months")
