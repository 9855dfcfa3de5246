"""campaigns: lifecycle, audience, lottery stock and draws, chances, gifts, referrals, awards, costs, measures

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_CID = sa.String(length=64)
_MID = sa.String(length=128)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.Date(), nullable=False),
        sa.Column("window_end", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("secret_hex", sa.String(length=64), nullable=False),  # referral codes and fingerprints
        sa.Column("seed_hex", sa.String(length=64), nullable=True),  # the draw seed: secret until closed
        sa.Column("commitment", sa.String(length=64), nullable=True),  # SHA-256(seed), published at approval
        sa.Column("committed_at", _TS, nullable=True),
        sa.Column("revealed_at", _TS, nullable=True),
        sa.Column("next_draw", sa.BigInteger(), nullable=False, server_default=sa.text("1")),
        sa.Column("report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_table(
        "campaign_steps",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "seq"),
    )
    op.create_table(
        "campaign_members",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("member_id", _MID, nullable=False),
        sa.Column("grp", sa.String(length=12), nullable=False),  # treatment | control
        sa.PrimaryKeyConstraint("campaign_id", "member_id"),
    )
    op.create_table(
        "campaign_stock",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),  # YYYY-MM-DD for prizes, '*' for gifts
        sa.Column("item_id", sa.String(length=64), nullable=False),  # prize id, '' for blanks, or gift id
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("issued", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("campaign_id", "day", "item_id"),
        sa.CheckConstraint("issued <= quantity", name="ck_campaign_stock_not_oversold"),
    )
    op.create_table(
        "campaign_draws",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("member_id", _MID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("prize_id", sa.String(length=64), nullable=True),  # NULL: a blank ticket
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.BigInteger(), nullable=False),
        sa.Column("tickets", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "seq"),
        sa.UniqueConstraint("campaign_id", "request_id", name="uq_campaign_draws_request"),
    )
    op.create_index("ix_campaign_draws_member", "campaign_draws", ["campaign_id", "member_id", "day"])
    op.create_table(
        "campaign_chances",
        sa.Column("grant_id", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("member_id", _MID, nullable=False),
        sa.Column("chances", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("grant_id"),
    )
    op.create_index("ix_campaign_chances_member", "campaign_chances", ["campaign_id", "member_id"])
    op.create_table(
        "campaign_claims",
        sa.Column("claim_id", sa.String(length=200), nullable=False),
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("gift_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", _MID, nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),  # visit | referral
        sa.Column("at", _TS, nullable=False),
        sa.Column("by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("claim_id"),
    )
    op.create_index("ix_campaign_claims_member", "campaign_claims", ["campaign_id", "member_id", "gift_id"])
    op.create_table(
        "campaign_referrals",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("referee_id", _MID, nullable=False),
        sa.Column("referrer_id", _MID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("phone_fp", sa.String(length=32), nullable=True),
        sa.Column("id_fp", sa.String(length=32), nullable=True),
        sa.Column("device_fp", sa.String(length=32), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),  # pending|review|approved|rejected|rewarded
        sa.Column("flags", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=128), nullable=True),
        sa.Column("reviewed_at", _TS, nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("rewarded_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "referee_id"),
    )
    op.create_index("ix_campaign_referrals_referrer", "campaign_referrals", ["campaign_id", "referrer_id"])
    op.create_table(
        "campaign_identities",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("member_id", _MID, nullable=False),
        sa.Column("phone_fp", sa.String(length=32), nullable=True),
        sa.Column("id_fp", sa.String(length=32), nullable=True),
        sa.Column("device_fp", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "member_id"),
    )
    op.create_table(
        "campaign_awards",
        sa.Column("event_id", sa.String(length=128), nullable=False),  # the ledger event that credits the points
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("member_id", _MID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),  # prize|leaderboard|referral|streak
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),  # pending|posted|refused
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_campaign_awards_campaign", "campaign_awards", ["campaign_id", "status"])
    op.create_table(
        "campaign_costs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("line", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaign_costs_campaign", "campaign_costs", ["campaign_id"])
    op.create_table(
        "campaign_measures",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("objective_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=40), nullable=False),  # a decimal, as text
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "objective_id"),
    )
    op.create_table(
        "campaign_milestones",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("milestone_id", sa.String(length=64), nullable=False),
        sa.Column("done_by", sa.String(length=128), nullable=False),
        sa.Column("done_at", _TS, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", "milestone_id"),
    )
    op.create_table(
        "campaign_messages",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", _MID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),  # queued | suppressed | failed
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "channel_id", "member_id"),
    )


def downgrade() -> None:
    for table in (
        "campaign_messages",
        "campaign_milestones",
        "campaign_measures",
        "campaign_costs",
        "campaign_awards",
        "campaign_identities",
        "campaign_referrals",
        "campaign_claims",
        "campaign_chances",
        "campaign_draws",
        "campaign_stock",
        "campaign_members",
        "campaign_steps",
        "campaigns",
    ):
        op.drop_table(table)
