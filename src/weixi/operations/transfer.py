"""A member moved to another customer manager by hand, with a reason (issue 20 §4; the recreation-department plan:
"如达不到要求的转给别领班维护" — members whose manager falls short go to another). Every transfer is a row of
``ops_transfers`` (the history is kept, never overwritten); the member's open calls and visits follow to the new
manager in the same transaction. The entry points audit who did it.

The member's manager is the latest transfer's ``to_staff``, else the month's assignment
(``DATA/operations/assignments/month=M``), else the CRM's ``manager_id`` in the close snapshot
(:func:`current_manager`). :func:`latest_arrow` gives every member's latest transfer as one Arrow table, for the
month's assignment to keep (continuity) and for the portfolio report.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import execute
from weixi.close import store as close_store
from weixi.operations.clock import local, now, zone
from weixi.operations.errors import OperationsConflict, OperationsError, StaffNotFound
from weixi.operations.service import lit
from weixi.operations.tasks import QUEUE_KINDS

REASON_MAX = 500


def _staff(conn, staff_id: str) -> tuple:
    rows = execute(conn, "SELECT staff_id, name, team, active FROM ops_staff WHERE staff_id = ?", [staff_id])
    if not rows:
        raise StaffNotFound("staff_not_found", staff=staff_id)
    return rows[0]


def transfer_member(
    engine: Engine,
    data_dir: Path,
    member_id: str,
    to_staff: str,
    reason: str,
    by: str,
    at: datetime | None = None,
) -> dict:
    """Move ``member_id`` to ``to_staff`` (an active staff member on the roster) for ``reason``; the member's open
    calls and visits go with them. Refused, nothing changed: no reason, an unknown or inactive manager, the
    member's current manager."""
    reason = (reason or "").strip()
    if not reason:
        raise OperationsError("transfer_reason_missing", member=member_id)
    if len(reason) > REASON_MAX:
        raise OperationsError("transfer_reason_too_long", member=member_id, max=REASON_MAX)
    at = at or now(engine)
    before = current_manager(engine, data_dir, member_id)
    kinds = ", ".join(lit(k) for k in QUEUE_KINDS)
    with engine.begin() as conn:
        _, name, team, active = _staff(conn, to_staff)
        if not active:
            raise OperationsConflict("transfer_staff_inactive", member=member_id, staff=to_staff)
        if before == to_staff:
            raise OperationsConflict("transfer_same_manager", member=member_id, staff=to_staff)
        where = f"member_id = ? AND status = 'open' AND kind IN ({kinds})"
        moved = execute(conn, f"SELECT count(*) FROM ops_tasks WHERE {where}", [member_id])[0][0]
        execute(conn, f"UPDATE ops_tasks SET assignee = ?, team = ? WHERE {where}", [to_staff, team, member_id])
        execute(
            conn,
            "INSERT INTO ops_transfers (member_id, from_staff, to_staff, reason, moved_tasks, at, by_user)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [member_id, before, to_staff, reason, int(moved), at, by],
        )
    return {
        "member_id": member_id,
        "from_staff": before,
        "to_staff": to_staff,
        "to_name": name,
        "reason": reason,
        "moved_tasks": int(moved),
        "at": at.isoformat(),
        "by": by,
    }


def history(engine: Engine, member_id: str | None = None, limit: int = 200) -> list[dict]:
    """The transfers of one member (or the latest of everyone's), newest first, times in the operator's zone."""
    sql = (
        "SELECT t.id, t.member_id, t.from_staff, f.name, t.to_staff, s.name, t.reason, t.moved_tasks, t.at,"
        " t.by_user FROM ops_transfers t LEFT JOIN ops_staff f ON f.staff_id = t.from_staff"
        " LEFT JOIN ops_staff s ON s.staff_id = t.to_staff"
    )
    with engine.connect() as conn:
        tz = zone(conn)
        rows = execute(
            conn,
            sql + (" WHERE t.member_id = ?" if member_id else "") + " ORDER BY t.at DESC, t.id DESC LIMIT ?",
            ([member_id] if member_id else []) + [limit],
        )
    keys = ("id", "member_id", "from_staff", "from_name", "to_staff", "to_name", "reason", "moved_tasks", "at", "by")
    out = []
    for r in rows:
        d = dict(zip(keys, r))
        d["at"] = local(d["at"], tz).strftime("%Y-%m-%d %H:%M")
        out.append(d)
    return out


