"""Recording what happened on a call or visit (:func:`record_outcome`), all or nothing: the task closes (or stays
open for another try), the contact counts against the caps, an accepted offer makes the retention order, and the
follow-up or win-back task is created. See :mod:`weixi.operations.outcomes` for the outcomes and reasons."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import archive
from weixi.adapters.sql import as_date, execute, is_pg
from weixi.operations import calendar, callbacks, outcomes, tasks
from weixi.operations.clock import now, zone
from weixi.operations.errors import OperationsError, TaskClosed
from weixi.operations.plan import OperationsPlan
from weixi.operations.service import get_task


def record_outcome(
    engine: Engine,
    plan: OperationsPlan,
    data_dir: Path,
    task_id: str,
    kind: str,
    by: str,
    reason: str | None = None,
    offer_id: str | None = None,
    note: str | None = None,
    callback_at: datetime | None = None,
    order: dict | None = None,
    at: datetime | None = None,
    attempt: int | None = None,
) -> dict:
    """Record what happened on a call or visit; see :mod:`weixi.operations.outcomes`. All or nothing.

    ``attempt`` (optional) is the try being recorded: the task's ``attempts`` + 1 when the caller loaded it. A
    retry of a try already recorded with the same outcome returns ``duplicate: true`` and records nothing; one
    recorded differently, or a try out of sequence, is refused (:class:`TaskClosed`)."""
    tz = zone(engine)
    at = at or datetime.now(tz)
    with engine.begin() as conn:
        if is_pg(conn):  # one outcome at a time per task (SQLite: the write transaction already is)
            execute(conn, "SELECT 1 FROM ops_tasks WHERE task_id = ? FOR UPDATE", [task_id])
        task = get_task(engine, task_id, conn)
        if attempt is not None:
            repeat = _repeated_try(conn, task, kind, attempt)
            if repeat is not None:
                return repeat
        offer_id = offer_id or (task["offer_id"] if kind == "accepted" else None)
        callback_at = _refusals(plan, task, outcomes.Outcome(kind, reason, offer_id, note), callback_at, at, tz)
        result: dict = {"task_id": task_id, "outcome": kind, "follow_ups": []}
        if kind == "unreachable" and task["attempts"] + 1 < outcomes.MAX_ATTEMPTS:
            execute(
                conn,
                "UPDATE ops_tasks SET attempts = attempts + 1, outcome_note = ? WHERE task_id = ?",
                [note, task_id],
            )
            result.update(
                status="open",
                attempts=task["attempts"] + 1,
                note=f"still open: {outcomes.MAX_ATTEMPTS - task['attempts'] - 1} more try(ies) before it "
                "closes as unreachable",
            )
            return result
        execute(
            conn,
            "UPDATE ops_tasks SET status = 'done', outcome = ?, outcome_reason = ?, outcome_note = ?, "
            "callback_at = ?, attempts = attempts + 1, closed_at = ?, closed_by = ?, offer_id = coalesce(?, "
            "offer_id) WHERE task_id = ? AND status = 'open'",
            [kind, reason, note, callback_at, at, by, offer_id if kind == "accepted" else None, task_id],
        )
        if kind in ("reached", "accepted", "declined", "callback"):
            execute(
                conn,
                "INSERT INTO ops_contacts (member_id, channel, purpose, source, campaign, at) VALUES "
                "(?, ?, ?, ?, NULL, ?) ON CONFLICT (source, channel) DO NOTHING",
                [task["member_id"], task["channel"], task["purpose"], task_id, at],
            )
        if kind == "accepted":
            result["order"] = _order(conn, data_dir, task, offer_id, by, at, order or {})
        follow = _follow_up(conn, plan, task, kind, at.astimezone(tz), callback_at, by)
        if follow:
            result["follow_ups"].append(follow)
        result["status"] = "done"
    return result


def _refusals(
    plan: OperationsPlan, task: dict, outcome: outcomes.Outcome, callback_at: datetime | None, at: datetime, tz
) -> datetime | None:
    """Refuse an outcome the task cannot take (closed, a message task, a bad outcome, a call back at a quiet or
    past time); the call-back time, in ``tz`` when it came without a zone."""
    task_id, kind = task["task_id"], outcome.kind
    if task["status"] != "open":
        raise TaskClosed(
            "task_closed",
            task=task_id,
            status=task["status"],
            outcome=task["outcome"],
            by=task["closed_by"],
            at=task["closed_at"],
        )
    if task["kind"] not in tasks.QUEUE_KINDS:
        raise OperationsError("task_outcome_by_outbox", task=task_id, kind=task["kind"])
    outcomes.check(outcome, task_id)
    if kind == "callback":
        callback_at = callbacks.check(plan, task_id, callback_at, at, tz)  # quiet hours: the next allowed time
    return callback_at


def _repeated_try(conn, task: dict, kind: str, attempt: int) -> dict | None:
    """The first result when try ``attempt`` of ``task`` was already recorded as ``kind``; None when it is the
    next try; :class:`TaskClosed` when it was recorded otherwise or is out of sequence."""
    tid, done = task["task_id"], task["attempts"]
    if attempt > done + 1 or attempt < 1:
        raise TaskClosed("task_try_out_of_sequence", task=tid, attempt=attempt, done=done)
    if attempt == done + 1:
        return None
    if kind == "unreachable":  # only unreachable tries leave a task open, so every try before the last was one
        same = task["status"] == "open" or attempt < done or task["outcome"] == "unreachable"
    else:
        same = attempt == done and task["outcome"] == kind
    if not same:
        raise TaskClosed(
            "task_try_recorded_otherwise",
            task=tid,
            attempt=attempt,
            outcome=task["outcome"] or "unreachable",
            by=task["closed_by"] or "an agent",
        )
    out: dict = {
        "task_id": tid,
        "outcome": kind,
        "status": task["status"],
        "attempts": done,
        "duplicate": True,
        "follow_ups": [
            {
                "task_id": r[0],
                "kind": r[1],
                "not_before": as_date(r[2]).isoformat(),
                "due_on": as_date(r[3]).isoformat(),
                "reason": r[4],
            }
            for r in execute(
                conn,
                "SELECT task_id, kind, not_before, due_on, reason FROM ops_tasks WHERE parent_task_id = ?"
                " ORDER BY task_id",
                [tid],
            )
        ],
    }
    order = execute(conn, "SELECT order_id, staff_id, business, offer_id FROM ops_orders WHERE task_id = ?", [tid])
    if order:
        out["order"] = dict(zip(("order_id", "staff_id", "business", "offer_id"), order[0]))
    return out


def _broadband_only(member: dict) -> bool | None:
    """单宽带: the customer has broadband and no mobile line (unknown without the member's archive row)."""
    if not member:
        return None
    return bool(member.get("broadband")) and not member.get("network")


def _order(conn, data_dir: Path, task: dict, offer_id: str, by: str, at: datetime, given: dict) -> dict:
    """The CRM retention order the incentive engine reads, credited to the agent who closed the deal."""
    member = archive.members_lookup(data_dir, task["member_id"]) or {}
    rent = given.get("monthly_rent_fen", member.get("monthly_rent_fen"))
    row = {
        "order_id": f"OPS-{task['task_id']}",
        "task_id": task["task_id"],
        "staff_id": given.get("staff_id") or by,
        "business": outcomes.OFFER_BUSINESS.get(offer_id, offer_id),
        "customer_id": task["member_id"],
        "number": given.get("number") or member.get("phone"),
        "card": given.get("card") or member.get("card_role"),
        "monthly_rent_fen": int(rent) if rent is not None else None,
        "network": given.get("network") or member.get("network"),
        "active": given.get("active", True),
        "cancels_unexpired_subsidy": bool(given.get("cancels_unexpired_subsidy", False)),
        "broadband_only": given.get("broadband_only", _broadband_only(member)),
        "offer_id": offer_id,
        "created_at": at,
    }
    execute(conn, f"INSERT INTO ops_orders ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    out = {k: v for k, v in row.items() if k != "created_at"}
    out["created_at"] = at.isoformat()
    return out


def _follow_up(
    conn, plan: OperationsPlan, task: dict, kind: str, at: datetime, callback_at: datetime | None, by: str
) -> dict | None:
    """The task that follows an outcome (``at`` in the plan's timezone): a call back, a follow-up or a win-back."""
    local = at.date()
    rule = next(iter(plan.rules_on("follow_up")), None)
    if kind == "callback":
        day = callback_at.astimezone(at.tzinfo).date()
        when = callbacks.shown(callback_at, at.tzinfo)
        new = (
            "callback",
            task["kind"],
            day,
            day,
            (f"约定回呼 {when}", f"call back as agreed at {when}"),
            task["purpose"],
        )
    elif kind == "accepted" and rule is not None:
        start = calendar.add_working_days(local, 0)
        due = calendar.due_date(start, rule.amount, rule.unit)
        new = (
            "follow-up",
            "care_call",
            start,
            due,
            (
                f"确认{task.get('offer_name') or '优惠'}已生效",
                f"confirm the {task.get('offer_name') or task.get('offer_id') or 'offer'} is in place",
            ),
            "service",
        )
    elif kind == "left":
        wb = next(iter(plan.rules_on("winback")), None)
        if wb is None:
            return None
        due = calendar.due_date(local, wb.amount, wb.unit)
        new = (
            "winback",
            wb.task or "retention_call",
            local,
            due,
            ("挽回:客户已离网", "win-back: the member has left"),
            "marketing",
        )
    else:
        return None
    label, kind_, not_before, due, (reason, reason_en), purpose = new
    new_id = f"{task['task_id']}/{label}"
    source = "winback" if label == "winback" else "follow_up"
    execute(
        conn,
        "INSERT INTO ops_tasks (task_id, month, member_id, kind, source, sla_rule, purpose, reason, offer_id,"
        " offer_name, priority, status, assignee, team, created_on, not_before, due_on, attempts, created_at,"
        " parent_task_id, reason_en, callback_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, 0, ?,"
        " ?, ?, ?)"
        " ON CONFLICT (task_id) DO NOTHING",
        [
            new_id,
            local.strftime("%Y-%m"),
            task["member_id"],
            kind_,
            source,
            (rule.id if rule and label == "follow-up" else None),
            purpose,
            reason,
            task["offer_id"],
            task["offer_name"],
            tasks.PRIORITY["follow_up"] if label != "winback" else task["priority"],
            task["assignee"] or by,
            task["team"],
            local,
            not_before,
            due,
            now(conn),
            task["task_id"],
            reason_en,
            callback_at if label == "callback" else None,  # a call-back task carries the agreed time
        ],
    )
    return {
        "task_id": new_id,
        "kind": kind_,
        "not_before": not_before.isoformat(),
        "due_on": due.isoformat(),
        "reason": reason_en,  # as before: the English reason; the task keeps the Chinese one beside it
        "reason_zh": reason,
    }
