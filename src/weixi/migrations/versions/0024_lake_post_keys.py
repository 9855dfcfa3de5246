"""the lake ledger's posted batches (issue 21): ``weixi events post`` writes a file's bills and recharges to the lake
as a partition of its own, keyed ``<last closed month>+<n>`` (``2026-10+000001``), which sorts after the months
before it and before the next close month; ``lake_months.month`` and ``ledger_folds.month`` hold such keys

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TABLES = ("lake_months", "ledger_folds")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "month", existing_type=sa.String(length=7), type_=sa.String(length=32), existing_nullable=False
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "month", existing_type=sa.String(length=32), type_=sa.String(length=7), existing_nullable=False
            )
