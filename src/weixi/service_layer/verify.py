"""Rebuild every balance, debt, lot and reward stock from the journal and compare with the stored state."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from weixi.adapters.sql import execute


@dataclass(frozen=True)
class Mismatch:
    what: str  # lot, balance, debt, lots-vs-balance, stock, negative-lot
    key: str
    expected: int  # rebuilt from the journal (or redemptions)
    found: int  # stored

    def describe(self) -> str:
        return f"{self.what} {self.key}: journal says {self.expected}, stored {self.found}"


CHECKS = {
    "lot": """SELECT l.lot_id, coalesce(j.s, 0), l.remaining FROM lots l
              LEFT JOIN (SELECT lot_id, sum(points) s FROM journal WHERE lot_id IS NOT NULL GROUP BY lot_id) j
              ON j.lot_id = l.lot_id WHERE coalesce(j.s, 0) <> l.remaining""",
    "orphan-entry": """SELECT j.lot_id, sum(j.points), 0 FROM journal j LEFT JOIN lots l ON l.lot_id = j.lot_id
              WHERE j.lot_id IS NOT NULL AND l.lot_id IS NULL GROUP BY j.lot_id""",
    "balance": """SELECT m.member_id, coalesce(j.s, 0), m.balance FROM members m
              LEFT JOIN (SELECT member_id, sum(points) s FROM journal GROUP BY member_id) j ON j.member_id = m.member_id
              WHERE coalesce(j.s, 0) <> m.balance""",
    "debt": """SELECT m.member_id, coalesce(j.s, 0), m.debt FROM members m
              LEFT JOIN (SELECT member_id, sum(debt_delta) s FROM journal GROUP BY member_id) j ON j.member_id = m.member_id
              WHERE coalesce(j.s, 0) <> m.debt""",
    "lots-vs-balance": """SELECT m.member_id, coalesce(l.s, 0), m.balance FROM members m
              LEFT JOIN (SELECT member_id, sum(remaining) s FROM lots GROUP BY member_id) l ON l.member_id = m.member_id
              WHERE coalesce(l.s, 0) <> m.balance""",
    "unknown-member": """SELECT j.member_id, sum(j.points), 0 FROM journal j LEFT JOIN members m ON m.member_id = j.member_id
              WHERE m.member_id IS NULL GROUP BY j.member_id""",
    "negative-lot": """SELECT lot_id, 0, remaining FROM lots WHERE (remaining < 0 AND deficit = ?) OR remaining > points
              OR (remaining > 0 AND deficit = ?)""",
    "stock": """SELECT r.reward_id, coalesce(d.q, 0), r.issued FROM rewards r
              LEFT JOIN (SELECT reward_id, sum(qty) q FROM redemptions WHERE status = 'fulfilled' GROUP BY reward_id) d
              ON d.reward_id = r.reward_id WHERE coalesce(d.q, 0) <> r.issued
              OR (r.stock_total IS NOT NULL AND r.issued > r.stock_total)""",
}


def verify(engine: Engine, limit: int = 1000) -> tuple[list[Mismatch], dict[str, int]]:
    """All mismatches (up to ``limit`` per check) and what was checked."""
    out: list[Mismatch] = []
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        for what, sql in CHECKS.items():
            params = [False, True] if what == "negative-lot" else []
            for key, expected, found in execute(conn, sql + f" LIMIT {limit}", params):
                out.append(Mismatch(what, str(key), int(expected), int(found)))
        counts = {
            "members": execute(conn, "SELECT count(*) FROM members")[0][0],
            "lots": execute(conn, "SELECT count(*) FROM lots")[0][0],
            "journal_entries": execute(conn, "SELECT count(*) FROM journal")[0][0],
            "rewards": execute(conn, "SELECT count(*) FROM rewards")[0][0],
        }
    return out, counts
