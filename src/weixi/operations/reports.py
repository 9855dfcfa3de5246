"""Read models of retention operations for the API and the console: whose tasks a login may see, a task with the
member at a glance (360 summary, churn reasons, recommended offer, the seed's script), the team view (workload and
SLA per staff member), the care calendar with each day's messages and tasks, and the outbox status. Recording
outcomes, the SLA report and the queues themselves are :mod:`weixi.operations.service`.

* A login's staff id is its ``staff_id`` (``weixi users create li.na --role manager --staff-id K1`` for roster entry
  ``K1``), else its username, as for incentive statements (:mod:`weixi.incentives.reports`).
* Admins and analysts see every task and team. A manager login oversees the staff of its own roster team
  (``ops_staff.team``) and the staff whose ``team_lead`` it is. Everyone else sees the tasks assigned or
  escalated to them.
* Churn reasons come from the month's target list (``DATA/targets/month=M``, the list the tasks were made from),
  else from the latest churn scores up to the task's month (``DATA/churn/scores/month=M``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import as_date, execute
from weixi.members import pii
from weixi.members import search as member_search
from weixi.messaging import service as messaging
from weixi.operations import care as care_days
from weixi.operations import outcomes, sla
from weixi.operations import service as ops
from weixi.operations.clock import local, start_of
from weixi.operations.plan import MESSAGE_KINDS, OperationsPlan
from weixi.users.service import User

ALL_SEEING = ("admin", "analyst")
CALENDAR_MAX_DAYS = 93
REASON_COLUMNS = ("reason_1", "reason_2", "reason_3", "reason_1_zh", "reason_2_zh", "reason_3_zh")


# -- who sees what ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a login oversees: everything (``teams is None``), or these teams and staff."""

    username: str
    teams: tuple[str, ...] | None
    staff: frozenset[str]

    def covers_team(self, team: str | None) -> bool:
        return self.teams is None or team in self.teams

    def covers_staff(self, staff_id: str | None) -> bool:
        return self.teams is None or staff_id == self.username or staff_id in self.staff


def scope(engine: Engine, user: User) -> Scope:
    if user.role in ALL_SEEING:
        return Scope(user.staff, None, frozenset())
    if user.role != "manager":
        return Scope(user.staff, (), frozenset({user.staff}))
    with engine.connect() as conn:
        own = execute(conn, "SELECT team FROM ops_staff WHERE staff_id = ?", [user.staff])
        led = execute(
            conn, "SELECT DISTINCT team FROM ops_staff WHERE team_lead = ? AND team IS NOT NULL", [user.staff]
        )
        teams = sorted({t for (t,) in own + led if t})
        rows = execute(conn, "SELECT staff_id, team, team_lead FROM ops_staff")
    staff = frozenset(s for s, t, lead in rows if t in teams or lead == user.staff) | {user.staff}
    return Scope(user.staff, tuple(teams), staff)


def may_see_task(engine: Engine, user: User, task: dict) -> bool:
    if user.staff in (task["assignee"], task["escalated_to"]) or user.role in ALL_SEEING:
        return True
    s = scope(engine, user)
    return s.covers_staff(task["assignee"]) or (bool(s.teams) and task["team"] in s.teams)


def may_record(user: User, task: dict) -> bool:
    """The assignee, the team lead it was escalated to, or an admin (credited to the assignee)."""
    return user.staff in (task["assignee"], task["escalated_to"]) or user.role == "admin"


# -- the member at a glance -------------------------------------------------------------------------------------


def _latest_file(paths: list[tuple[str, Path]], month: str) -> tuple[str, Path] | None:
    found = [(m, p) for m, p in paths if m <= month and p.exists()]
    return max(found) if found else None


