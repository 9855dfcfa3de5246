"""Who may take part in a running campaign, and the members' request keys.

A member takes part when the campaign runs, today is inside its window, and the member is in the treatment
group of its audience (the control group is held out so that the campaign's effect can be measured). Each
refusal is a coded :mod:`weixi.campaigns.errors` error whose ``campaign_attempt`` says what was tried (a draw,
buying chances, a gift, a referral).
"""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import Connection

from weixi.adapters.sql import execute
from weixi.campaigns.errors import CampaignNotFound, CampaignRefused
from weixi.campaigns.model import RUNNING, Campaign
from weixi.errors import Where
from weixi.ledger.requests import scoped_id

ATTEMPTS = ("draw", "buying_chances", "gift", "referral")


def require_treatment(conn: Connection, c: Campaign, member_id: str) -> None:
    row = execute(conn, "SELECT grp FROM campaign_members WHERE campaign_id = ? AND member_id = ?", [c.id, member_id])
    if row and row[0][0] == "treatment":
        return
    if row:
        raise CampaignRefused("campaign_member_held_out", member=member_id, campaign=c.id)
    if not execute(conn, "SELECT 1 FROM members WHERE member_id = ?", [member_id]):
        raise CampaignNotFound("campaign_unknown_member", member=member_id)
    raise CampaignRefused("campaign_member_not_in_audience", member=member_id, campaign=c.id)


def require_running(c: Campaign, info: dict, day: date, attempt: str) -> None:
    """``attempt``: one of :data:`ATTEMPTS`, named in the refusal."""
    if info["status"] != RUNNING:
        raise CampaignRefused(
            "campaign_not_running", campaign_attempt=attempt, campaign=c.id, campaign_state=info["status"]
        )
    if day < c.window.start:
        raise CampaignRefused(
            "campaign_not_open_yet", campaign_attempt=attempt, campaign=c.id, start=c.window.start, day=day
        )
    if day > c.window.end:
        raise CampaignRefused(
            "campaign_window_over", campaign_attempt=attempt, campaign=c.id, end=c.window.end, day=day
        )


def request_key(prefix: str, request_id: str | None, member_id: str) -> str:
    """The id of a keyed request, scoped to the member (:func:`weixi.ledger.requests.scoped_id`); without a key, a
    random one."""
    return scoped_id(prefix, request_id, member_id) if request_id else f"{prefix}:{secrets.token_hex(8)}"


def same_request(conn: Connection, sql: str, key: str, asked: tuple, request_id: str) -> bool:
    """Whether ``key`` was already used (``sql`` reads what it asked); used with another body: refused, telling
    nothing about the first."""
    rows = execute(conn, sql, [key])
    if not rows:
        return False
    if tuple(rows[0]) != asked:
        raise CampaignRefused("campaign_request_id_reused", Where(field="request_id"), request_id=request_id)
    return True
