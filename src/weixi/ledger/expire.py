"""Expiry: every lot whose ``expires_on`` is on or before the given day loses what remains, set-based.

One journal entry per lot, dated the lot's ``expires_on``. Rerunning for the same day finds nothing left. Lots the
lake holds unfolded expire in the lake (:mod:`weixi.ledger.expire_lake`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from weixi.adapters.sql import execute, is_pg
from weixi.ledger.expire_lake import expire_lake

DUE = "expires_on <= ? AND remaining > 0 AND deficit = ?"


@dataclass(frozen=True)
class ExpiryResult:
    as_of: date
    lots: int
    points: int
    members: int


def expire(engine: Engine, as_of: date) -> ExpiryResult:
    """Expire the lake's unfolded lots first (:mod:`weixi.ledger.expire_lake`; nothing without lake months), then
    the SQL ledger's: a lot folded meanwhile is the SQL expiry's."""
    lake_lots, lake_points, lake_members = expire_lake(engine, as_of)
    sql = _expire_sql(engine, as_of)
    return ExpiryResult(as_of, sql.lots + lake_lots, sql.points + lake_points, sql.members + lake_members)


def _expire_sql(engine: Engine, as_of: date) -> ExpiryResult:
    with engine.begin() as conn:
        if is_pg(conn):  # same lock order as redemptions: members, then lots
            execute(
                conn,
                f"SELECT member_id FROM members WHERE member_id IN (SELECT member_id FROM lots WHERE {DUE}) "
                "ORDER BY member_id FOR UPDATE",
                [as_of, False],
            )
        lots, points, members = execute(
            conn,
            f"SELECT count(*), coalesce(sum(remaining), 0), count(DISTINCT member_id) FROM lots WHERE {DUE}",
            [as_of, False],
        )[0]
        if lots:
            execute(
                conn,
                "INSERT INTO journal (member_id, day, kind, points, debt_delta, lot_id, event_id, rule_id, note, "
                "plan_version) SELECT member_id, expires_on, 'expire', -remaining, 0, lot_id, NULL, NULL, "
                f"'expired', plan_version FROM lots WHERE {DUE}",
                [as_of, False],
            )
            execute(
                conn,
                "UPDATE members SET balance = members.balance - due.points FROM (SELECT member_id, "
                f"sum(remaining) AS points FROM lots WHERE {DUE} GROUP BY member_id) AS due "
                "WHERE members.member_id = due.member_id",
                [as_of, False],
            )
            execute(conn, f"UPDATE lots SET remaining = 0 WHERE {DUE}", [as_of, False])
    return ExpiryResult(as_of, int(lots), int(points), int(members))
