"""operations and messaging: staff, tasks, consents, contact log, retention orders, run reports, outbox

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ops_staff",
        sa.Column("staff_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("team_lead", sa.String(length=128), nullable=True),
        sa.Column("shift", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.text("(true)")),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("staff_id"),
    )
    op.create_table(
        "ops_tasks",
        sa.Column("task_id", sa.String(length=200), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("offer_name", sa.Text(), nullable=True),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=True),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("not_before", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("sla_rule", sa.String(length=64), nullable=True),
        sa.Column("escalated_to", sa.String(length=128), nullable=True),
        sa.Column("escalated_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_reason", sa.String(length=64), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.Column("callback_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("closed_by", sa.String(length=128), nullable=True),
        sa.Column("parent_task_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_ops_tasks_queue", "ops_tasks", ["assignee", "status", "priority", "due_on"])
    op.create_index("ix_ops_tasks_member", "ops_tasks", ["member_id"])
    op.create_index("ix_ops_tasks_due", "ops_tasks", ["status", "due_on"])
    op.create_index("ix_ops_tasks_month", "ops_tasks", ["month"])
    op.create_table(
        "ops_consents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ops_consents_member", "ops_consents", ["member_id", "recorded_at"])
    op.create_table(
        "ops_contacts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "channel", name="uq_ops_contacts_source"),
    )
    op.create_index("ix_ops_contacts_member", "ops_contacts", ["member_id", "at"])
    op.create_table(
        "ops_orders",
        sa.Column("order_id", sa.String(length=200), nullable=False),
        sa.Column("task_id", sa.String(length=200), nullable=False),
        sa.Column("staff_id", sa.String(length=128), nullable=False),
        sa.Column("business", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.String(length=128), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=True),
        sa.Column("card", sa.String(length=16), nullable=True),
        sa.Column("monthly_rent_fen", sa.BigInteger(), nullable=True),
        sa.Column("network", sa.String(length=8), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("cancels_unexpired_subsidy", sa.Boolean(), nullable=False, server_default=sa.text("(false)")),
        sa.Column("offer_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
        sa.UniqueConstraint("task_id", name="uq_ops_orders_task"),
    )
    op.create_table(
        "ops_runs",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_table(
        "msg_outbox",
        sa.Column("message_id", _ID, autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=True),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("campaign", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("message_id"),
        sa.UniqueConstraint("idempotency_key", name="uq_msg_outbox_key"),
    )
    op.create_index("ix_msg_outbox_due", "msg_outbox", ["status", "next_attempt_at"])
    op.create_index("ix_msg_outbox_member", "msg_outbox", ["member_id"])
    op.create_table(
        "msg_attempts",
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("adapter", sa.String(length=16), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("message_id", "attempt"),
    )


def downgrade() -> None:
    op.drop_table("msg_attempts")
    op.drop_index("ix_msg_outbox_member", table_name="msg_outbox")
    op.drop_index("ix_msg_outbox_due", table_name="msg_outbox")
    op.drop_table("msg_outbox")
    op.drop_table("ops_runs")
    op.drop_table("ops_orders")
    op.drop_index("ix_ops_contacts_member", table_name="ops_contacts")
    op.drop_table("ops_contacts")
    op.drop_index("ix_ops_consents_member", table_name="ops_consents")
    op.drop_table("ops_consents")
    op.drop_index("ix_ops_tasks_month", table_name="ops_tasks")
    op.drop_index("ix_ops_tasks_due", table_name="ops_tasks")
    op.drop_index("ix_ops_tasks_member", table_name="ops_tasks")
    op.drop_index("ix_ops_tasks_queue", table_name="ops_tasks")
    op.drop_table("ops_tasks")
    op.drop_table("ops_staff")
