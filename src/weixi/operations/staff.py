"""The retention staff: the roster (``weixi staff load``), the list, and a manager who leaves.

One roster for operations and incentives (issue 19 §12): a row may carry an operations role (``manager``,
``senior_manager``, ``lead``, ``agent``, ``intern``: who works the task queues) or any staff role of the incentive
plans (``clerk``, ``grid_manager``, ``director``...: :data:`weixi.incentives.roles.ROLES`); the incentive pages and
``reports.recompute`` read this roster when a month has no roster file of its own, mapping the operations codes to
the one vocabulary (:data:`weixi.incentives.roles.ALIASES`). A login's staff id is its ``staff_id``, else its username."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import as_date, execute, executemany
from weixi.incentives.roles import ROLES as STAFF_ROLES
from weixi.operations.clock import now
from weixi.operations.errors import OperationsError, StaffNotFound
from weixi.operations.plan import ROLES
from weixi.operations.service import lit

STAFF_COLUMNS = ("staff_id", "name", "role", "team", "team_lead", "shift", "active", "joined_on", "left_on")


# -- staff -----------------------------------------------------------------------------------------------------


def load_staff(engine: Engine, path: str | Path) -> dict:
    """Upsert the roster (CSV or Parquet: staff_id, role, and optionally name, team, team_lead, shift, active,
    joined_on, left_on). Every bad row is listed and nothing is loaded when one is bad."""
    path = Path(path)
    if not path.exists():
        raise OperationsError("ops_roster_file_missing", path=str(path))
    src = (
        f"read_parquet({lit(path)})"
        if path.suffix in (".parquet", ".pq")
        else f"read_csv({lit(path)}, all_varchar=true, header=true)"
    )
    con = duck.connect()
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    except duckdb.Error as exc:
        raise OperationsError("ops_roster_file_unreadable", path=str(path), detail=str(exc).splitlines()[0]) from None
    missing = [c for c in ("staff_id", "role") if c not in cols]
    if missing:
        raise OperationsError("ops_roster_missing_columns", path=str(path), missing=missing, columns=STAFF_COLUMNS)
    sel = ", ".join(
        f"NULLIF(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in cols else f"NULL AS {c}" for c in STAFF_COLUMNS
    )
    rows = con.execute(f"SELECT row_number() OVER () + 1 AS row, {sel} FROM {src}").fetchall()
    bad, good, seen, at = [], [], set(), now(engine)
    for row, sid, name, role, team, lead, shift, active, joined, left in rows:
        problem = None
        if not sid:
            problem = "staff_id: missing"
        elif sid in seen:
            problem = f"staff_id: {sid} is listed twice"
        elif role not in ROLES and role not in STAFF_ROLES:  # one roster: operations and incentive roles
            problem = f"role: unknown role {role!r} (one of {', '.join((*ROLES, *STAFF_ROLES))})"
        elif active and active.lower() not in ("true", "false", "1", "0", "yes", "no"):
            problem = f"active: expected true or false, got {active!r}"
        try:
            joined_d = date.fromisoformat(joined) if joined else None
            left_d = date.fromisoformat(left) if left else None
        except ValueError as exc:
            problem = problem or f"joined_on/left_on: {exc} (use YYYY-MM-DD)"
        seen.add(sid)
        if problem:
            bad.append(f"row {row}: {problem}")
            continue
        is_active = (active or "true").lower() in ("true", "1", "yes") and left_d is None
        good.append((sid, name, role, team, lead, shift, is_active, joined_d, left_d, at))
    if bad:
        raise OperationsError("ops_roster_bad_rows", path=str(path), n=len(bad), rows="; ".join(bad[:20]))
    with engine.begin() as conn:
        for r in good:
            execute(conn, "DELETE FROM ops_staff WHERE staff_id = ?", [r[0]])
        executemany(
            conn,
            "INSERT INTO ops_staff (staff_id, name, role, team, team_lead, shift, active, joined_on,"
            " left_on, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            good,
        )
    return {"loaded": len(good), "file": str(path)}


def staff_list(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT staff_id, name, role, team, team_lead, shift, active, left_on FROM ops_staff "
            "ORDER BY team, staff_id",
        )
    return [
        dict(
            zip(
                ("staff_id", "name", "role", "team", "team_lead", "shift", "active", "left_on"),
                (*r[:6], bool(r[6]), as_date(r[7])),
            )
        )
        for r in rows
    ]


def staff_leave(engine: Engine, staff_id: str, on: date) -> dict:
    """A manager leaves: inactive from ``on``; the next ``tasks create`` (or ``tasks reassign``) hands their
    members and open tasks to others."""
    with engine.begin() as conn:
        if not execute(conn, "SELECT 1 FROM ops_staff WHERE staff_id = ?", [staff_id]):
            raise StaffNotFound("staff_not_found", staff=staff_id)
        execute(
            conn,
            "UPDATE ops_staff SET active = ?, left_on = ?, updated_at = ? WHERE staff_id = ?",
            [False, on, now(conn), staff_id],
        )
        n = execute(conn, "SELECT count(*) FROM ops_tasks WHERE assignee = ? AND status = 'open'", [staff_id])[0][0]
    return {
        "staff_id": staff_id,
        "left_on": on.isoformat(),
        "open_tasks": int(n),
        "next": "run weixi tasks reassign --month M to hand their members and open tasks to others",
    }
