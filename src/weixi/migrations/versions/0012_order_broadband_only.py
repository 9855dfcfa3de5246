"""a retention order records whether its customer is broadband-only (单宽带), which the 2016 notice's
prepay-and-get-credit rule pays for (issue 19 §2)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ops_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("broadband_only", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ops_orders", schema=None) as batch_op:
        batch_op.drop_column("broadband_only")
