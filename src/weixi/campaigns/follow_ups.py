"""The campaign's follow-up tasks for its members (participants, winners, referrers, non-participants) as a CSV
that the operations import (or a person) takes up."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import spreadsheet
from weixi.adapters.sql import execute
from weixi.campaigns.measures import participants_sql
from weixi.campaigns.store import load


def follow_ups(engine: Engine, campaign_id: str, out: str | Path) -> dict:
    """The campaign's follow-up tasks for its members, as a CSV (member_id, follow_up, action, due_on, note).

    The operations task queue has no API for tasks from other modules yet, so the tasks are written to a file
    that the operations import (or a person) takes up; the count per follow-up is returned."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        psql, pparams = participants_sql(c)
        groups = {
            "participants": (f"SELECT member_id FROM ({psql}) p", pparams),
            "winners": (
                "SELECT DISTINCT member_id FROM campaign_draws WHERE campaign_id = ? AND prize_id IS NOT NULL",
                [c.id],
            ),
            "referrers": (
                "SELECT DISTINCT referrer_id FROM campaign_referrals WHERE campaign_id = ? AND status = 'rewarded'",
                [c.id],
            ),
            "non_participants": (
                f"SELECT member_id FROM campaign_members WHERE campaign_id = ? AND grp = 'treatment' "
                f"AND member_id NOT IN ({psql})",
                [c.id, *pparams],
            ),
        }
        rows, counts = [], {}
        for f in c.follow_ups:
            sql, params = groups[f.who]
            due = c.window.end + timedelta(days=f.due_days)
            members = sorted(r[0] for r in execute(conn, sql, params))
            counts[f.id] = len(members)
            rows += [(m, f.id, f.action, due.isoformat(), f.note) for m in members]
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = spreadsheet.csv_writer(fh)  # no cell can start a formula
        w.writerow(["campaign_id", "member_id", "follow_up", "action", "due_on", "note"])
        w.writerows((c.id, *r) for r in rows)
    tmp.replace(path)
    return {
        "campaign_id": c.id,
        "file": str(path),
        "tasks": len(rows),
        "by_follow_up": counts,
        "note": "written as CSV: the operations task queue takes no tasks from campaigns yet",
    }
