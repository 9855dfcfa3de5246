"""referral codes: when each member's campaign referral code was first issued (a referral qualifies only for a
member who registered on or after that day; issue 16)

Revision ID: 0009
Revises: 0008 (chained after the closed-months migration so that the tree keeps one head; the lead re-chains)
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_referral_codes",
        sa.Column("campaign_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),  # the campaign's local day of issued_at
        sa.PrimaryKeyConstraint("campaign_id", "member_id"),
    )


def downgrade() -> None:
    op.drop_table("campaign_referral_codes")
