"""The points a campaign credits (prizes, leaderboard, streaks, referrals) go through the ledger as ``adjust``
events with the campaign's event ids, so a rerun posts nothing twice; and what a point costs the campaign."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.adapters.ledger_repo import closed_through
from weixi.adapters.sql import execute
from weixi.campaigns.model import Campaign
from weixi.campaigns.store import campaign_today, parsed
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events, with_retries
from weixi.plans.service import NoActivePlan, active_plan


def award_day(c: Campaign, closed_through: date | None, today: date | None = None) -> date:
    """The day an award is credited on: the campaign's last day (today while it runs); the day it is credited when
    the monthly close has already closed the last day's month, whose figures are final (never a closed month)."""
    today = today or campaign_today(c)
    day = min(today, c.window.end)
    if closed_through is not None and day <= closed_through:
        day = max(today, closed_through + timedelta(days=1))
    return day


def post_pending_awards(engine: Engine, campaign_id: str) -> dict:
    """Credit pending awards through the ledger (dated :func:`award_day`); a refused one keeps the ledger's reason.
    Safe to rerun."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        closed = closed_through(conn)
        rows = execute(
            conn,
            "SELECT a.event_id, a.member_id, a.points, a.note, c.content, c.source FROM campaign_awards a "
            "JOIN campaigns c ON c.campaign_id = a.campaign_id WHERE a.campaign_id = ? AND "
            "a.status = 'pending' ORDER BY a.event_id",
            [campaign_id],
        )
    if not rows:
        return {"posted": 0, "refused": 0, "pending": 0}
    c = parsed(rows[0][4], rows[0][5])
    day = award_day(c, closed)
    at = datetime.combine(day, datetime.min.time(), ZoneInfo(c.timezone)) + timedelta(hours=12)
    events = [
        Event(r[0], r[1], "adjust", at, day, points=int(r[2]), attrs={"reason": f"campaign {campaign_id}: {r[3]}"})
        for r in rows
    ]
    try:
        result = post_events(engine, events)
    except NoActivePlan:
        return {"posted": 0, "refused": 0, "pending": len(rows), "note": "no active points plan: awards wait"}
    refused = {r.event_id: r.reason for r in result.rejected}

    def work(conn):
        for event_id, *_ in rows:
            if event_id in refused:
                execute(
                    conn,
                    "UPDATE campaign_awards SET status = 'refused', note = note || ? WHERE event_id = ?",
                    [f" — refused: {refused[event_id]}", event_id],
                )
            else:
                execute(conn, "UPDATE campaign_awards SET status = 'posted' WHERE event_id = ?", [event_id])

    with_retries(engine, work)
    return {"posted": len(rows) - len(refused), "refused": len(refused), "pending": 0}


def cost_per_point_fen(engine: Engine, c: Campaign) -> Decimal:
    """The campaign's own cost per point, else the active points plan's (1 fen when there is none)."""
    if c.cost_per_point is not None:
        return c.cost_per_point * 100
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            return active_plan(conn)[1].cost_per_point_fen
    except NoActivePlan:
        return Decimal(1)
