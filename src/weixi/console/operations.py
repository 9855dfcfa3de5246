"""Retention operations pages: the agent's work page (next task, the member at a glance, one-click outcomes over
htmx, the queue), the manager's team view (workload, SLA compliance with an ECharts chart) and the care calendar's
month view. Thin over :mod:`weixi.operations.service` and :mod:`weixi.operations.reports`;
the same rules as the API (docs/api.md): a login's staff id is its username, a manager oversees its roster team."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse

from weixi.api.permissions import pii_unmasked
from weixi.console.guard import page_user
from weixi.console.render import fragment, page, translator
from weixi.errors import Forbidden
from weixi.i18n import N_
from weixi.operations import reports, task_outcomes, work_queue
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.users.service import User, audit

router = APIRouter()
TASK = Path(min_length=1, max_length=200)
DAY = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$")
MONTH = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
TEAM = Query(None, min_length=1, max_length=64)
LIST = Query("work", pattern="^(work|winback)$")
QUEUE_ROWS = 50

OUTCOME_LABELS = {
    "reached": N_("Reached"),
    "unreachable": N_("Unreachable"),
    "accepted": N_("Accepted the offer"),
    "declined": N_("Declined"),
    "callback": N_("Call back"),
    "left": N_("Has left"),
}
KIND_LABELS = {
    "retention_call": N_("Retention call"),
    "care_call": N_("Care call"),
    "visit": N_("Visit"),
    "sms": N_("SMS"),
    "wechat": N_("WeChat"),
    "email": N_("E-mail"),
    "bind": N_("Bind to a manager"),
}
WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def _day(request: Request, value: str | None) -> date:
    if not value:
        return ops.today(request.app.state.engine)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ops.OperationsError("ops_day_invalid", value=value[:32]) from None


def _plan(request: Request):
    return ops.plan_or_fail(None)  # a plan with errors: 409 operations_plan_invalid


def _task(request: Request, user: User, task_id: str) -> dict:
    engine = request.app.state.engine
    task = ops.get_task(engine, task_id)  # 404 unknown_task
    if not reports.may_see_task(engine, user, task):
        raise Forbidden("task_forbidden", user=user.username, role=user.role, task=task_id)
    return task


def _work_context(
    request: Request, user: User, on: date, task: dict | None, which: str = "work", page_no: int = 1
) -> dict:
    state = request.app.state
    q = work_queue.queue(state.engine, state.data_dir, user.staff, on, which, page_no, QUEUE_ROWS)  # staff id
    if task is None and q.rows:
        task = q.rows[0]
    if task is not None and "left" not in task:
        task["left"] = bool(work_queue.left_members(state.data_dir, [task["member_id"]])) or task["source"] == "winback"
    ctx = {
        "on": on.isoformat(),
        "queue": q.rows,
        "q": q,
        "which": which,
        # closed in the current month of the operator's clock (not of the day the queue is shown for)
        "done_month": work_queue.done_this_month(state.engine, [user.staff], ops.today(state.engine)).get(
            user.staff, 0
        ),
        "overdue_n": q.overdue,
        "names": work_queue.member_names(state.data_dir, [t["member_id"] for t in q.rows]),
        "task": task,
        "timezone": ops.zone(state.engine).key,
        "glance": None,
        "may_record": False,
        "outcome_labels": OUTCOME_LABELS,
        "kind_labels": KIND_LABELS,
    }
    if task is not None:
        ctx.update(
            glance=reports.glance(state.engine, state.data_dir, user, task, pii_unmasked(user.role), on),
            may_record=task["status"] == "open" and reports.may_record(user, task),
            next_attempt=task["attempts"] + 1,
        )
    return ctx


@router.get("/work")
def work(
    request: Request,
    on: str | None = DAY,
    list: str = LIST,  # noqa: A002 - the query parameter's name
    page_no: int = Query(1, alias="page", ge=1, le=10_000),
    user: User = Depends(page_user("tasks:read_own")),
):
    """The agent's work page: the next task with the member at a glance, outcome buttons, the queue (overdue SLA
    tasks first, then due date, then priority) or the win-back list."""
    day = _day(request, on)
    return page(request, "work.html", user, **_work_context(request, user, day, None, list, page_no))


@router.get("/work/tasks/{task_id:path}")
def work_task(
    request: Request, task_id: str = TASK, on: str | None = DAY, user: User = Depends(page_user("tasks:read_own"))
):
    task = _task(request, user, task_id)
    return page(request, "work.html", user, **_work_context(request, user, _day(request, on), task))


@router.post("/work/tasks/{task_id:path}/outcome")
def work_outcome(
    request: Request,
    task_id: str = TASK,
    outcome: str = Form(..., max_length=16),
    reason: str = Form("", max_length=64),
    note: str = Form("", max_length=1000),
    callback_at: str = Form("", max_length=40),
    attempt: int | None = Form(None, ge=1, le=1000),
    on: str = Form("", max_length=10),
    which: str = Form("work", alias="list", pattern="^(work|winback)$"),
    user: User = Depends(page_user("tasks:outcome")),
):
    """One click: record the outcome, then show the next task (htmx swaps ``#work``; a plain form post goes
    back to the work page)."""
    state = request.app.state
    task = _task(request, user, task_id)
    day = _day(request, on or None)
    error, result = None, None  # error: a coded refusal, rendered in the page's language (``say``)
    when = None
    if not reports.may_record(user, task):
        error = Forbidden("task_outcome_forbidden", task=task_id, assignee=task["assignee"])
    elif outcome == "callback":
        try:
            when = datetime.fromisoformat(callback_at) if callback_at else None
        except ValueError:
            error = ops.OperationsError("callback_time_invalid", value=callback_at)
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=ops.zone(state.engine))
    if error is None:
        order = (
            {"staff_id": task["assignee"]}
            if user.username not in (task["assignee"], task["escalated_to"]) and task["assignee"]
            else {}
        )
        try:
            result = task_outcomes.record_outcome(
                state.engine,
                _plan(request),
                state.data_dir,
                task_id,
                outcome,
                user.username,
                reason or None if outcome == "declined" else None,
                None,
                note or None,
                when,
                order,
                attempt=attempt,
            )
        except ValueError as exc:  # a coded refusal of the outcome (OperationsError, OutcomeError, CalendarError)
            error = exc
        else:
            if not result.get("duplicate"):
                audit(
                    state.engine,
                    user,
                    "task.outcome",
                    task_id,
                    {"outcome": outcome, "via": "console", "order": (result.get("order") or {}).get("order_id")},
                )
    htmx = request.headers.get("HX-Request") == "true"
    if error is None and not htmx:
        back = f"/work?on={day.isoformat()}" + ("&list=winback" if which == "winback" else "")
        return RedirectResponse(back, status_code=303)
    shown = ops.get_task(state.engine, task_id) if error else None
    ctx = _work_context(request, user, day, shown, which)
    ctx.update(
        error=error,
        result=result,
        recorded=task_id if error is None else None,
        recorded_label=OUTCOME_LABELS.get(outcome, outcome),
        proposal=error.params if getattr(error, "code", None) == "callback_in_quiet_hours" else None,
    )
    if htmx:
        return fragment(request, "_work.html", user=user, **ctx)
    return page(request, "work.html", user, status=422, **ctx)


# -- the team view ----------------------------------------------------------------------------------------------


def _team(request: Request, user: User, team: str | None, on: str | None, month: str | None) -> dict:
    engine = request.app.state.engine
    s = reports.scope(engine, user)
    if team is not None and not s.covers_team(team):
        raise Forbidden("team_forbidden", user=user.username, role=user.role, team=team)
    return reports.team_view(engine, _plan(request), s, team, _day(request, on), month)


@router.get("/team")
def team_page(
    request: Request,
    team: str | None = TEAM,
    on: str | None = DAY,
    month: str | None = MONTH,
    user: User = Depends(page_user("tasks:read_team")),
):
    view = _team(request, user, team, on, month)
    all_teams = (
        sorted({r["team"] for r in ops_staff.staff_list(request.app.state.engine) if r["team"]})
        if user.role in reports.ALL_SEEING
        else list(reports.scope(request.app.state.engine, user).teams or [])
    )
    return page(
        request,
        "team.html",
        user,
        view=view,
        team=team,
        month=month,
        on=view["on"],
        teams=all_teams,
        kind_labels=KIND_LABELS,
    )


@router.get("/team/data.json")
def team_data(
    request: Request,
    team: str | None = TEAM,
    on: str | None = DAY,
    month: str | None = MONTH,
    user: User = Depends(page_user("tasks:read_team")),
):
    """The SLA compliance chart: on time, late, overdue and missed per staff member, and compliance in percent
    against the plan's target."""
    _ = translator(request)
    view = _team(request, user, team, on, month)
    lines = [r for r in view["staff"] if r["sla"]]
    labels = [r["name"] or r["staff_id"] for r in lines]
    pct = [None if r["sla"]["compliance"] is None else round(float(r["sla"]["compliance"]) * 100, 1) for r in lines]
    return JSONResponse(
        {
            "target": round(float(view["sla"]["target"]) * 100, 1),
            "compliance": {
                "title": _("SLA compliance (%)"),
                "labels": labels,
                "target_name": _("target"),
                "series": [{"name": _("compliance"), "values": pct}],
            },
            "tasks": {
                "title": _("Tasks due by outcome"),
                "labels": labels,
                "stacked": True,
                "series": [
                    {"name": _(name), "values": [r["sla"][key] for r in lines]}
                    for key, name in (
                        ("on_time", N_("on time")),
                        ("late", N_("late")),
                        ("open_overdue", N_("overdue")),
                        ("missed", N_("missed")),
                    )
                ],
            },
            "workload": {
                "title": _("Open tasks"),
                "labels": [r["name"] or r["staff_id"] for r in view["staff"]],
                "stacked": True,
                "series": [
                    {"name": _("due today"), "values": [r["due_today"] for r in view["staff"]]},
                    {"name": _("overdue"), "values": [r["overdue"] for r in view["staff"]]},
                    {"name": _("later"), "values": [r["open"] - r["due_today"] - r["overdue"] for r in view["staff"]]},
                ],
            },
        },
        headers={"Cache-Control": "no-store"},
    )


# -- the care calendar ------------------------------------------------------------------------------------------


def _month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


@router.get("/care")
def care_page(request: Request, month: str | None = MONTH, user: User = Depends(page_user("care:read"))):
    engine = request.app.state.engine
    month = month or ops.today(engine).strftime("%Y-%m")
    first, last = _month_bounds(month)
    days = reports.care_calendar(engine, _plan(request), first, last)
    weeks, week = [], [None] * first.weekday()
    for d in days:
        week.append(d)
        if len(week) == 7:
            weeks.append(week)
            week = []
    if week:
        weeks.append(week + [None] * (7 - len(week)))
    prev = (first - timedelta(days=1)).strftime("%Y-%m")
    nxt = (last + timedelta(days=1)).strftime("%Y-%m")
    return page(
        request,
        "care.html",
        user,
        month=month,
        provisional=sorted({d["date"][:4] for d in days if d["provisional"]}),
        weeks=weeks,
        weekdays=WEEKDAYS,
        prev=prev,
        next=nxt,
        kind_labels=KIND_LABELS,
        today=ops.today(engine).isoformat(),
    )
