"""a task keeps its reason in English beside the Chinese one (``reason``), so the work pages show the reason in
the reader's language (issue 18: the churn scores' ``reason_1`` beside ``reason_1_zh``)

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ops_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_en", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ops_tasks", schema=None) as batch_op:
        batch_op.drop_column("reason_en")
