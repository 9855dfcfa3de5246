"""a campaign's close-out (an incident log; each plan risk's outcome) and questionnaires (调研): the surveys sent and
the answers collected (issue 20 §7, §10)

Revision ID: 0021
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_CID = sa.String(length=64)


def upgrade() -> None:
    op.create_table(
        "campaign_incidents",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("who", sa.String(length=128), nullable=False),  # who was involved / reported it
        sa.Column("action", sa.Text(), nullable=False),  # the action taken
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaign_incidents_campaign", "campaign_incidents", ["campaign_id", "occurred_at"])
    op.create_table(
        "campaign_risk_outcomes",
        sa.Column("campaign_id", _CID, nullable=False),
        sa.Column("risk_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),  # occurred | mitigated | did_not_occur
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "risk_id"),
    )
    op.create_table(
        "surveys",
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),  # the survey file as written
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("survey_id"),
    )
    op.create_table(
        "survey_answers",
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=128), nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),  # a rating's score
        sa.Column("answer", sa.Text(), nullable=True),  # a choice's option id or free text
        sa.Column("answered_at", _TS, nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("survey_id", "member_id", "question_id"),
    )


def downgrade() -> None:
    op.drop_table("survey_answers")
    op.drop_table("surveys")
    op.drop_table("campaign_risk_outcomes")
    op.drop_index("ix_campaign_incidents_campaign", table_name="campaign_incidents")
    op.drop_table("campaign_incidents")