def churn_of(data_dir: Path, member_id: str, month: str) -> dict | None:
    """The member's risk and reasons: from the target list of ``month`` (or the latest before it), else from the
    latest scores up to ``month``; None when neither has the member."""
    data_dir = Path(data_dir)
    lists = [(p.parent.name.split("=", 1)[1], p) for p in (data_dir / "targets").glob("month=*/part-0.parquet")]
    scored = [
        (p.parent.name.split("=", 1)[1], p) for p in (data_dir / "churn" / "scores").glob("month=*/part-0.parquet")
    ]
    with duck.reader() as con:
        for source, files in (("target_list", lists), ("scores", scored)):
            hit = _latest_file(files, month)
            if hit is None:
                continue
            cols = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{hit[1]}')").fetchall()}
            want = [
                c
                for c in ("churn_probability", "risk_decile", *REASON_COLUMNS, "list", "offer_id", "offer_name")
                if c in cols
            ]
            row = con.execute(
                f"SELECT {', '.join(want)} FROM read_parquet('{hit[1]}') WHERE member_id = ? LIMIT 1", [member_id]
            ).fetchone()
            if row is None:
                continue
            d = dict(zip(want, row))
            reasons = [
                {"en": d.get(f"reason_{i}"), "zh": d.get(f"reason_{i}_zh")}
                for i in (1, 2, 3)
                if d.get(f"reason_{i}") or d.get(f"reason_{i}_zh")
            ]
            p = d.get("churn_probability")
            return {
                "source": source,
                "month": hit[0],
                "probability": None if p is None else round(float(p), 4),
                "risk_decile": d.get("risk_decile"),
                "list": d.get("list"),
                "reasons": reasons,
                "offer_id": d.get("offer_id"),
                "offer_name": d.get("offer_name"),
            }
    return None


def script_for(task: dict, complaints: list[dict]) -> dict:
    """The seed's guidance for the call (every task) and the seed's answers (应对) to the churn reasons this
    member has raised (complaint categories) or declined with before."""
    raised = []
    for c in complaints:
        if c.get("category") in outcomes.SCRIPTS and c["category"] not in raised:
            raised.append(c["category"])
    if task.get("outcome_reason") in outcomes.SCRIPTS and task["outcome_reason"] not in raised:
        raised.append(task["outcome_reason"])
    return {
        "steps": list(outcomes.CALL_SCRIPT),
        "answers": [{"reason": r, "label": outcomes.REASONS[r], "text": outcomes.SCRIPTS[r]} for r in raised],
    }


def glance(
    engine: Engine, data_dir: Path, user: User, task: dict, reveal: bool = False, today: date | None = None
) -> dict:
    """The member at a glance for ``task``: a summary of the 360 (audited when shown unmasked), churn reasons,
    the recommended offer, the script, the member's other tasks, and the outcomes that can be recorded."""
    m = member_search.show(engine, data_dir, user, task["member_id"], today, reveal)
    profile = (m or {}).get("profile") or {}
    seg = (m or {}).get("segments") or {}
    complaints = (m or {}).get("complaints") or []
    churn = churn_of(data_dir, task["member_id"], task["month"])
    offer_id = task["offer_id"] or (churn or {}).get("offer_id")
    offer_name = task["offer_name"] or (churn or {}).get("offer_name")
    history = [t for t in ops.member_tasks(engine, task["member_id"]) if t["task_id"] != task["task_id"]][:10]
    points = (m or {}).get("points") or {}
    return {
        "member": {
            "member_id": task["member_id"],
            "found": m is not None,
            "masked": not reveal,
            "name": profile.get("name"),
            "gender": profile.get("gender"),
            "phone": profile.get("phone"),
            "city": profile.get("city"),
            "plan_name": profile.get("plan_name"),
            "network": profile.get("network"),
            "join_date": profile.get("join_date"),
            "manager_id": (m or {}).get("manager_id"),
            "tier": ((m or {}).get("tier") or {}).get("current"),
            "star_level": seg.get("star_level"),
            "value_grade": seg.get("value_grade"),
            "key_account": seg.get("key_account"),
            "arpu_fen": seg.get("arpu_fen"),
            "points_balance": points.get("balance"),
            "points_expiring_90_days": points.get("expiring_within_90_days"),
            "contract": (m or {}).get("contract"),
            "complaints": [
                {k: c.get(k) for k in ("opened_at", "category", "channel", "resolved")} for c in complaints[:5]
            ],
        },
        "churn": churn,
        "offer": {
            "offer_id": offer_id,
            "offer_name": offer_name,
            "business": outcomes.OFFER_BUSINESS.get(offer_id) if offer_id else None,
        }
        if offer_id
        else None,
        "script": script_for(task, complaints),
        "history": history,
        "outcomes": list(outcomes.OUTCOMES),
        "reasons": [{"code": k, "label": v} for k, v in outcomes.REASONS.items()],
    }


def next_task(engine: Engine, staff_id: str, on: date | None = None) -> dict | None:
    found = ops.queue(engine, staff_id, on, limit=1)
    return found[0] if found else None


# -- the team view ----------------------------------------------------------------------------------------------


