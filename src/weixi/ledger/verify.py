"""Rebuild every balance, debt, lot and reward stock from the journal and compare with the stored state; check
the time order of every spend against the lots it took points from."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from weixi.adapters.bulk_sql import select_ids
from weixi.adapters.sql import execute
from weixi.ledger.fold import folded_lake_lots


@dataclass(frozen=True)
class Mismatch:
    # lot, balance, debt, lots-vs-balance, stock, negative-lot, spend-time, lake-lot, lake-expired-lot; and from the
    # close's files (weixi.close.verify_lake): lake-accrual-extra, lake-accrual-missing, lake-accrual-points,
    # snapshot-balance, lake-ids-record, lake-sums-record
    what: str
    key: str
    expected: int  # rebuilt from the journal (or redemptions)
    found: int  # stored
    note: str = ""  # what is wrong, when the numbers do not say it (spend-time)

    def describe(self) -> str:
        if self.note:
            return f"{self.what} {self.key}: {self.note}"
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


# A spend (redeem, negative adjust, clawback) may take points only from a lot earned on or before its day, not
# expired on its day, and not after the journal expired the lot's points.
SPEND_TIME = """SELECT j.id, j.kind, j.day, j.points, j.lot_id, l.earned_on, l.expires_on, x.first_expire
    FROM journal j JOIN lots l ON l.lot_id = j.lot_id
    LEFT JOIN (SELECT lot_id, min(id) AS first_expire FROM journal WHERE kind = 'expire' GROUP BY lot_id) x
    ON x.lot_id = j.lot_id
    WHERE j.points < 0 AND j.kind IN ('redeem', 'adjust', 'clawback')
    AND (j.day < l.earned_on OR j.day >= l.expires_on OR x.first_expire < j.id)"""


def _spend_time(row) -> Mismatch:
    entry, kind, day, points, lot, earned_on, expires_on, first_expire = row
    day, earned_on, expires_on = str(day)[:10], str(earned_on)[:10], expires_on and str(expires_on)[:10]
    if day < earned_on:
        why = f"before the lot was earned on {earned_on}"
    elif expires_on and day >= expires_on:
        why = f"on or after the lot expired on {expires_on}"
    else:
        why = f"after the journal expired the lot (entry {first_expire})"
    return Mismatch(
        "spend-time", str(lot), 0, int(points), f"journal entry {entry} ({kind} {points} on {day}) takes points {why}"
    )


def verify(engine: Engine, limit: int = 1000) -> tuple[list[Mismatch], dict[str, int]]:
    """All mismatches (up to ``limit`` per check) and what was checked. With lake months (``WEIXI_LEDGER_STORE=lake``)
    a member's SQL balance counts the SQL ledger's lots only (the lake's unfolded points are the lake's), so the
    balance checks are the SQL store's own; the folded lake lots are checked against the lake."""
    out: list[Mismatch] = []
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        lake = bool(execute(conn, "SELECT 1 FROM lake_months LIMIT 1"))
        for what, sql in CHECKS.items():
            params = [False, True] if what == "negative-lot" else []
            for key, expected, found in execute(conn, sql + f" LIMIT {limit}", params):
                out.append(Mismatch(what, str(key), int(expected), int(found)))
        out += [_spend_time(row) for row in execute(conn, SPEND_TIME + f" ORDER BY j.id LIMIT {limit}")]
        if lake:  # a folded lake lot is in SQL with the points the lake gave it
            folded, expired = folded_lake_lots(engine)
            stored = dict(select_ids(conn, "SELECT lot_id, points FROM lots WHERE lot_id {ids}", list(folded)))
            # a lot the lake expired is expired in SQL too once folded (the fold brings its entry, or the SQL expiry
            # took it when the member was folded between the lake's expiry and its application)
            live = select_ids(
                conn,
                "SELECT l.lot_id, l.remaining FROM lots l WHERE l.lot_id {ids} AND NOT EXISTS "
                "(SELECT 1 FROM journal j WHERE j.lot_id = l.lot_id AND j.kind = 'expire')",
                sorted(expired),
            )
            out += [
                Mismatch("lake-expired-lot", lot, 0, int(left), "expired in the lake but live in SQL")
                for lot, left in live
            ][:limit]
            bad = [(lot, p, int(stored.get(lot, 0))) for lot, p in sorted(folded.items()) if stored.get(lot) != p]
            out += [
                Mismatch("lake-lot", lot, p, f, f"lake lot of a folded month: lake {p}, SQL {f}") for lot, p, f in bad
            ][:limit]
        counts = {
            "members": execute(conn, "SELECT count(*) FROM members")[0][0],
            "lots": execute(conn, "SELECT count(*) FROM lots")[0][0],
            "journal_entries": execute(conn, "SELECT count(*) FROM journal")[0][0],
            "rewards": execute(conn, "SELECT count(*) FROM rewards")[0][0],
        }
    return out, counts
