"""Inspection of tracking records (issue 20 §4; the recreation-department plan: "所有已分到的会员做跟踪(做了什么、
信息的回馈是什么…领导核实情况)" and "办公室检查会员维护跟踪记录并考核"). A tracking record is a call or visit a
manager closed in the month: what was done (the kind), the feedback (outcome, reason, note). A lead reads each
manager's records of the month and marks them inspected — ``ok`` (核实无误) or ``redo`` (需整改) with a note; the
latest verdict per record is kept with who and when (``ops_inspections``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Engine

from weixi.adapters.sql import execute, executemany
from weixi.operations import tasks
from weixi.operations.clock import local, now, start_of, zone
from weixi.operations.errors import OperationsConflict, OperationsError
from weixi.operations.portfolio import month_range
from weixi.operations.service import check_month, lit
from weixi.operations.work_queue import ts

VERDICTS = ("ok", "redo")
NOTE_MAX = 500
BATCH_MAX = 500


def _closed_in(conn, month: str, tz) -> tuple[str, list]:
    first, nxt = month_range(month)
    kinds = ", ".join(lit(k) for k in tasks.QUEUE_KINDS)
    closed = ts(conn, "t.closed_at")
    return (
        f"t.status = 'done' AND t.kind IN ({kinds}) AND {closed} >= {ts(conn, '?')} AND {closed} < {ts(conn, '?')}",
        [start_of(first, tz), start_of(nxt, tz)],
    )


def summary(engine: Engine, month: str, staff_ids: list[str] | None = None) -> list[dict]:
    """Per manager: tracking records of the month, how many inspected, how many need redoing, and the pass rate
    (records found in order / inspected) the office scores them by."""
    check_month(month)
    with engine.connect() as conn:
        tz = zone(conn)
        where, params = _closed_in(conn, month, tz)
        rows = execute(
            conn,
            f"""SELECT t.assignee, count(*), count(i.task_id), sum(CASE WHEN i.verdict = 'redo' THEN 1 ELSE 0 END)
            FROM ops_tasks t LEFT JOIN ops_inspections i ON i.task_id = t.task_id
            WHERE {where} AND t.assignee IS NOT NULL GROUP BY t.assignee""",
            params,
        )
        staff = execute(conn, "SELECT staff_id, name, team FROM ops_staff ORDER BY team, staff_id")
    by = {r[0]: r for r in rows}
    out = []
    for sid, name, team in staff:
        if staff_ids is not None and sid not in staff_ids:
            continue
        r = by.get(sid, (sid, 0, 0, 0))
        out.append(
            {
                "staff_id": sid,
                "name": name,
                "team": team,
                "records": int(r[1]),
                "inspected": int(r[2]),
                "redo": int(r[3] or 0),
                "pending": int(r[1]) - int(r[2]),
                # the score of the month's inspection (考核): the share of inspected records found in order
                "pass_rate": (
                    str((Decimal(int(r[2]) - int(r[3] or 0)) / int(r[2])).quantize(Decimal("0.0001")))
                    if int(r[2])
                    else None
                ),
            }
        )
    return out


def records(engine: Engine, month: str, staff_id: str, limit: int = 500) -> list[dict]:
    """One manager's tracking records of the month with their inspection, newest first."""
    check_month(month)
    with engine.connect() as conn:
        tz = zone(conn)
        where, params = _closed_in(conn, month, tz)
        rows = execute(
            conn,
            f"""SELECT t.task_id, t.member_id, t.kind, t.outcome, t.outcome_reason, t.outcome_note, t.closed_at,
                   t.attempts, i.verdict, i.note, i.inspected_by, i.inspected_at
            FROM ops_tasks t LEFT JOIN ops_inspections i ON i.task_id = t.task_id
            WHERE {where} AND t.assignee = ? ORDER BY t.closed_at DESC, t.task_id LIMIT ?""",
            [*params, staff_id, limit],
        )
    keys = ("task_id", "member_id", "kind", "outcome", "outcome_reason", "outcome_note", "closed_at", "attempts")
    out = []
    for r in rows:
        d = dict(zip(keys, r[:8]))
        d["closed_at"] = local(d["closed_at"], tz).strftime("%Y-%m-%d %H:%M") if d["closed_at"] else None
        d["inspection"] = (
            {
                "verdict": r[8],
                "note": r[9],
                "by": r[10],
                "at": local(r[11], tz).strftime("%Y-%m-%d %H:%M"),
            }
            if r[8]
            else None
        )
        out.append(d)
    return out


def inspect(
    engine: Engine,
    month: str,
    staff_id: str,
    task_ids: list[str],
    verdict: str,
    by: str,
    note: str | None = None,
    at: datetime | None = None,
) -> dict:
    """Mark ``task_ids`` (tracking records of ``staff_id`` closed in ``month``) inspected with ``verdict``; a record
    inspected before gets the new verdict. Refused, nothing marked, when one of them is not such a record."""
    check_month(month)
    if verdict not in VERDICTS:
        raise OperationsError("inspection_verdict_unknown", verdict=verdict[:16], verdicts=list(VERDICTS))
    ids = list(dict.fromkeys(t for t in task_ids if t))
    if not ids:
        raise OperationsError("inspection_nothing_chosen")
    if len(ids) > BATCH_MAX:
        raise OperationsError("inspection_too_many", n=len(ids), max=BATCH_MAX)
    note = (note or "").strip()[:NOTE_MAX] or None
    at = at or now(engine)
    with engine.begin() as conn:
        tz = zone(conn)
        where, params = _closed_in(conn, month, tz)
        marks = ", ".join("?" for _ in ids)
        found = {
            r[0]
            for r in execute(
                conn,
                f"SELECT t.task_id FROM ops_tasks t WHERE {where} AND t.assignee = ? AND t.task_id IN ({marks})",
                [*params, staff_id, *ids],
            )
        }
        missing = [t for t in ids if t not in found]
        if missing:
            raise OperationsConflict("inspection_not_a_record", staff=staff_id, month=month, task=missing[0])
        execute(conn, f"DELETE FROM ops_inspections WHERE task_id IN ({marks})", ids)
        executemany(
            conn,
            "INSERT INTO ops_inspections (task_id, staff_id, month, verdict, note, inspected_by, inspected_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(t, staff_id, month, verdict, note, by, at) for t in ids],
        )
    return {"month": month, "staff_id": staff_id, "verdict": verdict, "inspected": len(ids), "by": by}
