"""Approval chains of the month's incentive plans (issue 19 §6): each plan with ``approval:`` steps, who approved each
step and when (in the operator's timezone), what is next; the login whose roster role the next step names approves
it or returns it with a reason, after a confirmation that shows the plan's pay the decision lets through. A login
acts as its staff id (``User.staff``: its ``staff_id``, else its username) and its role is that id's on the month's
roster.

A plan that awards prizes shows the date its awards must be published by (seed 000: "奖励将在下季度开始前正式宣布和
发放", :mod:`weixi.incentives.deadlines`); from that day the confirmation shows the refusal before anything is posted.
The decider of the chain's last step (the 维修部's 总监, seed 003: "根据当月情况总监可以决定各组或全部门不执行此方案")
suspends the plan's pay for the month with a reason, or lifts that suspension, after a confirmation
(:mod:`weixi.incentives.suspensions`); the page shows who suspended it, when and why. Refusals are shown beside the
form in the reader's language. Thin over :mod:`weixi.incentives.approvals`; the month's plans and roster are the files
of its folder (:func:`weixi.incentives.reports.month_inputs`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date
from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from weixi import i18n
from weixi.console.guard import page_user
from weixi.console.render import page
from weixi.incentives import amounts, approvals, deadlines, reports, suspensions
from weixi.incentives.errors import IncentiveError, IncentiveNotFound
from weixi.messages import hint
from weixi.names import display
from weixi.operations.clock import local
from weixi.users.service import User, audit

router = APIRouter()
MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
PLAN = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
MONTH_Q = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
DONE = ("suspend", "resume")


def months(data_dir) -> list[str]:
    """Months with an input folder, newest first."""
    base = reports.inputs_dir(data_dir, "x").parent
    return sorted((p.name for p in base.glob("????-??") if p.is_dir()), reverse=True) if base.is_dir() else []


def _plan(request: Request, month: str, plan_id: str):
    plan = next((p for p in reports.approval_plans(request.app.state.data_dir, month) if p.id == plan_id), None)
    if plan is None:
        raise IncentiveNotFound("incentive_approval_unknown_plan", plan=plan_id, month=month)
    return plan


def _roster(request: Request, month: str) -> dict:
    return reports.roster(request.app.state.engine, request.app.state.data_dir, month)


def _my_role(request: Request, month: str, user: User) -> str | None:
    """The login's role on the month's roster, by the staff id it acts as (its ``staff_id``, else its username)."""
    return (_roster(request, month).get(user.staff) or {}).get("role")


def _when(request: Request, at: str | None) -> str:
    if not at:
        return ""
    tz = reports.zone(request.app.state.engine)
    return f"{local(at, ZoneInfo(tz)):%Y-%m-%d %H:%M} {display('timezone', tz, i18n.locale_of(request))}"


def _label(people: dict, staff_id: str | None) -> str:
    """A decider by name beside the id (张总 (S000200)); the id alone when the roster has no name."""
    name = (people.get(staff_id) or {}).get("name") if staff_id else None
    return f"{name} ({staff_id})" if name else (staff_id or "")


def _problem(request: Request, exc: IncentiveError | None) -> dict | None:
    """A refusal for the page: the error (rendered by ``|say``) and what the reader can do, in their language."""
    return None if exc is None else {"error": exc, "hint": hint(exc.code, i18n.locale_of(request))}


def _deadline(request: Request, due: dict | None, today: date) -> dict | None:
    """The awards' deadline as people read it (2024年4月1日 / April 1, 2024), and the refusal once it has come."""
    if due is None:
        return None
    refusal = None
    try:
        deadlines.refuse_late(due, today)
    except IncentiveError as exc:
        refusal = _problem(request, exc)
    day = date.fromisoformat(due["deadline"])
    shown = format_date(day, format="long", locale="zh_Hans_CN" if i18n.locale_of(request) == "zh_CN" else "en")
    return {**due, "date": shown, "refusal": refusal}


def _dressed(request: Request, people: dict, state: dict, today: date) -> dict:
    """The chain's state with each decision's time and decider as people read them, and the awards' deadline."""
    shown = [s["approved"] for s in state["steps"] if s["approved"]] + [
        state["returned"] or {},
        state["suspended"] or {},
    ]
    for d in shown:
        d["when"] = _when(request, d.get("at"))
        d["label"] = _label(people, d.get("by"))
    return {**state, "deadline": _deadline(request, state.get("deadline"), today)}


@router.get("/incentives/approvals")
def index(request: Request, month: str | None = MONTH_Q, user: User = Depends(page_user("incentives:read_own"))):
    data_dir = request.app.state.data_dir
    known = months(data_dir)
    month = month or (known[0] if known else None)
    chains = []
    role = None
    if month is not None:
        engine = request.app.state.engine
        people = _roster(request, month)
        role = (people.get(user.staff) or {}).get("role")
        today = deadlines.today(engine)
        for plan in reports.approval_plans(data_dir, month):
            state = _dressed(request, people, approvals.state(engine, month, plan), today)
            late = state["deadline"] is not None and state["deadline"]["refusal"] is not None
            mine = state["next"] is not None and role in state["next"]["roles"] and not late
            chains.append(
                {
                    "plan": plan,
                    "state": state,
                    "mine": mine,
                    "in_file": plan.suspension(month),
                    "can_suspend": role is not None and role in plan.approval[-1].roles,
                    "suspenders": list(plan.approval[-1].roles),
                }
            )
    done = request.query_params.get("done", "")
    named = next(
        (c["plan"].name or c["plan"].id for c in chains if c["plan"].id == request.query_params.get("plan")), ""
    )
    return page(
        request,
        "incentive_approvals.html",
        user,
        months=known,
        month=month,
        chains=chains,
        my_role=role,
        done=done if done in DONE and named else "",
        done_plan=named,
    )


