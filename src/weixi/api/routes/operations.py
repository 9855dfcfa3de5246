"""Retention operations: an agent's queue and next task with the member at a glance, recording outcomes, a
manager's team view with workload and SLA compliance, the SLA report, the care calendar and the outbox status.
Thin adapters over :mod:`weixi.operations.service` and :mod:`weixi.operations.reports`.

A login's staff id is its username (the roster's ``staff_id``); a manager oversees its roster team and the staff
it leads; admins and analysts see everything (docs/api.md)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import engine_of
from weixi.errors import Forbidden
from weixi.members import pii_audit
from weixi.operations import reports, task_outcomes
from weixi.operations import service as ops
from weixi.operations import sla as ops_sla
from weixi.operations.calendar import calendar_note
from weixi.users.service import User, audit

router = APIRouter(prefix="/api", tags=["operations"])

TASK = Path(
    min_length=1, max_length=200, description="Task id, e.g. 2026-09/target-retention/M000123 (slashes included)."
)
ON = Query(None, description="The day, YYYY-MM-DD (default: today in the plan's timezone).")
MONTH = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Only tasks of this month, YYYY-MM.")
TEAM = Query(None, min_length=1, max_length=64, description="One roster team (a manager: one of their own).")
REVEAL = Query(False, description="Phone numbers in clear: roles admin, manager and agent only; audited.")
Outcome = Literal["reached", "unreachable", "accepted", "declined", "callback", "left"]
Status = Literal["queued", "sending", "sent", "failed", "unknown", "delivered", "undelivered"]


def _reveal(user: User, requested: bool) -> bool:
    if requested and not pii_unmasked(user.role):
        raise Forbidden("ops_pii_forbidden", role=user.role)
    return requested


def _plan():
    return ops.plan_or_fail(None)  # a plan with errors: 409 operations_plan_invalid


def _task(request: Request, user: User, task_id: str) -> dict:
    engine = engine_of(request)
    task = ops.get_task(engine, task_id)  # 404 unknown_task
    if not reports.may_see_task(engine, user, task):
        raise Forbidden("task_forbidden", user=user.username, role=user.role, task=task_id)
    return task


def _detail(request: Request, user: User, task: dict, reveal: bool) -> dict:
    state = request.app.state
    return {
        "task": task,
        "may_record": task["status"] == "open" and reports.may_record(user, task),
        "next_attempt": task["attempts"] + 1,
        "glance": reports.glance(state.engine, state.data_dir, user, task, reveal),
    }


def _own_or_overseen(request: Request, user: User, staff_id: str | None) -> str:
    staff_id = staff_id or user.staff  # the login's staff id, else its username
    if staff_id != user.staff and not reports.scope(engine_of(request), user).covers_staff(staff_id):
        raise Forbidden("queue_forbidden", user=user.username, role=user.role, staff=staff_id)
    return staff_id


# -- tasks -------------------------------------------------------------------------------------------------------


@router.get("/tasks/queue")
def queue(
    request: Request,
    staff_id: str | None = Query(
        None, min_length=1, max_length=128, description="Whose queue (default: the caller's)."
    ),
    on: date | None = ON,
    limit: int = Query(50, ge=1, le=500),
    user: User = Depends(require("tasks:read_own")),
) -> dict:
    """Open calls and visits workable on the day, highest priority first, then by due date."""
    staff_id = _own_or_overseen(request, user, staff_id)
    on = on or ops.today(engine_of(request))
    return {"staff_id": staff_id, "on": on.isoformat(), "tasks": ops.queue(engine_of(request), staff_id, on, limit)}


@router.get("/tasks/next")
def next_task(
    request: Request, on: date | None = ON, reveal: bool = REVEAL, user: User = Depends(require("tasks:read_own"))
) -> dict:
    """The caller's next task (the head of the queue) with the member at a glance; ``task`` is null when the
    queue is empty."""
    reveal = _reveal(user, reveal)
    on = on or ops.today(engine_of(request))
    task = reports.next_task(engine_of(request), user.username, on)
    if task is None:
        return {"staff_id": user.username, "on": on.isoformat(), "task": None, "glance": None}
    return {"staff_id": user.username, "on": on.isoformat(), **_detail(request, user, task, reveal)}


@router.get("/tasks/{task_id:path}")
def task_detail(
    request: Request, task_id: str = TASK, reveal: bool = REVEAL, user: User = Depends(require("tasks:read_own"))
) -> dict:
    """One task with the member at a glance: 360 summary, churn reasons, recommended offer, the seed's script,
    the member's other tasks and the outcomes that can be recorded."""
    reveal = _reveal(user, reveal)
    return _detail(request, user, _task(request, user, task_id), reveal)


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Outcome
    reason: str | None = Field(
        None, min_length=1, max_length=64, description="For declined: a churn reason code (GET a task for the list)."
    )
    offer_id: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="For accepted: the offer (default: the task's recommended offer).",
    )
    note: str | None = Field(None, max_length=1000)
    callback_at: datetime | None = Field(
        None, description="For callback: when, ISO 8601 (no zone: the plan's timezone)."
    )
    attempt: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Idempotency: the try being recorded (the task's "
        "attempts + 1 as loaded). A retry of the same try returns the first result.",
    )
    cancels_unexpired_subsidy: bool = Field(False, description="Order: the deal cancels an unexpired subsidy.")


