"""request keys scoped to the member: a rejected event keeps its ref and attrs (what a keyed request asked, so the
same key with another body is refused as reused), and a campaign draw's request_id is unique per member, not per
campaign (issue 16, item 1)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rejections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("attrs", sa.Text(), nullable=True))
    with op.batch_alter_table("campaign_draws", schema=None) as batch_op:
        batch_op.drop_constraint("uq_campaign_draws_request", type_="unique")
        batch_op.create_unique_constraint(
            "uq_campaign_draws_member_request", ["campaign_id", "member_id", "request_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_draws", schema=None) as batch_op:
        batch_op.drop_constraint("uq_campaign_draws_member_request", type_="unique")
        batch_op.create_unique_constraint("uq_campaign_draws_request", ["campaign_id", "request_id"])
    with op.batch_alter_table("rejections", schema=None) as batch_op:
        batch_op.drop_column("attrs")
        batch_op.drop_column("ref")
