"""Retention operations, the use cases on single tasks: the plan, consents, a task's queue, a manual task, outcomes
(and their follow-ups), escalation, the SLA report and the team view. CLI, API and console call these functions;
see docs/operations.md. The month's tasks are :mod:`weixi.operations.monthly_tasks`, the roster
:mod:`weixi.operations.staff`, retention orders :mod:`weixi.operations.orders`.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.adapters import archive
from weixi.adapters.sql import as_date, execute, executemany, is_pg
from weixi.operations import calendar, outcomes, policy, tasks
from weixi.operations.plan import KIND_CHANNEL, OperationsPlan, load_operations_plan
from weixi.segments import months
from weixi.settings import DEFAULT_TIMEZONE

TZ = ZoneInfo(DEFAULT_TIMEZONE)


class OperationsError(ValueError):
    """Bad input or a request that cannot be done; the message says what and where. Nothing was changed."""


class UnknownTask(OperationsError):
    """No task with that id."""


class TaskClosed(OperationsError):
    """The task is no longer open (or this try was already recorded differently): nothing was recorded."""


def now() -> datetime:
    return datetime.now(TZ)


def today() -> date:
    return now().date()


def plan_or_fail(path: str | None = None) -> OperationsPlan:
    plan, diagnostics = load_operations_plan(path)
    if plan is None:
        errors = [d.format() for d in diagnostics if d.is_error]
        raise OperationsError("the operations plan has errors:\n" + "\n".join(errors))
    return plan


def check_month(month: str) -> str:
    try:
        return months.check(month)
    except ValueError as exc:
        raise OperationsError(f"--month: {exc}") from None


def lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def partition_file(data_dir: Path, dataset: str, month: str) -> Path:
    return Path(data_dir) / "operations" / dataset / f"month={month}" / "part-0.parquet"


def write_parquet(con, sql: str, final: Path) -> None:
    """``COPY (sql)`` beside ``final`` and swap it in (a reader never sees half a file)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    con.execute(f"COPY ({sql}) TO {lit(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    tmp.replace(final)


# -- consents ---------------------------------------------------------------------------------------------------

def record_consent(engine: Engine, member_id: str, kind: str, channel: str, purpose: str, source: str,
                   at: datetime | None = None, by: str | None = None, note: str | None = None) -> dict:
    if kind not in policy.KINDS:
        raise OperationsError(f"unknown consent kind '{kind}' (one of {', '.join(policy.KINDS)})")
    if channel not in policy.CONSENT_CHANNELS:
        raise OperationsError(f"unknown channel '{channel}' (one of {', '.join(policy.CONSENT_CHANNELS)})")
    if purpose not in policy.CONSENT_PURPOSES:
        raise OperationsError(f"unknown purpose '{purpose}' (one of {', '.join(policy.CONSENT_PURPOSES)})")
    if not source or not source.strip():
        raise OperationsError("a consent record needs its source (--source, e.g. 'SMS reply TD', 'call centre')")
    at = at or now()
    if at.tzinfo is None:
        raise OperationsError("the consent time needs a time zone (e.g. 2026-10-05T09:30:00+08:00)")
    with engine.begin() as conn:
        execute(conn, "INSERT INTO ops_consents (member_id, kind, channel, purpose, source, recorded_at, recorded_by,"
                      " note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [member_id, kind, channel, purpose, source, at, by, note])
    return {"member_id": member_id, "kind": kind, "channel": channel, "purpose": purpose, "source": source,
            "recorded_at": at.isoformat()}


def aware(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def consents(engine: Engine, member_id: str | None = None) -> list[policy.Consent]:
    sql = "SELECT member_id, kind, channel, purpose, source, recorded_at FROM ops_consents"
    with engine.connect() as conn:
        rows = execute(conn, sql + (" WHERE member_id = ?" if member_id else "") + " ORDER BY recorded_at",
                       [member_id] if member_id else [])
    return [policy.Consent(r[0], r[1], r[2], r[3], r[4], aware(r[5])) for r in rows]


def save_run(engine: Engine, kind: str, period: str, report: dict) -> None:
    with engine.begin() as conn:
        execute(conn, "INSERT INTO ops_runs (run_id, kind, period, started_at, report) VALUES (?, ?, ?, ?, ?)",
                [uuid.uuid4().hex, kind, period, now(), json.dumps(report, ensure_ascii=False, default=str)])


# -- single tasks, queues, outcomes ---------------------------------------------------------------------------

TASK_FIELDS = ("task_id", "month", "member_id", "kind", "source", "sla_rule", "purpose", "reason", "offer_id",
               "offer_name", "template_id", "priority", "status", "assignee", "team", "created_on", "not_before",
               "due_on", "outcome", "outcome_reason", "outcome_note", "callback_at", "attempts", "closed_at",
               "closed_by", "escalated_to", "escalated_on", "parent_task_id")


def _task_row(r) -> dict:
    d = dict(zip(TASK_FIELDS, r))
    for k in ("created_on", "not_before", "due_on", "escalated_on"):
        d[k] = as_date(d[k]).isoformat() if d[k] is not None else None
    for k in ("callback_at", "closed_at"):
        d[k] = aware(d[k]).astimezone(TZ).isoformat() if d[k] is not None else None
    d["channel"] = KIND_CHANNEL.get(d["kind"], "none")
    return d


def get_task(engine: Engine, task_id: str, conn=None) -> dict:
    sql = f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE task_id = ?"
    if conn is None:
        with engine.connect() as c:
            rows = execute(c, sql, [task_id])
    else:
        rows = execute(conn, sql, [task_id])
    if not rows:
        raise UnknownTask(f"no task {task_id!r}: check the id (weixi tasks queue AGENT lists an agent's tasks);"
                              " nothing was recorded")
    return _task_row(rows[0])


def queue(engine: Engine, staff_id: str, on: date | None = None, limit: int = 50) -> list[dict]:
    """An agent's open calls and visits that may be worked on ``on``: priority first, then due date."""
    on = on or today()
    kinds = ", ".join(lit(k) for k in tasks.QUEUE_KINDS)
    with engine.connect() as conn:
        rows = execute(conn, f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE assignee = ? AND status = 'open'"
                             f" AND kind IN ({kinds}) AND (not_before IS NULL OR not_before <= ?)"
                             " ORDER BY priority DESC, due_on, task_id LIMIT ?", [staff_id, on, limit])
    return [_task_row(r) for r in rows]


def member_counts(conn, plan: OperationsPlan, member_id: str, day: date) -> dict:
    first = policy.period_start(day, "quarter") - timedelta(days=7)
    last = day + timedelta(days=100)
    made = execute(conn, "SELECT channel, purpose, at FROM ops_contacts WHERE member_id = ? AND at >= ?",
                   [member_id, datetime.combine(first, datetime.min.time(), TZ)])
    planned = execute(conn, "SELECT kind, purpose, due_on FROM ops_tasks WHERE member_id = ? AND status = 'open'"
                            " AND due_on BETWEEN ? AND ?", [member_id, first, last])
    items = [(ch, p, aware(at).astimezone(TZ).date()) for ch, p, at in made]
    items += [(KIND_CHANNEL.get(k, "none"), p, as_date(d)) for k, p, d in planned]
    counts: dict = {}
    for cap in plan.caps:
        for ch, p, d in items:
            if ch in cap.channels and p in cap.purposes:
                key = (cap.id, policy.period_start(d, cap.per))
                counts[key] = counts.get(key, 0) + 1
    return counts


def add_task(engine: Engine, plan: OperationsPlan, member_id: str, kind: str, due_on: date, assignee: str | None,
             reason: str | None = None, purpose: str = "marketing", priority: int = 0, created_by: str = "cli",
             on: date | None = None) -> dict:
    """One task by hand; refused (nothing created) when the contact policy stops it."""
    if kind not in KIND_CHANNEL:
        raise OperationsError(f"unknown task kind '{kind}' (one of {', '.join(KIND_CHANNEL)})")
    on = on or today()
    channel = KIND_CHANNEL[kind]
    block = policy.consent_block(consents(engine, member_id), channel, purpose)
    with engine.begin() as conn:
        if block is None:
            block = policy.cap_block(plan, channel, purpose, due_on, member_counts(conn, plan, member_id, due_on))
        if block is not None:
            raise OperationsError(f"member {member_id}: no {kind} task created — {block.detail} (rule: {block.rule})")
        task_id = f"{on.strftime('%Y-%m')}/manual/{member_id}/{uuid.uuid4().hex[:8]}"
        team = execute(conn, "SELECT team FROM ops_staff WHERE staff_id = ?", [assignee]) if assignee else []
        execute(conn, "INSERT INTO ops_tasks (task_id, month, member_id, kind, source, purpose, reason, priority, "
                      "status, assignee, team, created_on, not_before, due_on, attempts, created_at, closed_by) VALUES "
                      "(?, ?, ?, ?, 'manual', ?, ?, ?, 'open', ?, ?, ?, ?, ?, 0, ?, ?)",
                [task_id, on.strftime("%Y-%m"), member_id, kind, purpose, reason, priority, assignee,
                 team[0][0] if team else None, on, on, due_on, now(), None])
    return get_task(engine, task_id)


def record_outcome(engine: Engine, plan: OperationsPlan, data_dir: Path, task_id: str, kind: str, by: str,
                   reason: str | None = None, offer_id: str | None = None, note: str | None = None,
                   callback_at: datetime | None = None, order: dict | None = None, at: datetime | None = None,
                   attempt: int | None = None) -> dict:
    """Record what happened on a call or visit; see :mod:`weixi.operations.outcomes`. All or nothing.

    ``attempt`` (optional) is the try being recorded: the task's ``attempts`` + 1 when the caller loaded it. A
    retry of a try already recorded with the same outcome returns ``duplicate: true`` and records nothing; one
    recorded differently, or a try out of sequence, is refused (:class:`TaskClosed`)."""
    at = at or now()
    with engine.begin() as conn:
        if is_pg(conn):  # one outcome at a time per task (SQLite: the write transaction already is)
            execute(conn, "SELECT 1 FROM ops_tasks WHERE task_id = ? FOR UPDATE", [task_id])
        task = get_task(engine, task_id, conn)
        if attempt is not None:
            repeat = _repeated_try(conn, task, kind, attempt)
            if repeat is not None:
                return repeat
        if task["status"] != "open":
            raise TaskClosed(f"task {task_id} is already {task['status']} (outcome {task['outcome']} by "
                                  f"{task['closed_by']} at {task['closed_at']}); nothing was recorded")
        if task["kind"] not in tasks.QUEUE_KINDS:
            raise OperationsError(f"task {task_id} is a {task['kind']} task: its outcome is recorded by the outbox")
        offer_id = offer_id or (task["offer_id"] if kind == "accepted" else None)
        try:
            outcomes.check(outcomes.Outcome(kind, reason, offer_id, note))
        except outcomes.OutcomeError as exc:
            raise OperationsError(f"task {task_id}: {exc}; nothing was recorded") from None
        result: dict = {"task_id": task_id, "outcome": kind, "follow_ups": []}
        if kind == "callback":
            if callback_at is None:
                raise OperationsError(f"task {task_id}: callback needs --at (e.g. 2026-10-12T10:00:00+08:00)")
            if callback_at.tzinfo is None:
                callback_at = callback_at.replace(tzinfo=TZ)
            block = policy.quiet_block(plan, callback_at.astimezone(TZ))
            if block:
                raise OperationsError(f"task {task_id}: call back at {callback_at.isoformat()} refused — {block.detail};"
                                      " pick another time; nothing was recorded")
            if callback_at <= at:
                raise OperationsError(f"task {task_id}: the call-back time {callback_at.isoformat()} is not in the "
                                      "future; nothing was recorded")
        if kind == "unreachable" and task["attempts"] + 1 < outcomes.MAX_ATTEMPTS:
            execute(conn, "UPDATE ops_tasks SET attempts = attempts + 1, outcome_note = ? WHERE task_id = ?",
                    [note, task_id])
            result.update(status="open", attempts=task["attempts"] + 1,
                          note=f"still open: {outcomes.MAX_ATTEMPTS - task['attempts'] - 1} more try(ies) before it "
                               "closes as unreachable")
            return result
        execute(conn, "UPDATE ops_tasks SET status = 'done', outcome = ?, outcome_reason = ?, outcome_note = ?, "
                      "callback_at = ?, attempts = attempts + 1, closed_at = ?, closed_by = ?, offer_id = coalesce(?, "
                      "offer_id) WHERE task_id = ? AND status = 'open'",
                [kind, reason, note, callback_at, at, by, offer_id if kind == "accepted" else None, task_id])
        if kind in ("reached", "accepted", "declined", "callback"):
            execute(conn, "INSERT INTO ops_contacts (member_id, channel, purpose, source, campaign, at) VALUES "
                          "(?, ?, ?, ?, NULL, ?) ON CONFLICT (source, channel) DO NOTHING",
                    [task["member_id"], task["channel"], task["purpose"], task_id, at])
        if kind == "accepted":
            result["order"] = _order(conn, data_dir, task, offer_id, by, at, order or {})
        follow = _follow_up(conn, plan, task, kind, at, callback_at, by)
        if follow:
            result["follow_ups"].append(follow)
        result["status"] = "done"
    return result


def _repeated_try(conn, task: dict, kind: str, attempt: int) -> dict | None:
    """The first result when try ``attempt`` of ``task`` was already recorded as ``kind``; None when it is the
    next try; :class:`TaskClosed` when it was recorded otherwise or is out of sequence."""
    tid, done = task["task_id"], task["attempts"]
    if attempt > done + 1 or attempt < 1:
        raise TaskClosed(f"task {tid}: try {attempt} is out of sequence: the task has had {done} try(ies); reload "
                         "it; nothing was recorded")
    if attempt == done + 1:
        return None
    if kind == "unreachable":  # only unreachable tries leave a task open, so every try before the last was one
        same = task["status"] == "open" or attempt < done or task["outcome"] == "unreachable"
    else:
        same = attempt == done and task["outcome"] == kind
    if not same:
        raise TaskClosed(f"task {tid}: try {attempt} was already recorded ({task['outcome'] or 'unreachable'} by "
                         f"{task['closed_by'] or 'an agent'}); nothing was recorded")
    out: dict = {"task_id": tid, "outcome": kind, "status": task["status"], "attempts": done, "duplicate": True,
                 "follow_ups": [{"task_id": r[0], "kind": r[1], "not_before": as_date(r[2]).isoformat(),
                                 "due_on": as_date(r[3]).isoformat(), "reason": r[4]} for r in execute(
                     conn, "SELECT task_id, kind, not_before, due_on, reason FROM ops_tasks WHERE parent_task_id = ?"
                           " ORDER BY task_id", [tid])]}
    order = execute(conn, "SELECT order_id, staff_id, business, offer_id FROM ops_orders WHERE task_id = ?", [tid])
    if order:
        out["order"] = dict(zip(("order_id", "staff_id", "business", "offer_id"), order[0]))
    return out


def _order(conn, data_dir: Path, task: dict, offer_id: str, by: str, at: datetime, given: dict) -> dict:
    """The CRM retention order the incentive engine reads, credited to the agent who closed the deal."""
    member = archive.members_lookup(data_dir, task["member_id"]) or {}
    rent = given.get("monthly_rent_fen", member.get("monthly_rent_fen"))
    row = {
        "order_id": f"OPS-{task['task_id']}", "task_id": task["task_id"], "staff_id": given.get("staff_id") or by,
        "business": outcomes.OFFER_BUSINESS.get(offer_id, offer_id), "customer_id": task["member_id"],
        "number": given.get("number") or member.get("phone"), "card": given.get("card") or member.get("card_role"),
        "monthly_rent_fen": int(rent) if rent is not None else None,
        "network": given.get("network") or member.get("network"), "active": given.get("active", True),
        "cancels_unexpired_subsidy": bool(given.get("cancels_unexpired_subsidy", False)), "offer_id": offer_id,
        "created_at": at,
    }
    execute(conn, f"INSERT INTO ops_orders ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    out = {k: v for k, v in row.items() if k != "created_at"}
    out["created_at"] = at.isoformat()
    return out


def _follow_up(conn, plan: OperationsPlan, task: dict, kind: str, at: datetime, callback_at: datetime | None,
               by: str) -> dict | None:
    local = at.astimezone(TZ).date()
    rule = next(iter(plan.rules_on("follow_up")), None)
    if kind == "callback":
        day = callback_at.astimezone(TZ).date()
        new = ("callback", task["kind"], day, day, "call back as agreed at " + callback_at.isoformat(), task["purpose"])
    elif kind == "accepted" and rule is not None:
        start = calendar.add_working_days(local, 0)
        due = calendar.due_date(start, rule.amount, rule.unit)
        new = ("follow-up", "care_call", start, due, f"confirm the {task.get('offer_id') or 'offer'} is in place",
               "service")
    elif kind == "left":
        wb = next(iter(plan.rules_on("winback")), None)
        if wb is None:
            return None
        due = calendar.due_date(local, wb.amount, wb.unit)
        new = ("winback", wb.task or "retention_call", local, due, "win-back: the member has left", "marketing")
    else:
        return None
    label, kind_, not_before, due, reason, purpose = new
    new_id = f"{task['task_id']}/{label}"
    source = "winback" if label == "winback" else "follow_up"
    execute(conn, "INSERT INTO ops_tasks (task_id, month, member_id, kind, source, sla_rule, purpose, reason, offer_id,"
                  " offer_name, priority, status, assignee, team, created_on, not_before, due_on, attempts, created_at,"
                  " parent_task_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, 0, ?, ?)"
                  " ON CONFLICT (task_id) DO NOTHING",
            [new_id, local.strftime("%Y-%m"), task["member_id"], kind_, source, (rule.id if rule and label ==
             "follow-up" else None), purpose, reason, task["offer_id"], task["offer_name"],
             tasks.PRIORITY["follow_up"] if label != "winback" else task["priority"], task["assignee"] or by,
             task["team"], local, not_before, due, now(), task["task_id"]])
    return {"task_id": new_id, "kind": kind_, "not_before": not_before.isoformat(), "due_on": due.isoformat(),
            "reason": reason}


# -- escalation and SLA ------------------------------------------------------------------------------------------

def escalate(engine: Engine, plan: OperationsPlan, on: date | None = None) -> dict:
    """Open tasks past their due date by more than the plan's working days go to the assignee's team lead."""
    on = on or today()
    limit = calendar.add_working_days(on, -plan.escalate_after) if plan.escalate_after else on
    with engine.begin() as conn:
        rows = execute(conn, "SELECT t.task_id, t.assignee, t.team, t.due_on, s.team_lead FROM ops_tasks t "
                             "LEFT JOIN ops_staff s ON s.staff_id = t.assignee WHERE t.status = 'open' "
                             "AND t.escalated_to IS NULL AND t.due_on < ?", [limit])
        leads = dict(execute(conn, "SELECT team, min(staff_id) FROM ops_staff WHERE role = 'lead' GROUP BY team"))
        done, no_lead = [], []
        for task_id, _assignee, team, _due, lead in rows:
            to = lead or leads.get(team)
            if to is None:
                no_lead.append(task_id)
                continue
            done.append((to, on, task_id))
        executemany(conn, "UPDATE ops_tasks SET escalated_to = ?, escalated_on = ? WHERE task_id = ?", done)
    return {"date": on.isoformat(), "escalated": len(done), "no_team_lead": len(no_lead),
            "no_team_lead_examples": no_lead[:10],
            "rule": f"open past the due date by more than {plan.escalate_after} working day(s)"}


def sla_report(engine: Engine, plan: OperationsPlan, month: str | None = None, as_of: date | None = None,
               teams: list[str] | None = None) -> dict:
    """Per team and manager: tasks due (by ``as_of``), met on time, met late, open overdue, compliance.
    ``teams`` limits the report (overall included) to those teams' tasks."""
    as_of = as_of or today()
    met = ", ".join(lit(m) for m in outcomes.MET)
    where, params = ("WHERE t.due_on <= ? AND t.month = ?", [as_of, month]) if month else ("WHERE t.due_on <= ?", [as_of])
    if teams is not None:
        where += f" AND t.team IN ({', '.join('?' for _ in teams) or 'NULL'})"
        params = [*params, *teams]
    with engine.connect() as conn:
        rows = execute(conn, f"""SELECT coalesce(t.team, '-'), coalesce(t.assignee, '-'), t.sla_rule,
                CASE WHEN t.outcome IN ({met}) AND t.closed_at IS NOT NULL THEN 'met' WHEN t.status = 'open'
                     THEN 'open' ELSE 'missed' END, t.due_on, t.closed_at, t.escalated_to
            FROM ops_tasks t {where} AND t.sla_rule IS NOT NULL""", params)
    groups: dict = {}
    for team, who, rule, state, due, closed, esc in rows:
        due = as_date(due)
        on_time = state == "met" and aware(closed).astimezone(TZ).date() <= due
        for key in (("team", team, None), ("manager", team, who), ("rule", rule, None), ("all", None, None)):
            g = groups.setdefault(key, {"due": 0, "on_time": 0, "late": 0, "open_overdue": 0, "missed": 0,
                                        "escalated": 0})
            g["due"] += 1
            g["on_time"] += on_time
            g["late"] += state == "met" and not on_time
            g["open_overdue"] += state == "open" and due < as_of
            g["missed"] += state == "missed"
            g["escalated"] += esc is not None

    def line(g: dict) -> dict:
        rate = (Decimal(g["on_time"]) / g["due"]).quantize(Decimal("0.0001")) if g["due"] else None
        return {**g, "compliance": str(rate) if rate is not None else None,
                "meets_target": rate is not None and rate >= plan.sla_target}
    out = {"as_of": as_of.isoformat(), "month": month, "teams_filter": teams, "target": str(plan.sla_target),
           "target_percent": f"{plan.sla_target * 100:.0f}%", "overall": line(groups.get(("all", None, None),
                                                                                      {"due": 0, "on_time": 0, "late": 0,
                                                                                       "open_overdue": 0, "missed": 0,
                                                                                       "escalated": 0})),
           "teams": [], "managers": [], "rules": []}
    for (level, a, b), g in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        if level == "team":
            out["teams"].append({"team": a, **line(g)})
        elif level == "manager":
            out["managers"].append({"team": a, "staff_id": b, **line(g)})
        elif level == "rule":
            out["rules"].append({"sla_rule": a, **line(g)})
    return out


def team_view(engine: Engine, team: str | None, on: date | None = None) -> list[dict]:
    """Workload per agent: open tasks, due today, overdue, done this month."""
    on = on or today()
    where = "WHERE s.team = ?" if team else ""
    with engine.connect() as conn:
        rows = execute(conn, f"""SELECT s.staff_id, s.name, s.role, s.team, s.active,
              sum(CASE WHEN t.status = 'open' THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'open' AND t.due_on = ? THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'open' AND t.due_on < ? THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'done' AND t.month = ? THEN 1 ELSE 0 END)
            FROM ops_staff s LEFT JOIN ops_tasks t ON t.assignee = s.staff_id {where}
            GROUP BY s.staff_id, s.name, s.role, s.team, s.active ORDER BY s.team, s.staff_id""",
                       [on, on, on.strftime("%Y-%m")] + ([team] if team else []))
    return [{"staff_id": r[0], "name": r[1], "role": r[2], "team": r[3], "active": bool(r[4]),
             "open": int(r[5] or 0), "due_today": int(r[6] or 0), "overdue": int(r[7] or 0),
             "done_this_month": int(r[8] or 0)} for r in rows]


def member_tasks(engine: Engine, member_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(conn, f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE member_id = ? ORDER BY created_on DESC,"
                             " task_id", [member_id])
    return [_task_row(r) for r in rows]


def runs(engine: Engine, limit: int = 20) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(conn, "SELECT run_id, kind, period, started_at, report FROM ops_runs ORDER BY started_at DESC "
                             "LIMIT ?", [limit])
    return [{"run_id": r[0], "kind": r[1], "period": r[2], "started_at": aware(r[3]).isoformat(),
             "report": json.loads(r[4])} for r in rows]