@router.post("/tasks/{task_id:path}/outcome")
def record_outcome(
    request: Request, body: OutcomeIn, task_id: str = TASK, user: User = Depends(require("tasks:outcome"))
) -> dict:
    """Record what happened on a call or visit: reached, unreachable, accepted (creates the retention order,
    credited to the agent, and a follow-up), declined with a reason, callback at a time (a follow-up that day),
    left (the win-back flow). All or nothing; with ``attempt`` a retry is answered without recording twice."""
    task = _task(request, user, task_id)
    if not reports.may_record(user, task):
        raise Forbidden("task_outcome_forbidden", task=task_id, assignee=task["assignee"])
    callback_at = body.callback_at
    if callback_at is not None and callback_at.tzinfo is None:
        callback_at = callback_at.replace(tzinfo=ops.zone(engine_of(request)))
    order = {"cancels_unexpired_subsidy": body.cancels_unexpired_subsidy}
    if user.username not in (task["assignee"], task["escalated_to"]) and task["assignee"]:
        order["staff_id"] = task["assignee"]  # an admin's correction is credited to the agent
    state = request.app.state
    # unknown task 404, closed or a try recorded otherwise 409, a bad outcome 422: the class of the error says
    out = task_outcomes.record_outcome(
        state.engine,
        _plan(),
        state.data_dir,
        task_id,
        body.outcome,
        user.username,
        body.reason,
        body.offer_id,
        body.note,
        callback_at,
        order,
        attempt=body.attempt,
    )
    if not out.get("duplicate"):
        audit(
            state.engine,
            user,
            "task.outcome",
            task_id,
            {"outcome": body.outcome, "reason": body.reason, "order": (out.get("order") or {}).get("order_id")},
        )
    return {**out, "task": ops.get_task(state.engine, task_id)}


# -- team, SLA ---------------------------------------------------------------------------------------------------


def _team_scope(request: Request, user: User, team: str | None) -> reports.Scope:
    s = reports.scope(engine_of(request), user)
    if team is not None and not s.covers_team(team):
        raise Forbidden("team_forbidden", user=user.username, role=user.role, team=team)
    return s


@router.get("/staff/team")
def team(
    request: Request,
    team: str | None = TEAM,
    on: date | None = ON,
    month: str | None = MONTH,
    user: User = Depends(require("tasks:read_team")),
) -> dict:
    """Workload per staff member (open, due today, overdue, done this month) with each one's SLA line, and the
    SLA report of the teams shown (a manager: their own team and the staff they lead)."""
    s = _team_scope(request, user, team)
    return reports.team_view(engine_of(request), _plan(), s, team, on, month)


@router.get("/sla")
def sla(
    request: Request,
    month: str | None = MONTH,
    as_of: date | None = Query(None, description="Count tasks due by this day (default: today)."),
    team: str | None = TEAM,
    user: User = Depends(require("sla:read")),
) -> dict:
    """SLA compliance per team, manager and rule against the plan's target (a manager: their teams only)."""
    s = _team_scope(request, user, team)
    teams = [team] if team is not None else (list(s.teams) if s.teams is not None else None)
    return ops_sla.sla_report(engine_of(request), _plan(), month, as_of, teams)


# -- care calendar, outbox ---------------------------------------------------------------------------------------


@router.get("/care/calendar")
def care_calendar(
    request: Request,
    start: date | None = Query(None, alias="from", description="First day (default: this month's first)."),
    end: date | None = Query(None, alias="to", description="Last day (default: this month's last); at most 93 days."),
    user: User = Depends(require("care:read")),
) -> dict:
    """Each day: working day or not (调休 included), lunar date, holidays and solar terms (central or local),
    care and task messages in the outbox by template and status, tasks due by kind and status. ``calendar``: each
    year's source (package, declared, provisional); ``provisional``: true when a year's holiday notice is not
    declared yet and its holidays are computed (each day says so too)."""
    today = ops.today(engine_of(request))
    start = start or today.replace(day=1)
    end = end or _month_end(start)
    days = reports.care_calendar(engine_of(request), _plan(), start, end)
    return {"from": start.isoformat(), "to": end.isoformat(), **calendar_note(start, end), "days": days}


def _month_end(day: date) -> date:
    nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


@router.get("/outbox")
def outbox(
    request: Request,
    status: Status | None = Query(None),
    member_id: str | None = Query(None, min_length=1, max_length=128),
    limit: int = Query(100, ge=1, le=1000),
    reveal: bool = REVEAL,
    user: User = Depends(require("outbox:read")),
) -> dict:
    """Messages by delivery status (counts) and the latest ones with tries and last error; recipients masked."""
    reveal = _reveal(user, reveal)
    out = reports.outbox_status(engine_of(request), status, member_id, limit, reveal)
    if reveal:
        pii_audit.record(
            engine_of(request),
            user,
            "outbox",
            [m["member_id"] for m in out["messages"]],
            subject=member_id,
            rows=len(out["messages"]),
            fields=["recipient"],
        )
    return out
