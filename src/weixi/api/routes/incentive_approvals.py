"""The approval chains of a month's incentive pay over the API (issue 19 §6), as in the console: every plan of the
month's folder with an ``approval:`` chain, each step with who approved it and when, the next step, the last return
and the awards' deadline; a login whose roster role the next step names approves it or returns it with a reason, and
the decider of the last step suspends the plan for the month (with a reason) or lifts that suspension.
Every decision is recorded with who and when and audited. Its routes are added to :mod:`weixi.api.routes.incentives`'
router.
Thin over :mod:`weixi.incentives.approvals`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.api.routes.common import engine_of
from weixi.incentives import approvals, reports
from weixi.incentives.errors import IncentiveNotFound
from weixi.users.service import User, audit

router = APIRouter(prefix="/api/incentives", tags=["incentives"])  # its routes are added to the incentives router
MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The month of pay, YYYY-MM.", examples=["2016-01"])


def _role(request: Request, month: str, user: User) -> str | None:
    """The login's role on the month's roster (its staff id: the login's ``staff_id``, else its username)."""
    people = reports.roster(engine_of(request), request.app.state.data_dir, month)
    return (people.get(user.staff) or {}).get("role")


@router.get("/{month}/approvals")
def month_approvals(request: Request, month: str = MONTH, user: User = Depends(require("incentives:read_own"))) -> dict:
    """Every plan of the month with an approval chain: its steps (who approved each and when), the next step and
    its roles, the last return, the whole history, the awards' ``deadline``; ``my_role`` is the caller's roster
    role and ``mine`` says whether the next step is the caller's."""
    role = _role(request, month, user)
    chains = []
    for plan in reports.approval_plans(request.app.state.data_dir, month):
        state = approvals.state(engine_of(request), month, plan)
        mine = state["next"] is not None and role in state["next"]["roles"]
        chains.append({"plan": plan.id, "plan_name": plan.name or plan.id, **state, "mine": mine})
    return {"month": month, "staff_id": user.staff, "my_role": role, "plans": chains}


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=128, description="The plan id (its file in the month's folder).")
    step: str = Field(min_length=1, max_length=64, description="The step id: the chain's next step.")
    decision: Literal["approve", "return"] = Field("approve", description="Approve, or return to the first step.")
    note: str | None = Field(None, max_length=500, description="A note; the reason, for a return (required).")


@router.post("/{month}/approvals", status_code=201)
def decide(
    body: DecisionIn, request: Request, month: str = MONTH, user: User = Depends(require("incentives:read_own"))
) -> dict:
    """Record the caller's decision on the plan's next step for the month (who and when). Refused when the step is
    not the next one (409), the caller's roster role is not one the step names (403), a return has no reason
    (422), the chain is complete (409), or the awards' deadline has passed (409)."""
    plan = next((p for p in reports.approval_plans(request.app.state.data_dir, month) if p.id == body.plan), None)
    if plan is None:
        raise IncentiveNotFound("incentive_approval_unknown_plan", plan=body.plan, month=month)
    role = _role(request, month, user) or ""
    engine = engine_of(request)
    state = approvals.decide(engine, month, plan, body.step, body.decision, user.staff, role, body.note)
    audit(engine, user, f"incentives.approval.{body.decision}", f"{month}/{plan.id}", {"step": body.step})
    return {"month": month, "plan": plan.id, "plan_name": plan.name or plan.id, **state}


class SuspensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: str = Field(min_length=1, max_length=128, description="The plan id (its file in the month's folder).")
    decision: Literal["suspend", "resume"] = Field("suspend", description="Suspend the month's pay, or lift it.")
    reason: str | None = Field(None, max_length=500, description="Why (required to suspend); shown on statements.")


@router.post("/{month}/suspensions", status_code=201)
def suspend(
    body: SuspensionIn, request: Request, month: str = MONTH, user: User = Depends(require("incentives:read_own"))
) -> dict:
    """Suspend the plan's pay for the month with a reason, or lift that suspension (seed 003: "根据当月情况总监可以
    决定各组或全部门不执行此方案"), recorded with who and when. The caller's roster role must be one the plan's last
    approval step names (403); a suspension needs a reason (422); no pay is computed from a suspended plan that
    month and the statements show the reason."""
    from weixi.incentives import suspensions

    plan = next((p for p in reports.approval_plans(request.app.state.data_dir, month) if p.id == body.plan), None)
    if plan is None:
        raise IncentiveNotFound("incentive_approval_unknown_plan", plan=body.plan, month=month)
    engine = engine_of(request)
    role = _role(request, month, user) or ""
    state = suspensions.record(engine, month, plan, body.decision, user.staff, role, body.reason)
    audit(engine, user, f"incentives.{body.decision}", f"{month}/{plan.id}", {"reason": body.reason})
    return {"month": month, "plan": plan.id, "plan_name": plan.name or plan.id, **state}