@router.get("/incentives/{month}/approvals/{plan_id}/confirm")
def confirm(
    request: Request,
    month: str = MONTH,
    plan_id: str = PLAN,
    decision: str = Query("approve", pattern="^(approve|return)$"),
    user: User = Depends(page_user("incentives:read_own")),
):
    """What the decision lets through (or sends back): the plan's pay of the month, staff and yuan, before it is
    recorded; a login whose role the next step does not name is told whose step it is, and from the first day of
    the next quarter a plan's awards are refused (:func:`weixi.incentives.deadlines.refuse_late`)."""
    return _confirm_page(request, user, month, _plan(request, month, plan_id), decision)


def _confirm_page(request, user, month, plan, decision, error=None, note="", status=200):
    """The confirmation of an approval or a return; ``error``: the refusal of a posted decision, beside the form."""
    engine = request.app.state.engine
    people = _roster(request, month)
    today = deadlines.today(engine)
    raw = approvals.state(engine, month, plan)
    due = raw["deadline"]
    state = _dressed(request, people, raw, today)
    role = (people.get(user.staff) or {}).get("role")
    refusal = pay = None
    try:
        if due is not None:
            deadlines.refuse_late(due, today)
        approvals.check(plan, _decisions(request, month, plan), (state["next"] or {}).get("id"), decision, role, "-")
        pay = _pay(request, month, plan)
    except IncentiveError as exc:
        refusal = _problem(request, exc)
    return page(
        request,
        "incentive_approval_confirm.html",
        user,
        status=status,
        month=month,
        plan=plan,
        state=state,
        decision=decision,
        pay=pay,
        refusal=refusal,
        error=_problem(request, error),
        note=note,
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
    """Record the decision as the login's staff id, with its roster role; a refusal is shown beside the form."""
    plan = _plan(request, month, plan_id)
    role = _my_role(request, month, user) or ""
    engine = request.app.state.engine
    try:
        approvals.decide(engine, month, plan, step, decision, user.staff, role, note or None)
    except IncentiveError as exc:
        return _confirm_page(request, user, month, plan, decision, exc, note, exc.status)
    audit(engine, user, f"incentives.approval.{decision}", f"{month}/{plan.id}", {"step": step, "note": note or None})
    return RedirectResponse(f"/incentives/approvals?month={month}", status_code=303)


@router.get("/incentives/{month}/suspensions/{plan_id}/confirm")
def suspension_confirm(
    request: Request,
    month: str = MONTH,
    plan_id: str = PLAN,
    decision: str = Query("suspend", pattern="^(suspend|resume)$"),
    user: User = Depends(page_user("incentives:read_own")),
):
    """Before suspending the plan's pay of the month (with a reason) or lifting that suspension: what it does and,
    for a suspension, the pay it holds back; a login whose role the chain's last step does not name, a plan already
    suspended or one not suspended is told so before anything is posted."""
    return _suspension_page(request, user, month, _plan(request, month, plan_id), decision)


def _suspension_page(request, user, month, plan, decision, error=None, reason="", status=200):
    engine = request.app.state.engine
    people = _roster(request, month)
    state = _dressed(request, people, approvals.state(engine, month, plan), deadlines.today(engine))
    role = (people.get(user.staff) or {}).get("role") or ""
    refusal = pay = None
    try:
        suspensions.check(plan, _decisions(request, month, plan), decision, role, "-")
        pay = _pay(request, month, plan) if decision == "suspend" else None
    except IncentiveError as exc:
        refusal = _problem(request, exc)
    return page(
        request,
        "incentive_suspension_confirm.html",
        user,
        status=status,
        month=month,
        plan=plan,
        state=state,
        decision=decision,
        pay=pay,
        refusal=refusal,
        error=_problem(request, error),
        reason=reason,
        suspenders=list(plan.approval[-1].roles),
    )


@router.post("/incentives/{month}/suspensions/{plan_id}")
def suspend(
    request: Request,
    month: str = MONTH,
    plan_id: str = PLAN,
    decision: str = Form(..., pattern="^(suspend|resume)$"),
    reason: str = Form("", max_length=500),
    user: User = Depends(page_user("incentives:read_own")),
):
    """Suspend the plan's pay of the month with a reason, or lift the suspension, as the login's staff id with its
    roster role (the chain's last step's roles only, as the API); recorded, audited, and a refusal is shown beside
    the form."""
    plan = _plan(request, month, plan_id)
    role = _my_role(request, month, user) or ""
    engine = request.app.state.engine
    try:
        suspensions.record(engine, month, plan, decision, user.staff, role, reason or None)
    except IncentiveError as exc:
        return _suspension_page(request, user, month, plan, decision, exc, reason, exc.status)
    audit(engine, user, f"incentives.{decision}", f"{month}/{plan.id}", {"reason": reason.strip() or None})
    return RedirectResponse(f"/incentives/approvals?month={month}&done={decision}&plan={plan.id}", status_code=303)
