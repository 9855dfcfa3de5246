"""the member archive's corrections (e-mail, QQ/WeChat, personality, family notes, hobbies, second contact,
birthday; each change kept with who, when, old and new value) and staff notes on a member (issue 18 §3, issue 20 §5)

Revision ID: 0018
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "member_archive_edits",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("new_value", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),  # member_360 | task | counter
        sa.Column("task_id", sa.String(length=200), nullable=True),
        sa.Column("changed_by", sa.String(length=128), nullable=True),
        sa.Column("changed_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_member_archive_edits_member", "member_archive_edits", ["member_id", "field", "id"])
    op.create_table(
        "member_notes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_member_notes_member", "member_notes", ["member_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_member_notes_member", table_name="member_notes")
    op.drop_table("member_notes")
    op.drop_index("ix_member_archive_edits_member", table_name="member_archive_edits")
    op.drop_table("member_archive_edits")
