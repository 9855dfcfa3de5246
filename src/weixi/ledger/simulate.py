"""``weixi simulate``: run a plan over an event file in a throwaway in-memory ledger.

The same posting, expiry and query code as the real ledger runs on an in-memory SQLite database;
events are applied in ``occurred_at`` order (stable for ties), then points expire as of ``as_of``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.eventfiles import read_events
from weixi.adapters.sql import as_date, execute
from weixi.ledger.events import Event, Rejection
from weixi.ledger.expire import expire
from weixi.ledger.posting import post_events
from weixi.ledger.queries import KINDS_EARNED, KINDS_REDEEMED
from weixi.plans.service import apply_plan, load_checked


def simulate(plan_path: str | Path, events_path: str | Path, as_of: date | None = None) -> dict:
    plan, _ = load_checked(plan_path)
    items = list(read_events(events_path, ZoneInfo(plan.timezone)))
    events = sorted((e for e in items if isinstance(e, Event)), key=lambda e: e.occurred_at)
    parse_rejects = [r for r in items if isinstance(r, Rejection)]
    engine = make_engine(":memory:")
    try:
        schema.upgrade(engine)
        apply_plan(engine, plan_path)
        result = post_events(engine, [*parse_rejects, *events], batch_size=10_000)
        if as_of is None:
            as_of = max((e.day for e in events), default=date.today())
        expire(engine, as_of)
        members = _members(engine)
    finally:
        engine.dispose()
    return {
        "as_of": as_of.isoformat(),
        "members": members,
        "rejected": [
            {
                "event_id": r.event_id,
                "reason": r.reason,
                **({"row": r.row} if r.row else {}),
                "code": r.problem.code,
                "params": r.problem.params,
            }
            for r in sorted(result.rejected, key=lambda r: r.row or 0)
        ],
        "duplicates": result.duplicates,
    }


def _members(engine) -> dict:
    with engine.connect() as conn:
        balances = dict(execute(conn, "SELECT member_id, balance FROM members ORDER BY member_id"))
        totals = execute(conn, "SELECT member_id, kind, sum(points) FROM journal GROUP BY member_id, kind")
        lots = execute(
            conn,
            "SELECT member_id, earned_on, expires_on, remaining FROM lots WHERE remaining <> 0 "
            "ORDER BY member_id, expires_on IS NULL, expires_on, earned_on, lot_id",
        )
    out = {
        m: {"balance": int(b), "earned": 0, "redeemed": 0, "expired": 0, "reversed": 0, "lots": []}
        for m, b in balances.items()
    }
    for member_id, kind, points in totals:
        bucket = (
            "earned"
            if kind in KINDS_EARNED
            else "redeemed"
            if kind in KINDS_REDEEMED
            else "expired"
            if kind == "expire"
            else "reversed"
        )
        out[member_id][bucket] += int(points) if bucket == "earned" else -int(points)
    for member_id, earned_on, expires_on, remaining in lots:
        out[member_id]["lots"].append(
            {
                "earned_on": str(as_date(earned_on)),
                "expires_on": str(as_date(expires_on)) if expires_on else None,
                "remaining": int(remaining),
            }
        )
    return out
