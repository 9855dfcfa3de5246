"""Escalation, the SLA report and the team view: open tasks past their due date go to the team lead; per team,
manager and rule, how many tasks due were met on time (on the working-day calendar, in the plan's timezone)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine

from weixi.adapters.sql import as_date, execute, executemany, is_pg
from weixi.operations import calendar, outcomes
from weixi.operations.clock import local, start_of, today, zone
from weixi.operations.plan import OperationsPlan
from weixi.operations.service import lit


def escalate(engine: Engine, plan: OperationsPlan, on: date | None = None) -> dict:
    """Open tasks past their due date by more than the plan's working days go to the assignee's team lead."""
    on = on or today(engine)
    limit = calendar.add_working_days(on, -plan.escalate_after) if plan.escalate_after else on
    with engine.begin() as conn:
        rows = execute(
            conn,
            "SELECT t.task_id, t.assignee, t.team, t.due_on, s.team_lead FROM ops_tasks t "
            "LEFT JOIN ops_staff s ON s.staff_id = t.assignee WHERE t.status = 'open' "
            "AND t.escalated_to IS NULL AND t.due_on < ?",
            [limit],
        )
        leads = dict(execute(conn, "SELECT team, min(staff_id) FROM ops_staff WHERE role = 'lead' GROUP BY team"))
        done, no_lead = [], []
        for task_id, _assignee, team, _due, lead in rows:
            to = lead or leads.get(team)
            if to is None:
                no_lead.append(task_id)
                continue
            done.append((to, on, task_id))
        executemany(conn, "UPDATE ops_tasks SET escalated_to = ?, escalated_on = ? WHERE task_id = ?", done)
    return {
        "date": on.isoformat(),
        "escalated": len(done),
        "no_team_lead": len(no_lead),
        "no_team_lead_examples": no_lead[:10],
        "rule": f"open past the due date by more than {plan.escalate_after} working day(s)",
    }


def sla_report(
    engine: Engine,
    plan: OperationsPlan,
    month: str | None = None,
    as_of: date | None = None,
    teams: list[str] | None = None,
) -> dict:
    """Per team and manager: tasks due (by ``as_of``), met on time, met late, open overdue, compliance.
    ``teams`` limits the report (overall included) to those teams' tasks."""
    as_of = as_of or today(engine)
    tz = zone(engine)
    met = ", ".join(lit(m) for m in outcomes.MET)
    where, params = (
        ("WHERE t.due_on <= ? AND t.month = ?", [as_of, month]) if month else ("WHERE t.due_on <= ?", [as_of])
    )
    if teams is not None:
        where += f" AND t.team IN ({', '.join('?' for _ in teams) or 'NULL'})"
        params = [*params, *teams]
    with engine.connect() as conn:
        rows = execute(
            conn,
            f"""SELECT coalesce(t.team, '-'), coalesce(t.assignee, '-'), t.sla_rule,
                CASE WHEN t.outcome IN ({met}) AND t.closed_at IS NOT NULL THEN 'met' WHEN t.status = 'open'
                     THEN 'open' ELSE 'missed' END, t.due_on, t.closed_at, t.escalated_to
            FROM ops_tasks t {where} AND t.sla_rule IS NOT NULL""",
            params,
        )
    groups: dict = {}
    for team, who, rule, state, due, closed, esc in rows:
        due = as_date(due)
        on_time = state == "met" and local(closed, tz).date() <= due
        for key in (("team", team, None), ("manager", team, who), ("rule", rule, None), ("all", None, None)):
            g = groups.setdefault(
                key, {"due": 0, "on_time": 0, "late": 0, "open_overdue": 0, "missed": 0, "escalated": 0}
            )
            g["due"] += 1
            g["on_time"] += on_time
            g["late"] += state == "met" and not on_time
            g["open_overdue"] += state == "open" and due < as_of
            g["missed"] += state == "missed"
            g["escalated"] += esc is not None

    def line(g: dict) -> dict:
        rate = (Decimal(g["on_time"]) / g["due"]).quantize(Decimal("0.0001")) if g["due"] else None
        return {
            **g,
            "compliance": str(rate) if rate is not None else None,
            "meets_target": rate is not None and rate >= plan.sla_target,
        }

    out = {
        "as_of": as_of.isoformat(),
        "month": month,
        "teams_filter": teams,
        "target": str(plan.sla_target),
        "target_percent": f"{plan.sla_target * 100:.0f}%",
        "overall": line(
            groups.get(
                ("all", None, None), {"due": 0, "on_time": 0, "late": 0, "open_overdue": 0, "missed": 0, "escalated": 0}
            )
        ),
        "teams": [],
        "managers": [],
        "rules": [],
    }
    for (level, a, b), g in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        if level == "team":
            out["teams"].append({"team": a, **line(g)})
        elif level == "manager":
            out["managers"].append({"team": a, "staff_id": b, **line(g)})
        elif level == "rule":
            out["rules"].append({"sla_rule": a, **line(g)})
    return out


def team_view(engine: Engine, team: str | None, on: date | None = None) -> list[dict]:
    """Workload per agent: open tasks, due today, overdue, done this month (closed in the month of ``on``, in the
    plan's timezone, whichever month the task was made for)."""
    on = on or today(engine)
    where = "WHERE s.team = ?" if team else ""
    first = on.replace(day=1)
    nxt = calendar.add_months(first, 1)
    with engine.connect() as conn:
        tz = zone(conn)
        closed, since = ("t.closed_at", "?") if is_pg(conn) else ("julianday(t.closed_at)", "julianday(?)")
        rows = execute(
            conn,
            f"""SELECT s.staff_id, s.name, s.role, s.team, s.active,
              sum(CASE WHEN t.status = 'open' THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'open' AND t.due_on = ? THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'open' AND t.due_on < ? THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'done' AND {closed} >= {since} AND {closed} < {since} THEN 1 ELSE 0 END)
            FROM ops_staff s LEFT JOIN ops_tasks t ON t.assignee = s.staff_id {where}
            GROUP BY s.staff_id, s.name, s.role, s.team, s.active ORDER BY s.team, s.staff_id""",
            [on, on, start_of(first, tz), start_of(nxt, tz)] + ([team] if team else []),
        )
    return [
        {
            "staff_id": r[0],
            "name": r[1],
            "role": r[2],
            "team": r[3],
            "active": bool(r[4]),
            "open": int(r[5] or 0),
            "due_today": int(r[6] or 0),
            "overdue": int(r[7] or 0),
            "done_this_month": int(r[8] or 0),
        }
        for r in rows
    ]