def team_view(
    engine: Engine,
    plan: OperationsPlan,
    s: Scope,
    team: str | None = None,
    on: date | None = None,
    month: str | None = None,
) -> dict:
    """Workload per staff member (open, due today, overdue, done this month) beside their SLA line, for the teams
    ``s`` oversees (or ``team``), with the SLA report of those teams."""
    on = on or ops.today(engine)
    teams = [team] if team is not None else (list(s.teams) if s.teams is not None else None)
    rows = sla.team_view(engine, None, on)
    if teams is not None:
        rows = [r for r in rows if r["team"] in teams or (team is None and r["staff_id"] in s.staff)]
    report = sla.sla_report(engine, plan, month, on, teams)
    by_staff = {m["staff_id"]: m for m in report["managers"]}
    for r in rows:
        line = by_staff.get(r["staff_id"])
        r["sla"] = (
            {k: line[k] for k in ("due", "on_time", "late", "open_overdue", "missed", "compliance", "meets_target")}
            if line
            else None
        )
    return {"on": on.isoformat(), "month": month, "teams": teams, "staff": rows, "sla": report}


# -- the care calendar ------------------------------------------------------------------------------------------


def care_calendar(engine: Engine, plan: OperationsPlan, first: date, last: date) -> list[dict]:
    """Every day of [first, last]: working day, lunar date, occasions (holidays, solar terms), care and task
    messages in the outbox for that day by occasion and status, and tasks due that day by kind and status."""
    if last < first:
        raise ops.OperationsError("calendar_range_reversed", first=first, last=last)
    if (last - first).days >= CALENDAR_MAX_DAYS:
        raise ops.OperationsError(
            "calendar_range_too_long", max=CALENDAR_MAX_DAYS, first=first, last=last, days=(last - first).days + 1
        )
    days = care_days.month_calendar(plan, first, last)
    tz = ops.zone(engine)
    start, end = start_of(first, tz), start_of(last + timedelta(days=1), tz)
    with engine.connect() as conn:
        msgs = execute(
            conn,
            "SELECT created_at, coalesce(template_id, '-'), status, count(*) FROM msg_outbox "
            "WHERE created_at >= ? AND created_at < ? AND (idempotency_key LIKE 'care/%' OR "
            "idempotency_key LIKE 'task/%') GROUP BY created_at, template_id, status",
            [start, end],
        )
        due = execute(
            conn,
            "SELECT due_on, kind, status, count(*) FROM ops_tasks WHERE due_on BETWEEN ? AND ? "
            "GROUP BY due_on, kind, status",
            [first, last],
        )
    index = {d["date"]: d for d in days}
    for d in days:
        d.update(messages={}, message_count=0, tasks_due={}, message_tasks_open=0)
    for at, template, status, n in msgs:
        day = local(at, tz).date().isoformat()
        if day in index:
            bucket = index[day]["messages"].setdefault(template, {})
            bucket[status] = bucket.get(status, 0) + int(n)
            index[day]["message_count"] += int(n)
    for due_on, kind, status, n in due:
        d = index.get(as_date(due_on).isoformat())
        if d is None:
            continue
        bucket = d["tasks_due"].setdefault(kind, {})
        bucket[status] = bucket.get(status, 0) + int(n)
        if kind in MESSAGE_KINDS and status == "open":
            d["message_tasks_open"] += int(n)
    return days


# -- the outbox -------------------------------------------------------------------------------------------------


def outbox_status(
    engine: Engine, status: str | None = None, member_id: str | None = None, limit: int = 100, reveal: bool = False
) -> dict:
    """Counts by status and the latest messages (recipients masked unless ``reveal``; bodies are not shown to
    keep personal greetings out of lists)."""
    rows = messaging.listing(engine, status, member_id, limit)
    keep = (
        "message_id",
        "idempotency_key",
        "channel",
        "member_id",
        "template_id",
        "purpose",
        "campaign",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
    )
    out = []
    for r in rows:
        d = {k: r[k] for k in keep}
        d["recipient"] = _mask_recipient(r["channel"], r["recipient"], reveal)
        out.append(d)
    return {"counts": messaging.counts(engine), "messages": out, "masked": not reveal}


def _mask_recipient(channel: str, value: str | None, reveal: bool) -> str | None:
    if value is None or reveal:
        return value
    if channel == "sms":
        return pii.mask_phone(value, False)
    if "@" in value:
        name, _, domain = value.partition("@")
        return (name[:1] + "***@" + domain) if name else "***@" + domain
    return value[:2] + "***" if len(value) > 2 else "***"
