"""Retention operations, the use cases on single tasks: the plan, consents, a task and a queue, a manual task.
CLI, API and console call these functions; see docs/operations.md. Recording an outcome is
:mod:`weixi.operations.task_outcomes`, escalation and the SLA :mod:`weixi.operations.sla`, the month's tasks
:mod:`weixi.operations.monthly_tasks`, the roster :mod:`weixi.operations.staff`, retention orders
:mod:`weixi.operations.orders`. Times are in the active plan's timezone (:mod:`weixi.operations.clock`).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.adapters.duck import lit
from weixi.adapters.sql import as_date, execute
from weixi.operations import policy, tasks
from weixi.operations.clock import aware, local, now, start_of, today, zone
from weixi.operations.errors import (
    OperationsConflict,
    OperationsError,
    OperationsForbidden,
    OperationsUnavailable,
    StaffNotFound,
    TaskClosed,
    UnknownTask,
)
from weixi.operations.plan import KIND_CHANNEL, OperationsPlan, load_operations_plan
from weixi.segments import months

__all__ = [
    "OperationsConflict",
    "OperationsError",
    "OperationsForbidden",
    "OperationsUnavailable",
    "StaffNotFound",
    "TaskClosed",
    "UnknownTask",
    "aware",
    "now",
    "today",
    "zone",
]


def plan_or_fail(path: str | None = None) -> OperationsPlan:
    """The operations plan (:func:`weixi.operations.plan.load_operations_plan`: read every time, parsed once per
    content), or the refusal naming its errors."""
    plan, diagnostics = load_operations_plan(path)
    if plan is None:
        errors = [d.format() for d in diagnostics if d.is_error]
        raise OperationsConflict("operations_plan_invalid", errors="\n".join(errors))
    return plan


def check_month(month: str) -> str:
    try:
        return months.check(month)
    except ValueError:
        raise OperationsError("ops_month_invalid", month=month) from None


def partition_file(data_dir: Path, dataset: str, month: str) -> Path:
    return Path(data_dir) / "operations" / dataset / f"month={month}" / "part-0.parquet"


def write_parquet(con, sql: str, final: Path) -> None:
    """``COPY (sql)`` beside ``final`` and swap it in (a reader never sees half a file)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    con.execute(f"COPY ({sql}) TO {lit(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    tmp.replace(final)


# -- consents ---------------------------------------------------------------------------------------------------


def record_consent(
    engine: Engine,
    member_id: str,
    kind: str,
    channel: str,
    purpose: str,
    source: str,
    at: datetime | None = None,
    by: str | None = None,
    note: str | None = None,
) -> dict:
    if kind not in policy.KINDS:
        raise OperationsError("consent_kind_unknown", kind=kind, kinds=policy.KINDS)
    if channel not in policy.CONSENT_CHANNELS:
        raise OperationsError("consent_channel_unknown", channel=channel, channels=policy.CONSENT_CHANNELS)
    if purpose not in policy.CONSENT_PURPOSES:
        raise OperationsError("consent_purpose_unknown", purpose=purpose, purposes=policy.CONSENT_PURPOSES)
    if not source or not source.strip():
        raise OperationsError("consent_source_missing")
    at = at or now(engine)
    if at.tzinfo is None:
        raise OperationsError("consent_time_naive")
    with engine.begin() as conn:
        execute(
            conn,
            "INSERT INTO ops_consents (member_id, kind, channel, purpose, source, recorded_at, recorded_by,"
            " note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [member_id, kind, channel, purpose, source, at, by, note],
        )
    return {
        "member_id": member_id,
        "kind": kind,
        "channel": channel,
        "purpose": purpose,
        "source": source,
        "recorded_at": at.isoformat(),
    }


def consents(engine: Engine, member_id: str | None = None) -> list[policy.Consent]:
    sql = "SELECT member_id, kind, channel, purpose, source, recorded_at FROM ops_consents"
    with engine.connect() as conn:
        rows = execute(
            conn,
            sql + (" WHERE member_id = ?" if member_id else "") + " ORDER BY recorded_at",
            [member_id] if member_id else [],
        )
    return [policy.Consent(r[0], r[1], r[2], r[3], r[4], aware(r[5])) for r in rows]


def save_run(engine: Engine, kind: str, period: str, report: dict) -> None:
    with engine.begin() as conn:
        execute(
            conn,
            "INSERT INTO ops_runs (run_id, kind, period, started_at, report) VALUES (?, ?, ?, ?, ?)",
            [uuid.uuid4().hex, kind, period, now(conn), json.dumps(report, ensure_ascii=False, default=str)],
        )


# -- single tasks, queues, outcomes ---------------------------------------------------------------------------

TASK_FIELDS = (
    "task_id",
    "month",
    "member_id",
    "kind",
    "source",
    "sla_rule",
    "purpose",
    "reason",
    "offer_id",
    "offer_name",
    "template_id",
    "priority",
    "status",
    "assignee",
    "team",
    "created_on",
    "not_before",
    "due_on",
    "outcome",
    "outcome_reason",
    "outcome_note",
    "callback_at",
    "attempts",
    "closed_at",
    "closed_by",
    "escalated_to",
    "escalated_on",
    "parent_task_id",
    "reason_en",
)


def task_row(r, tz: ZoneInfo) -> dict:
    d = dict(zip(TASK_FIELDS, r))
    for k in ("created_on", "not_before", "due_on", "escalated_on"):
        d[k] = as_date(d[k]).isoformat() if d[k] is not None else None
    for k in ("callback_at", "closed_at"):
        d[k] = local(d[k], tz).isoformat() if d[k] is not None else None
    d["channel"] = KIND_CHANNEL.get(d["kind"], "none")
    return d


def get_task(engine: Engine, task_id: str, conn=None) -> dict:
    sql = f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE task_id = ?"
    if conn is None:
        with engine.connect() as c:
            rows, tz = execute(c, sql, [task_id]), zone(c)
    else:
        rows, tz = execute(conn, sql, [task_id]), zone(conn)
    if not rows:
        raise UnknownTask("unknown_task", task=task_id)
    return task_row(rows[0], tz)


def queue(engine: Engine, staff_id: str, on: date | None = None, limit: int = 50) -> list[dict]:
    """An agent's open calls and visits that may be worked on ``on``, in the order of the console's work page
    (:mod:`weixi.operations.work_queue`): tasks past their SLA due date first, then by due date, then priority."""
    on = on or today(engine)
    kinds = ", ".join(lit(k) for k in tasks.QUEUE_KINDS)
    with engine.connect() as conn:
        rows = execute(
            conn,
            f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE assignee = ? AND status = 'open'"
            f" AND kind IN ({kinds}) AND (not_before IS NULL OR not_before <= ?)"
            " ORDER BY CASE WHEN sla_rule IS NOT NULL AND due_on < ? THEN 0 ELSE 1 END,"
            " CASE WHEN due_on IS NULL THEN 1 ELSE 0 END, due_on, priority DESC, task_id LIMIT ?",
            [staff_id, on, on, limit],
        )
        tz = zone(conn)
    return [task_row(r, tz) for r in rows]


def member_counts(conn, plan: OperationsPlan, member_id: str, day: date) -> dict:
    tz = zone(conn)
    first = policy.period_start(day, "quarter") - timedelta(days=7)
    last = day + timedelta(days=100)
    made = execute(
        conn,
        "SELECT channel, purpose, at FROM ops_contacts WHERE member_id = ? AND at >= ?",
        [member_id, start_of(first, tz)],
    )
    planned = execute(
        conn,
        "SELECT kind, purpose, due_on FROM ops_tasks WHERE member_id = ? AND status = 'open'"
        " AND due_on BETWEEN ? AND ?",
        [member_id, first, last],
    )
    items = [(ch, p, local(at, tz).date()) for ch, p, at in made]
    items += [(KIND_CHANNEL.get(k, "none"), p, as_date(d)) for k, p, d in planned]
    counts: dict = {}
    for cap in plan.caps:
        for ch, p, d in items:
            if ch in cap.channels and p in cap.purposes:
                key = (cap.id, policy.period_start(d, cap.per))
                counts[key] = counts.get(key, 0) + 1
    return counts


def add_task(
    engine: Engine,
    plan: OperationsPlan,
    member_id: str,
    kind: str,
    due_on: date,
    assignee: str | None,
    reason: str | None = None,
    purpose: str = "marketing",
    priority: int = 0,
    created_by: str = "cli",
    on: date | None = None,
) -> dict:
    """One task by hand; refused (nothing created) when the contact policy stops it."""
    if kind not in KIND_CHANNEL:
        raise OperationsError("task_kind_unknown", kind=kind, kinds=list(KIND_CHANNEL))
    on = on or today(engine)
    channel = KIND_CHANNEL[kind]
    block = policy.consent_block(consents(engine, member_id), channel, purpose)
    with engine.begin() as conn:
        if block is None:
            block = policy.cap_block(plan, channel, purpose, due_on, member_counts(conn, plan, member_id, due_on))
        if block is not None:
            raise OperationsConflict(
                "task_blocked_by_policy", member=member_id, kind=kind, detail=block.detail, rule=block.rule
            )
        task_id = f"{on.strftime('%Y-%m')}/manual/{member_id}/{uuid.uuid4().hex[:8]}"
        team = execute(conn, "SELECT team FROM ops_staff WHERE staff_id = ?", [assignee]) if assignee else []
        execute(
            conn,
            "INSERT INTO ops_tasks (task_id, month, member_id, kind, source, purpose, reason, priority, "
            "status, assignee, team, created_on, not_before, due_on, attempts, created_at, closed_by) VALUES "
            "(?, ?, ?, ?, 'manual', ?, ?, ?, 'open', ?, ?, ?, ?, ?, 0, ?, ?)",
            [
                task_id,
                on.strftime("%Y-%m"),
                member_id,
                kind,
                purpose,
                reason,
                priority,
                assignee,
                team[0][0] if team else None,
                on,
                on,
                due_on,
                now(conn),
                None,
            ],
        )
    return get_task(engine, task_id)


def member_tasks(engine: Engine, member_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(
            conn,
            f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE member_id = ? ORDER BY created_on DESC, task_id",
            [member_id],
        )
        tz = zone(conn)
    return [task_row(r, tz) for r in rows]


def runs(engine: Engine, limit: int = 20) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT run_id, kind, period, started_at, report FROM ops_runs ORDER BY started_at DESC LIMIT ?",
            [limit],
        )
    return [
        {
            "run_id": r[0],
            "kind": r[1],
            "period": r[2],
            "started_at": aware(r[3]).isoformat(),
            "report": json.loads(r[4]),
        }
        for r in rows
    ]
