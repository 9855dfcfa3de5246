"""Approval chains of the month's incentive plans (issue 19 §6): each plan with ``approval:`` steps, who approved each
step and when (in the operator's timezone), what is next; the login whose roster role the next step names approves
it or returns it with a reason, after a confirmation that shows the plan's pay the decision lets through. Thin over
:mod:`weixi.incentives.approvals`; the month's plans and roster are the files of its folder
(:func:`weixi.incentives.reports.month_inputs`)."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from weixi import i18n
from weixi.console.guard import page_user
from weixi.console.render import page
from weixi.incentives import amounts, approvals, reports
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveError, IncentiveNotFound
from weixi.names import display
from weixi.operations.clock import local
from weixi.users.service import User, audit

router = APIRouter()
MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
PLAN = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MONTH_Q = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")


def months(data_dir) -> list[str]:
    """Months with an input folder, newest first."""
    base = reports.inputs_dir(data_dir, "x").parent
    return sorted((p.name for p in base.glob("????-??") if p.is_dir()), reverse=True) if base.is_dir() else []


def plans(data_dir, month: str) -> list:
    """The month's plans that have an approval chain (a plan file that does not load is left to the statements)."""
    found = []
    for path in reports.month_inputs(data_dir, month)["plans"]:
        try:
            plan = svc.load_incentive_plan(path)
        except IncentiveError:
            continue
        if plan.approval:
            found.append(plan)
    return found


def _plan(request: Request, month: str, plan_id: str):
    plan = next((p for p in plans(request.app.state.data_dir, month) if p.id == plan_id), None)
    if plan is None:
        raise IncentiveNotFound("incentive_approval_unknown_plan", plan=plan_id, month=month)
    return plan


def _my_role(request: Request, month: str, user: User) -> str | None:
    people = reports.roster(request.app.state.engine, request.app.state.data_dir, month)
    return (people.get(user.username) or {}).get("role")


def _when(request: Request, at: str | None) -> str:
    if not at:
        return ""
    tz = reports.zone(request.app.state.engine)
    return f"{local(at, ZoneInfo(tz)):%Y-%m-%d %H:%M} {display('timezone', tz, i18n.locale_of(request))}"


def _label(people: dict, staff_id: str | None) -> str:
    """A decider by name beside the id (张总 (S000200)); the id alone when the roster has no name."""
    name = (people.get(staff_id) or {}).get("name") if staff_id else None
    return f"{name} ({staff_id})" if name else (staff_id or "")


@router.get("/incentives/approvals")
def index(request: Request, month: str | None = MONTH_Q, user: User = Depends(page_user("incentives:read_own"))):
    data_dir = request.app.state.data_dir
    known = months(data_dir)
    month = month or (known[0] if known else None)
    chains = []
    role = None
    if month is not None:
        people = reports.roster(request.app.state.engine, data_dir, month)
        role = (people.get(user.username) or {}).get("role")
        for plan in plans(data_dir, month):
            state = approvals.state(request.app.state.engine, month, plan)
            for d in [s["approved"] for s in state["steps"] if s["approved"]] + [state["returned"] or {}]:
                d["when"] = _when(request, d.get("at"))
                d["label"] = _label(people, d.get("by"))
            mine = state["next"] is not None and role in state["next"]["roles"]
            chains.append({"plan": plan, "state": state, "mine": mine})
    return page(request, "incentive_approvals.html", user, months=known, month=month, chains=chains, my_role=role)


@router.get("/incentives/{month}/approvals/{plan_id}/confirm")
def confirm(
    request: Request,
    month: str = MONTH,
    plan_id: str = PLAN,
    decision: str = Query("approve", pattern="^(approve|return)$"),
    user: User = Depends(page_user("incentives:read_own")),
):
    """What the decision lets through (or sends back): the plan's pay of the month, staff and yuan, before it is
    recorded; a login whose role the next step does not name is told whose step it is."""
    plan = _plan(request, month, plan_id)
    state = approvals.state(request.app.state.engine, month, plan)
    role = _my_role(request, month, user)
    refusal = pay = None
    try:
        approvals.check(plan, _decisions(request, month, plan), (state["next"] or {}).get("id"), decision, role, "-")
        pay = _pay(request, month, plan)
    except IncentiveError as exc:
        refusal = exc
    return page(
        request,
        "incentive_approval_confirm.html",
        user,
        month=month,
        plan=plan,
        state=state,
        decision=decision,
        pay=pay,
        refusal=refusal,
    )


def _decisions(request: Request, month: str, plan) -> list:
    with request.app.state.engine.connect() as conn:
        return approvals.decisions(conn, month, plan.id)


def _pay(request: Request, month: str, plan) -> dict:
    """The staff and yuan of the plan's lines in the month's recompute (its rule ids start with the plan id)."""
    engine = request.app.state.engine
    result = reports.recompute(request.app.state.data_dir, month, reports.zone(engine), engine).to_json()
    staff, yuan, count = set(), Decimal(0), 0
    for staff_id, s in result["staff"].items():
        for line in s["lines"]:
            if line["rule"] == plan.id or line["rule"].startswith(plan.id + "/") or _of(line, plan.id):
                staff.add(staff_id)
                yuan += Decimal(line["yuan"])
                count += 1
    return {"staff": len(staff), "lines": count, "yuan": amounts.yuan(yuan)}


def _of(line: dict, plan_id: str) -> bool:
    return (line.get("params") or {}).get("plan") == plan_id


@router.post("/incentives/{month}/approvals/{plan_id}")
def decide(
    request: Request,
    month: str = MONTH,
    plan_id: str = PLAN,
    step: str = Form(..., max_length=64),
    decision: str = Form(..., pattern="^(approve|return)$"),
    note: str = Form("", max_length=500),
    user: User = Depends(page_user("incentives:read_own")),
):
    plan = _plan(request, month, plan_id)
    role = _my_role(request, month, user) or ""
    engine = request.app.state.engine
    approvals.decide(engine, month, plan, step, decision, user.username, role, note or None)
    audit(engine, user, f"incentives.approval.{decision}", f"{month}/{plan.id}", {"step": step, "note": note or None})
    return RedirectResponse(f"/incentives/approvals?month={month}", status_code=303)
