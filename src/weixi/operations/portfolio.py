"""The monthly per-manager portfolio report (issue 20 §4; the recreation-department plan: "每月上交自己维护会员的
分析报告" — each month, an analysis of the members one maintains): per manager, the members held, the contacts made,
the outcomes recorded, the members who churned and their points. Set-based: one DuckDB query over the month's
assignment, the close snapshots and the transfers, one SQL query over the month's closed tasks.

* **Held**: the month's assignment (``DATA/operations/assignments/month=M``; without one, the CRM's ``manager_id``
  in the snapshot), each member's latest transfer up to the month's end taking precedence
  (:mod:`weixi.operations.transfer`).
* **Contacts** and **outcomes**: calls and visits the manager closed in the month (operator's timezone); a
  contact is an outcome that reached the member (reached, accepted, declined, call back).
* **Churned**: held members marked left (离网) in the newest close snapshot up to the next month's.
* **Points**: the held members' balance at the month's close, and what they earned in the month.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import execute
from weixi.close import store as close_store
from weixi.operations import calendar, outcomes, tasks, transfer
from weixi.operations.clock import start_of, zone
from weixi.operations.service import check_month, lit, partition_file
from weixi.operations.work_queue import ts
from weixi.segments import months as month_math

CONTACT_OUTCOMES = ("reached", "accepted", "declined", "callback")
COLUMNS = (
    "staff_id",
    "name",
    "team",
    "held",
    "contacts",
    *(f"outcome_{o}" for o in outcomes.OUTCOMES),
    "churned",
    "points_balance",
    "points_earned",
)


def month_range(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    return first, calendar.add_months(first, 1)


def _snapshot(data_dir: Path, month: str) -> str | None:
    """``read_parquet([...])`` of the month's snapshot files (None when the month has none)."""
    return close_store.source(data_dir, "snapshots", month)


def _held(engine: Engine, data_dir: Path, month: str) -> dict[str, dict]:
    """Per staff id: held, churned, points_balance, points_earned (DuckDB, set-based)."""
    first, nxt = month_range(month)
    snap = _snapshot(data_dir, month)
    later = _snapshot(data_dir, month_math.shift(month, 1)) or snap
    assigned = partition_file(data_dir, "assignments", month)
    with duck.reader() as con:
        con.register("moved", transfer.latest_arrow(engine, start_of(nxt, zone(engine))))
        if assigned.exists():
            base = f"SELECT member_id, staff_id FROM read_parquet({lit(assigned)}) WHERE staff_id IS NOT NULL"
        elif snap is not None:
            base = f"SELECT member_id, manager_id AS staff_id FROM {snap} WHERE manager_id IS NOT NULL"
        else:
            base = "SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS staff_id WHERE false"
        held = f"""SELECT coalesce(m.member_id, a.member_id) AS member_id, coalesce(m.staff_id, a.staff_id) AS staff_id
            FROM ({base}) a FULL JOIN moved m ON m.member_id = a.member_id"""
        if snap is None:
            rows = con.execute(f"SELECT staff_id, count(*), 0, 0, 0 FROM ({held}) GROUP BY 1").fetchall()
        else:
            cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {snap}").fetchall()}
            earned = "s.month_points_earned" if "month_points_earned" in cols else "0"
            rows = con.execute(f"""SELECT h.staff_id, count(*),
                    count(*) FILTER (WHERE l.status = 'left'),
                    coalesce(sum(s.points_balance), 0), coalesce(sum({earned}), 0)
                FROM ({held}) h LEFT JOIN {snap} s ON s.member_id = h.member_id
                LEFT JOIN (SELECT member_id, status FROM {later}) l ON l.member_id = h.member_id
                GROUP BY 1""").fetchall()
    return {
        r[0]: {"held": int(r[1]), "churned": int(r[2]), "points_balance": int(r[3]), "points_earned": int(r[4])}
        for r in rows
        if r[0] is not None
    }


def _outcomes(engine: Engine, month: str) -> dict[str, dict[str, int]]:
    first, nxt = month_range(month)
    kinds = ", ".join(lit(k) for k in tasks.QUEUE_KINDS)
    with engine.connect() as conn:
        tz = zone(conn)
        rows = execute(
            conn,
            f"SELECT assignee, outcome, count(*) FROM ops_tasks WHERE status = 'done' AND kind IN ({kinds})"
            f" AND {ts(conn, 'closed_at')} >= {ts(conn, '?')} AND {ts(conn, 'closed_at')} < {ts(conn, '?')}"
            " AND assignee IS NOT NULL GROUP BY assignee, outcome",
            [start_of(first, tz), start_of(nxt, tz)],
        )
    out: dict[str, dict[str, int]] = {}
    for staff, outcome, n in rows:
        out.setdefault(staff, {})[outcome or "unreachable"] = int(n)
    return out


def report(engine: Engine, data_dir: Path, month: str, staff_ids: list[str] | None = None) -> dict:
    """One row per staff member on the roster (only ``staff_ids`` when given), with the totals."""
    check_month(month)
    held = _held(engine, Path(data_dir), month)
    done = _outcomes(engine, month)
    with engine.connect() as conn:
        staff = execute(conn, "SELECT staff_id, name, team, role FROM ops_staff ORDER BY team, staff_id")
    rows = []
    for sid, name, team, role in staff:
        if staff_ids is not None and sid not in staff_ids:
            continue
        h = held.get(sid, {"held": 0, "churned": 0, "points_balance": 0, "points_earned": 0})
        o = done.get(sid, {})
        row = {"staff_id": sid, "name": name, "team": team, "role": role, "held": h["held"]}
        row["contacts"] = sum(o.get(k, 0) for k in CONTACT_OUTCOMES)
        row.update({f"outcome_{k}": o.get(k, 0) for k in outcomes.OUTCOMES})
        row.update(churned=h["churned"], points_balance=h["points_balance"], points_earned=h["points_earned"])
        rows.append(row)
    totals = {c: sum(r[c] for r in rows) for c in COLUMNS[3:]}
    return {"month": month, "rows": rows, "totals": totals, "outcomes": list(outcomes.OUTCOMES)}
