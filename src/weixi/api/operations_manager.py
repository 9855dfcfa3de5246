"""The agent's queue and the manager's duties over the API (issue 18 §1, issue 20 §4), the same services and rules as
the console pages (docs/console.md, *Manager and agent*): the work queue (overdue SLA tasks first, the win-back
list apart), reassigning tasks, transferring a member with a reason, the monthly portfolio, inspecting tracking
records and quotas. A manager acts on the staff it oversees; every change is audited."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.errors import Forbidden
from weixi.operations import inspections, portfolio, quotas, reports, transfer, work_queue
from weixi.operations import service as ops
from weixi.users.service import User, audit

router = APIRouter(prefix="/api", tags=["manager duties"])
MONTH = Query(..., pattern=r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$", description="The month, YYYY-MM (2000-01 to 2100-12).")
READ, MANAGE = "tasks:read_team", "tasks:manage_team"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReassignIn(Strict):
    task_ids: list[str] = Field(min_length=1, max_length=transfer.REASSIGN_MAX)
    to_staff: str = Field(min_length=1, max_length=128)


class TransferIn(Strict):
    to_staff: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=transfer.REASON_MAX)


class InspectIn(Strict):
    month: str = Field(pattern=r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$")
    staff_id: str = Field(min_length=1, max_length=128)
    task_ids: list[str] = Field(min_length=1, max_length=inspections.BATCH_MAX)
    verdict: Literal["ok", "redo"]
    note: str | None = Field(None, max_length=inspections.NOTE_MAX)


class QuotaIn(Strict):
    period: str = Field(pattern=r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$")
    item: str = Field(min_length=1, max_length=quotas.ITEM_MAX)
    staff_id: str = Field(min_length=1, max_length=128)
    quantity: int = Field(ge=0, le=quotas.QUANTITY_MAX)


class HandOutIn(Strict):
    member_id: str = Field(min_length=1, max_length=128)
    quantity: int = Field(1, ge=1, le=quotas.QUANTITY_MAX)
    note: str | None = Field(None, max_length=500)


def _covers(request: Request, user: User, staff_id: str | None) -> None:
    if staff_id is not None and not reports.scope(request.app.state.engine, user).covers_staff(staff_id):
        raise Forbidden("team_forbidden", user=user.username, role=user.role, team=staff_id)


def _ids(request: Request, user: User) -> list[str] | None:
    s = reports.scope(request.app.state.engine, user)
    return None if s.teams is None else sorted(s.staff)


@router.get("/work/queue")
def work(
    request: Request,
    on: date | None = Query(None, description="The day, YYYY-MM-DD (default: today in the plan's timezone)."),
    list_: Literal["work", "winback"] = Query("work", alias="list"),
    page: int = Query(1, ge=1, le=10_000),
    size: int = Query(50, ge=1, le=200),
    user: User = Depends(require("tasks:read_own")),
) -> dict:
    """The caller's queue: overdue SLA tasks first, then due date, then priority; members who left only in the
    win-back list (``list=winback``), each task with ``overdue`` and ``left``; ``done_this_month``."""
    state = request.app.state
    day = on or ops.today(state.engine)
    q = work_queue.queue(state.engine, state.data_dir, user.staff, day, list_, page, size)  # the login's staff id
    done = work_queue.done_this_month(state.engine, [user.staff], ops.today(state.engine))
    return {
        "staff_id": user.staff,
        "on": day.isoformat(),
        "list": list_,
        "total": q.total,
        "other_list_total": q.other,
        "overdue": q.overdue,
        "page": q.page,
        "pages": q.pages,
        "done_this_month": done.get(user.staff, 0),
        "tasks": q.rows,
    }


@router.post("/tasks/reassign")
def reassign(request: Request, body: ReassignIn, user: User = Depends(require(MANAGE))) -> dict:
    """Hand open tasks to another person, all or none."""
    engine = request.app.state.engine
    _covers(request, user, body.to_staff)
    for t in body.task_ids:
        _covers(request, user, ops.get_task(engine, t)["assignee"])
    out = transfer.reassign_tasks(engine, body.task_ids, body.to_staff)
    audit(engine, user, "tasks.reassign", body.to_staff, {"tasks": body.task_ids, "from": out["from"], "via": "api"})
    return out


@router.post("/members/{member_id}/transfer")
def transfer_member(
    request: Request,
    body: TransferIn,
    member_id: str = Path(min_length=1, max_length=128),
    user: User = Depends(require(MANAGE)),
) -> dict:
    """Move a member to another manager with a reason; the open calls and visits go along; the history kept."""
    state = request.app.state
    _covers(request, user, body.to_staff)
    _covers(request, user, transfer.current_manager(state.engine, state.data_dir, member_id))
    out = transfer.transfer_member(state.engine, state.data_dir, member_id, body.to_staff, body.reason, user.username)
    audit(state.engine, user, "member.transfer", member_id, {k: out[k] for k in ("from_staff", "to_staff", "reason")})
    return out


@router.get("/members/{member_id}/transfers")
def transfers(
    request: Request, member_id: str = Path(min_length=1, max_length=128), user: User = Depends(require(READ))
) -> dict:
    """The member's manager now and every manual transfer: from, to, reason, who and when (newest first)."""
    state = request.app.state
    return {
        "member_id": member_id,
        "manager": transfer.current_manager(state.engine, state.data_dir, member_id),
        "transfers": transfer.history(state.engine, member_id),
    }


