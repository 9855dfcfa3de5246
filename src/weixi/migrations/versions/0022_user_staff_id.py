"""users: a login's staff id on the roster (issue 19 §12: one staff id for a login; the username is the staff id when
it is empty)

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("staff_id", sa.String(length=128), nullable=True))
        batch.create_unique_constraint("uq_users_staff_id", ["staff_id"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_staff_id", type_="unique")
        batch.drop_column("staff_id")
