"""login codes: one-time SMS codes for a member's login by phone number (issue 18 §1 "Member"). Only an argon2
hash of each code is kept, with its phone number's SHA-256 (not the number), expiry, attempts and use.

Revision ID: 0019
Revises: 0018 (chained after the last revision present so the tree keeps one head; the coordinator re-chains)
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("phone_digest", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=True),  # NULL: no member has the number
        sa.Column("code_hash", sa.String(length=200), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),  # the SMS in msg_outbox
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.create_index("ix_login_codes_phone", ["phone_digest", "created_at"], unique=False)
        batch_op.create_index("ix_login_codes_ip", ["client_ip", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_login_codes_ip")
        batch_op.drop_index("ix_login_codes_phone")
    op.drop_table("login_codes")