@router.get("/team/portfolio")
def team_portfolio(request: Request, month: str = MONTH, user: User = Depends(require(READ))) -> dict:
    """Per manager: members held, contacts made, outcomes, churned, points (the staff the caller oversees)."""
    state = request.app.state
    return portfolio.report(state.engine, state.data_dir, month, _ids(request, user))


@router.get("/team/inspection")
def inspection(
    request: Request,
    month: str = MONTH,
    staff_id: str | None = Query(None, max_length=128),
    user: User = Depends(require(READ)),
) -> dict:
    engine = request.app.state.engine
    _covers(request, user, staff_id)
    return {
        "month": month,
        "summary": inspections.summary(engine, month, _ids(request, user)),
        "records": inspections.records(engine, month, staff_id) if staff_id else [],
    }


@router.post("/team/inspection")
def inspect(request: Request, body: InspectIn, user: User = Depends(require(MANAGE))) -> dict:
    engine = request.app.state.engine
    _covers(request, user, body.staff_id)
    out = inspections.inspect(engine, body.month, body.staff_id, body.task_ids, body.verdict, user.username, body.note)
    audit(engine, user, "tasks.inspect", body.staff_id, {"month": body.month, "verdict": body.verdict})
    return out


@router.get("/team/quotas")
def quota_list(request: Request, period: str = MONTH, user: User = Depends(require(READ))) -> dict:
    return {"period": period, "quotas": quotas.quotas(request.app.state.engine, period, _ids(request, user))}


@router.post("/team/quotas")
def quota_set(request: Request, body: QuotaIn, user: User = Depends(require(MANAGE))) -> dict:
    _covers(request, user, body.staff_id)
    engine = request.app.state.engine
    q = quotas.set_quota(engine, body.period, body.item, body.staff_id, body.quantity, user.username)
    audit(
        engine, user, "quota.set", body.staff_id, {"period": body.period, "item": q["item"], "quantity": body.quantity}
    )
    return q


@router.post("/team/quotas/{quota_id}/handouts")
def quota_hand_out(
    request: Request, body: HandOutIn, quota_id: int = Path(ge=1), user: User = Depends(require(MANAGE))
) -> dict:
    engine = request.app.state.engine
    _covers(request, user, quotas.get_quota(engine, quota_id)["staff_id"])
    q = quotas.hand_out(engine, quota_id, body.member_id, body.quantity, user.username, body.note)
    audit(
        engine, user, "quota.handout", body.member_id, {"quota": quota_id, "item": q["item"], "quantity": body.quantity}
    )
    return q