def latest_arrow(engine: Engine, until: datetime | None = None) -> pa.Table:
    """Every member's latest transfer (up to ``until``): member_id, staff_id, since (the local day)."""
    with engine.connect() as conn:
        tz = zone(conn)
        rows = execute(
            conn,
            "SELECT t.member_id, t.to_staff, t.at FROM ops_transfers t WHERE t.id = (SELECT max(u.id) FROM"
            " ops_transfers u WHERE u.member_id = t.member_id" + (" AND u.at < ?" if until else "") + ")",
            [until] if until else [],
        )
    cols = list(zip(*rows)) if rows else [[], [], []]
    return pa.table(
        {
            "member_id": pa.array(cols[0], pa.string()),
            "staff_id": pa.array(cols[1], pa.string()),
            "since": pa.array([local(a, tz).date() for a in cols[2]], pa.date32()),
        }
    )


def current_manager(engine: Engine, data_dir: Path, member_id: str) -> str | None:
    """The member's manager now: the latest transfer, else the newest month's assignment, else the CRM's."""
    with engine.connect() as conn:
        moved = execute(
            conn,
            "SELECT to_staff FROM ops_transfers WHERE member_id = ? ORDER BY at DESC, id DESC LIMIT 1",
            [member_id],
        )
    if moved:
        return moved[0][0]
    data_dir = Path(data_dir)
    con = duck.connect()
    try:
        assigned = sorted((data_dir / "operations" / "assignments").glob("month=*/part-0.parquet"))
        if assigned:
            row = con.execute(
                f"SELECT staff_id FROM read_parquet({lit(assigned[-1])}) WHERE member_id = ? LIMIT 1", [member_id]
            ).fetchone()
            if row is not None:
                return row[0]
        months = close_store.months(data_dir, "snapshots")
        if months:
            snap = close_store.source(data_dir, "snapshots", months[-1])  # read_parquet([...]) of its files
            row = con.execute(f"SELECT manager_id FROM {snap} WHERE member_id = ? LIMIT 1", [member_id]).fetchone()
            if row is not None:
                return row[0]
    finally:
        con.close()
    return None


REASSIGN_MAX = 500


def reassign_tasks(engine: Engine, task_ids: list[str], to_staff: str) -> dict:
    """Hand open tasks to ``to_staff`` (an active staff member) in one go (the team view's batch action). Refused,
    nothing moved, when one of them is unknown or no longer open."""
    ids = list(dict.fromkeys(t for t in task_ids if t))
    if not ids:
        raise OperationsError("reassign_nothing_chosen")
    if len(ids) > REASSIGN_MAX:
        raise OperationsError("reassign_too_many", n=len(ids), max=REASSIGN_MAX)
    marks = ", ".join("?" for _ in ids)
    with engine.begin() as conn:
        _, name, team, active = _staff(conn, to_staff)
        if not active:
            raise OperationsConflict("reassign_staff_inactive", staff=to_staff)
        found = dict(execute(conn, f"SELECT task_id, status FROM ops_tasks WHERE task_id IN ({marks})", ids))
        closed = [t for t in ids if found.get(t) != "open"]
        if closed:
            raise OperationsConflict("reassign_task_not_open", task=closed[0], n=len(closed))
        before = execute(conn, f"SELECT assignee, count(*) FROM ops_tasks WHERE task_id IN ({marks}) GROUP BY 1", ids)
        execute(
            conn,
            f"UPDATE ops_tasks SET assignee = ?, team = ?, escalated_to = NULL, escalated_on = NULL"
            f" WHERE task_id IN ({marks})",
            [to_staff, team, *ids],
        )
    return {
        "to_staff": to_staff,
        "to_name": name,
        "moved": len(ids),
        "from": {a or "-": int(n) for a, n in before},
    }
