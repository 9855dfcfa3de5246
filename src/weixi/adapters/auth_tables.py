"""Tables of users, tokens, sessions, the audit log, login attempts and close jobs (migration 0002).

Declared on the shared :data:`weixi.adapters.tables.metadata` so that Alembic autogenerate sees them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, String, Table, Text, UniqueConstraint, text

from weixi.adapters.tables import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

users = Table(
    "users", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("member_id", String(128)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("username", name="uq_users_username"),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("name", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    UniqueConstraint("token_hash", name="uq_api_tokens_hash"),
)

sessions = Table(
    "sessions", metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("user_id", Integer, nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("username", String(64)),
    Column("role", String(16)),
    Column("action", String(64), nullable=False),
    Column("subject", String(200)),
    Column("detail", Text),
    Index("ix_audit_log_at", "at"),
)

login_attempts = Table(
    "login_attempts", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("client_ip", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ok", Boolean, nullable=False),
    Index("ix_login_attempts_who", "username", "client_ip", "at"),
)

close_jobs = Table(
    "close_jobs", metadata,
    Column("id", String(32), primary_key=True),
    Column("month", String(7), nullable=False),
    Column("status", String(16), nullable=False),
    Column("progress", Text),
    Column("result", Text),
    Column("error", Text),
    Column("requested_by", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
)
