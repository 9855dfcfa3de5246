"""Expire 1,000,000 lots set-based, against the same-run bare insert of as many rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from benchmarks.common import bare_insert_seconds, fresh_db, timer
from weixi.adapters.sql import executemany
from weixi.ledger.expire import expire
from weixi.ledger.verify import verify


def seed_lots(engine, n_lots: int, n_members: int) -> None:
    """A consistent ledger of ``n_lots`` earned lots (lots, journal, members), written in bulk."""
    earned = date(2025, 1, 1)
    with engine.begin() as conn:
        for start in range(0, n_lots, 200_000):
            ids = range(start, min(n_lots, start + 200_000))
            executemany(
                conn,
                "INSERT INTO lots (lot_id, member_id, earned_on, expires_on, points, remaining, deficit, "
                "plan_version) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (f"L{i:08d}", f"M{i % n_members:07d}", earned, date(2026, 1, 1 + i % 28), 10, 10, False, 1)
                    for i in ids
                ],
            )
            executemany(
                conn,
                "INSERT INTO journal (member_id, day, kind, points, debt_delta, lot_id, event_id, plan_version) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(f"M{i % n_members:07d}", earned, "earn", 10, 0, f"L{i:08d}", f"L{i:08d}", 1) for i in ids],
            )
        per_member = n_lots // n_members
        executemany(
            conn,
            "INSERT INTO members (member_id, balance, debt, paid, streak) VALUES (?,?,0,?,0)",
            [(f"M{m:07d}", 10 * (per_member + (1 if m < n_lots % n_members else 0)), True) for m in range(n_members)],
        )


def run(workdir: Path, n_lots: int = 1_000_000, n_members: int = 100_000) -> dict:
    engine = fresh_db(workdir, "expiry")
    out: dict = {"lots": n_lots, "members": n_members}
    with timer(out, "seed_seconds"):
        seed_lots(engine, n_lots, n_members)
    rows = [
        (f"E{i:08d}", f"M{i % n_members:07d}", "bill", "2026-01-01T10:00:00+08:00", "10.00", None, None, None)
        for i in range(n_lots)
    ]
    out["baseline_bare_insert_seconds"] = round(bare_insert_seconds(engine, rows), 3)
    del rows
    with timer(out, "expire_seconds"):
        result = expire(engine, date(2026, 2, 1))
    out["expired_lots"] = result.lots
    out["expired_points"] = result.points
    out["lots_per_second"] = round(n_lots / out["expire_seconds"])
    out["ratio_to_bare_insert"] = round(out["expire_seconds"] / out["baseline_bare_insert_seconds"], 2)
    with timer(out, "rerun_seconds"):
        out["rerun_expired_lots"] = expire(engine, date(2026, 2, 1)).lots
    with timer(out, "verify_seconds"):
        out["verify_mismatches"] = len(verify(engine)[0])
    engine.dispose()
    return out
