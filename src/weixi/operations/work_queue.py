"""The agent's queue on the work page (issue 18 §1 "Agent"): the open calls and visits that may be worked today,
**overdue SLA tasks first, then by due date, then by priority**. Members who have already left (离网: ``left`` in
the newest close snapshot, or reported ``left`` on a call) appear only in the win-back list (``list="winback"``:
win-back tasks), labelled as such; the work list never shows them. "Done this month" counts the tasks the person
closed in the current month of the operator's timezone.

An agent's open tasks are a few hundred at most: they are read in queue order in one query and the left members
among them found in one DuckDB look-up of the snapshot; the page is cut after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import archive, duck
from weixi.adapters.sql import execute, is_pg
from weixi.close import store as close_store
from weixi.operations import tasks
from weixi.operations.clock import start_of, zone
from weixi.operations.service import TASK_FIELDS, lit, task_row

LISTS = ("work", "winback")
WINBACK_SOURCE = "winback"


@dataclass(frozen=True)
class Queue:
    rows: list[dict]  # the page, each task with ``overdue`` (an SLA task past its due date) and ``left``
    total: int  # tasks in this list
    other: int  # tasks in the other list (work ↔ win-back)
    overdue: int  # tasks of this list past their service level
    page: int
    pages: int


def ts(conn, expr: str) -> str:
    """``expr`` (a stored time, or ``?``) comparable as a moment: SQLite keeps times as ISO text with whatever
    offset they were written in, so it compares Julian days; PostgreSQL compares timestamps."""
    return expr if is_pg(conn) else f"julianday({expr})"


def month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt


def left_members(data_dir: Path, member_ids: list[str]) -> set[str]:
    """Which of ``member_ids`` have left in the newest close snapshot."""
    months = close_store.months(Path(data_dir), "snapshots")
    if not member_ids or not months:
        return set()
    snap = close_store.source(Path(data_dir), "snapshots", months[-1])  # read_parquet([...]) of its files
    with duck.reader() as con:
        con.register("q_members", pa.table({"member_id": pa.array(sorted(set(member_ids)), pa.string())}))
        rows = con.execute(
            f"SELECT s.member_id FROM {snap} s SEMI JOIN q_members q ON q.member_id = s.member_id"
            " WHERE s.status = 'left'"
        ).fetchall()
    return {r[0] for r in rows}


def queue(
    engine: Engine, data_dir: Path, staff_id: str, on: date, which: str = "work", page: int = 1, size: int = 50
) -> Queue:
    """One page of ``staff_id``'s ``which`` list on day ``on`` (see the module's docstring)."""
    kinds = ", ".join(lit(k) for k in tasks.QUEUE_KINDS)
    fields = ", ".join(f"t.{f}" for f in TASK_FIELDS)
    with engine.connect() as conn:
        tz = zone(conn)
        rows = execute(
            conn,
            f"""SELECT {fields}, EXISTS (SELECT 1 FROM ops_tasks r WHERE r.member_id = t.member_id
                    AND r.outcome = 'left') AS reported_left
            FROM ops_tasks t WHERE t.assignee = ? AND t.status = 'open' AND t.kind IN ({kinds})
              AND (t.not_before IS NULL OR t.not_before <= ?)
            ORDER BY CASE WHEN t.sla_rule IS NOT NULL AND t.due_on < ? THEN 0 ELSE 1 END,
                     CASE WHEN t.due_on IS NULL THEN 1 ELSE 0 END, t.due_on, t.priority DESC, t.task_id""",
            [staff_id, on, on],
        )
        found = [(task_row(r[:-1], tz), bool(r[-1])) for r in rows]
    gone = left_members(data_dir, [t["member_id"] for t, _ in found])
    work, winback = [], []
    for t, reported in found:
        t["left"] = reported or t["member_id"] in gone
        t["overdue"] = t["sla_rule"] is not None and t["due_on"] is not None and t["due_on"] < on.isoformat()
        if t["source"] == WINBACK_SOURCE:
            winback.append(t)
        elif not t["left"]:
            work.append(t)
    chosen, other = (winback, work) if which == "winback" else (work, winback)
    pages = max(1, -(-len(chosen) // size))
    page = min(max(1, page), pages)
    overdue = sum(1 for t in chosen if t["overdue"])
    return Queue(chosen[(page - 1) * size : page * size], len(chosen), len(other), overdue, page, pages)


def done_this_month(engine: Engine, staff_ids: list[str] | None, on: date) -> dict[str, int]:
    """Tasks closed in the month of ``on`` (operator's timezone), per assignee (``staff_ids``: only those)."""
    first, nxt = month_bounds(on)
    with engine.connect() as conn:
        tz = zone(conn)
        params: list = [start_of(first, tz), start_of(nxt, tz)]
        where = ""
        if staff_ids is not None:
            where = f" AND assignee IN ({', '.join('?' for _ in staff_ids) or 'NULL'})"
            params += list(staff_ids)
        rows = execute(
            conn,
            f"SELECT assignee, count(*) FROM ops_tasks WHERE status = 'done' AND {ts(conn, 'closed_at')} >= {ts(conn, '?')}"
            f" AND {ts(conn, 'closed_at')} < {ts(conn, '?')}" + where + " GROUP BY assignee",
            params,
        )
    return {a: int(n) for a, n in rows if a is not None}


def member_names(data_dir: Path, member_ids: list[str]) -> dict[str, str]:
    """Names beside ids on the queue: the archive's names of ``member_ids`` (one look-up for the page)."""
    rows = archive.members_rows(data_dir, sorted(set(member_ids)), ["member_id", "name"]) if member_ids else {}
    return {m: r.get("name") for m, r in rows.items() if r.get("name")}


def staff_tasks(engine: Engine, staff_id: str, on: date, page: int = 1, size: int = 50) -> dict:
    """One person's open tasks (every kind) for the team lead's drill-down, in the queue's order, with the total."""
    fields = ", ".join(TASK_FIELDS)
    with engine.connect() as conn:
        tz = zone(conn)
        total = execute(conn, "SELECT count(*) FROM ops_tasks WHERE assignee = ? AND status = 'open'", [staff_id])[0][0]
        pages = max(1, -(-int(total) // size))
        page = min(max(1, page), pages)
        rows = execute(
            conn,
            f"""SELECT {fields} FROM ops_tasks WHERE assignee = ? AND status = 'open'
            ORDER BY CASE WHEN sla_rule IS NOT NULL AND due_on < ? THEN 0 ELSE 1 END,
                     CASE WHEN due_on IS NULL THEN 1 ELSE 0 END, due_on, priority DESC, task_id LIMIT ? OFFSET ?""",
            [staff_id, on, size, (page - 1) * size],
        )
    out = []
    for r in rows:
        t = task_row(r, tz)
        t["overdue"] = t["sla_rule"] is not None and t["due_on"] is not None and t["due_on"] < on.isoformat()
        out.append(t)
    return {"rows": out, "total": int(total), "page": page, "pages": pages}
