"""Database tables (SQLAlchemy Core). The schema is created and upgraded by the Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, String, Table, Text, text,
)

metadata = MetaData()

plan_versions = Table(
    "plan_versions", metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("plan_id", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("source", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("false")),
)

members = Table(
    "members", metadata,
    Column("member_id", String(128), primary_key=True),
    Column("tier", String(64)),
    Column("signed_up_on", Date),
    Column("first_spend_on", Date),
    Column("paid", Boolean, nullable=False, server_default=text("false")),
    Column("last_checkin_on", Date),
    Column("streak", Integer, nullable=False, server_default=text("0")),
    Column("balance", BigInteger, nullable=False, server_default=text("0")),
    Column("debt", BigInteger, nullable=False, server_default=text("0")),
    Column("first_seen_on", Date),
)

events = Table(
    "events", metadata,
    Column("event_id", String(128), primary_key=True),
    Column("member_id", String(128), nullable=False),
    Column("type", String(16), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("day", Date, nullable=False),
    Column("amount_fen", BigInteger),
    Column("points", BigInteger),
    Column("ref", String(128)),
    Column("attrs", Text),
    Column("earned", BigInteger, nullable=False, server_default=text("0")),
    Column("plan_version", Integer),
)

journal = Table(
    "journal", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("member_id", String(128), nullable=False),
    Column("day", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("debt_delta", BigInteger, nullable=False, server_default=text("0")),
    Column("lot_id", String(160)),
    Column("event_id", String(160)),
    Column("rule_id", String(64)),
    Column("note", Text),
    Column("plan_version", Integer),
    Index("ix_journal_member", "member_id", "day"),
    Index("ix_journal_day", "day", "kind"),  # the close reads one month's entries
)

lots = Table(
    "lots", metadata,
    Column("lot_id", String(160), primary_key=True),
    Column("member_id", String(128), nullable=False),
    Column("earned_on", Date, nullable=False),
    Column("expires_on", Date),
    Column("points", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("deficit", Boolean, nullable=False, server_default=text("false")),
    Column("plan_version", Integer),
    Index("ix_lots_member", "member_id"),
    Index("ix_lots_expiry", "expires_on", sqlite_where=text("remaining > 0"), postgresql_where=text("remaining > 0")),
)

counters = Table(
    "counters", metadata,
    Column("member_id", String(128), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("period", String(16), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

referrals = Table(
    "referrals", metadata,
    Column("referee_id", String(128), primary_key=True),
    Column("referrer_id", String(128), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("day", Date, nullable=False),
    Column("rule_id", String(64), nullable=False),
    Column("awarded_on", Date),
    Index("ix_referrals_referrer", "referrer_id"),
)

rewards = Table(
    "rewards", metadata,
    Column("reward_id", String(64), primary_key=True),
    Column("stock_total", BigInteger),
    Column("issued", BigInteger, nullable=False, server_default=text("0")),
)

redemptions = Table(
    "redemptions", metadata,
    Column("redemption_id", String(160), primary_key=True),
    Column("member_id", String(128), nullable=False),
    Column("reward_id", String(64), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("day", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("details", Text, nullable=False),
    Column("request_id", String(128)),
    Column("cancel_reason", Text),
    Column("cancelled_on", Date),
    Column("plan_version", Integer),
    Index("ix_redemptions_member", "member_id"),
    Index("ix_redemptions_reward_day", "reward_id", "day"),
    Index("ix_redemptions_request", "request_id"),
)

rejections = Table(
    "rejections", metadata,
    Column("event_id", String(128), primary_key=True),
    Column("member_id", String(128), nullable=False),
    Column("type", String(16), nullable=False),
    Column("day", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("plan_version", Integer),
    Column("ref", String(128)),  # the event as sent (a keyed request's body: a reused key is told apart)
    Column("attrs", Text),
)

coupons = Table(
    "coupons", metadata,
    Column("code", String(64), primary_key=True),
    Column("reward_id", String(64), nullable=False),
    Column("member_id", String(128), nullable=False),
    Column("redemption_id", String(160), nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'issued'")),
)
