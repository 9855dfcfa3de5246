"""At close: the leaderboard's top-N rewards and check-in streak rewards, credited once through the ledger; the
leaderboard itself while the campaign runs."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import execute, is_pg
from weixi.campaigns import leaderboard as lb
from weixi.campaigns.awards import post_pending_awards
from weixi.campaigns.errors import CampaignNotFound
from weixi.campaigns.measures import in_treatment, lake_board_totals, window
from weixi.campaigns.model import Campaign
from weixi.campaigns.store import load
from weixi.ledger.posting import with_retries

# What the ledger keeps of a closing award: a code and its parameters as JSON, never a sentence (the award becomes the
# ledger's ``reason`` "campaign <id>: <note>"); member 360 and /me say it in the reader's language
# (weixi.members.member360.ledger_note), which also reads the English sentences written before
# ("leaderboard rank 1 (300 points earned)", "7-day check-in streak (longest 9)").
LEADERBOARD_NOTE = "campaign_leaderboard"
STREAK_NOTE = "campaign_streak"


def leaderboard_note(campaign_id: str, rank: int, points: int) -> str:
    """The note of a leaderboard reward: the member's ``rank`` and the ``points`` they earned in the window."""
    return _note(LEADERBOARD_NOTE, campaign=campaign_id, rank=rank, points=points)


def streak_note(campaign_id: str, days: int, longest: int) -> str:
    """The note of a check-in streak reward: the streak's ``days`` and the member's ``longest`` run."""
    return _note(STREAK_NOTE, campaign=campaign_id, days=days, longest=longest)


def _note(code: str, **params) -> str:
    return json.dumps({"note": code, **params}, ensure_ascii=False, separators=(",", ":"))


def _board_totals(conn: Connection, c: Campaign, limit: int | None) -> list[tuple[str, int]]:
    """Points earned (earning rules only, not campaign awards) in the window by treatment members, highest first;
    with ``limit``, every member tied with the limit-th one too. With lake months, its unfolded earn entries too."""
    with_lake = lake_board_totals(conn, c, limit)
    if with_lake is not None:
        return with_lake
    base = (
        f"SELECT j.member_id, sum(j.points) FROM journal j {in_treatment('j')} WHERE j.kind = 'earn' "
        f"AND j.day >= ? AND j.day <= ? GROUP BY j.member_id"
    )
    params = [c.id, *window(c)]
    if limit is None:
        return [(r[0], int(r[1])) for r in execute(conn, base + " ORDER BY 2 DESC, 1", params)]
    top = execute(conn, base + " ORDER BY 2 DESC, 1 LIMIT ?", params + [limit])
    if not top:
        return []
    floor = int(top[-1][1])
    rows = execute(conn, base + " HAVING sum(j.points) >= ? ORDER BY 2 DESC, 1", params + [floor])
    return [(r[0], int(r[1])) for r in rows]


def leaderboard(engine: Engine, campaign_id: str, top: int | None = None) -> dict:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        if c.leaderboard is None:
            raise CampaignNotFound("campaign_no_leaderboard", campaign=campaign_id)
        board = c.leaderboard if top is None else type(c.leaderboard)(top, c.leaderboard.rewards)
        rows = lb.rank(board, _board_totals(conn, c, board.top))
    return {
        "campaign_id": campaign_id,
        "from": str(c.window.start),
        "to": str(c.window.end),
        "top": board.top,
        "rows": [{"rank": r.rank, "member_id": r.member_id, "points": r.points, "reward": r.reward} for r in rows],
    }


def _streak_runs(conn: Connection, c: Campaign) -> list[tuple[str, int]]:
    """Each treatment member's longest run of consecutive check-in days in the window (gaps and islands)."""
    day_number = "(d.day - DATE '2000-01-01')" if is_pg(conn) else "CAST(julianday(d.day) AS INTEGER)"
    sql = (
        f"WITH d AS (SELECT DISTINCT e.member_id, e.day FROM events e {in_treatment('e')} WHERE e.type = "
        f"'checkin' AND e.day >= ? AND e.day <= ?), "
        f"g AS (SELECT d.member_id, {day_number} - ROW_NUMBER() OVER (PARTITION BY d.member_id ORDER BY d.day) "
        f"AS island FROM d), r AS (SELECT member_id, count(*) AS n FROM g GROUP BY member_id, island) "
        f"SELECT member_id, max(n) FROM r GROUP BY member_id ORDER BY member_id"
    )
    return [(r[0], int(r[1])) for r in execute(conn, sql, [c.id, *window(c)])]


def award_closing(engine: Engine, campaign_id: str, now: datetime | None = None) -> dict:
    """At close: the leaderboard's top-N rewards and check-in streak rewards, credited once through the ledger."""

    def work(conn):
        _, c = load(conn, campaign_id, lock=True)
        awards = []
        if c.leaderboard is not None:
            for r in lb.rank(c.leaderboard, _board_totals(conn, c, c.leaderboard.top)):
                if r.reward:
                    awards.append(
                        (
                            f"campaign:{c.id}:board:{r.member_id}",
                            r.member_id,
                            "leaderboard",
                            r.reward,
                            leaderboard_note(c.id, r.rank, r.points),
                        )
                    )
        for member, run in _streak_runs(conn, c) if c.streaks else []:
            for s in c.streaks:
                if run >= s.days:
                    awards.append(
                        (
                            f"campaign:{c.id}:streak:{s.days}:{member}",
                            member,
                            "streak",
                            s.points,
                            streak_note(c.id, s.days, run),
                        )
                    )
        existing = {r[0] for r in execute(conn, "SELECT event_id FROM campaign_awards WHERE campaign_id = ?", [c.id])}
        for event_id, member, kind, points, note in awards:
            if event_id not in existing:
                execute(
                    conn,
                    "INSERT INTO campaign_awards (event_id, campaign_id, member_id, kind, points, status, "
                    "note) VALUES (?,?,?,?,?,?,?)",
                    [event_id, c.id, member, kind, points, "pending", note],
                )
        return len(awards)

    n = with_retries(engine, work)
    return {"awards": n, **post_pending_awards(engine, campaign_id)}
