"""The team lead's and manager's pages under ``/team`` (issue 18 §1 "Manager"; issue 20 §4, the recreation-department
plan): one person's tasks (the drill-down of the SLA view) with a batch reassignment, a member transferred to
another manager with a reason, the monthly portfolio per manager (page and CSV), the inspection of tracking
records, and per-person quotas (月饼, 圣诞票). Reading needs ``tasks:read_team``; changing, ``tasks:manage_team``.
A manager login sees and acts on the staff it oversees (:func:`weixi.operations.reports.scope`); every change
is audited. Changes that move people's work ask to confirm first, showing what will change."""

from __future__ import annotations

import csv
import io
from datetime import date

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from weixi.console.guard import may, page_user
from weixi.console.render import page, translator
from weixi.errors import Forbidden, WeixiError
from weixi.i18n import N_
from weixi.operations import inspections, portfolio, quotas, reports, transfer, work_queue
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.users.service import User, audit

router = APIRouter()
READ, MANAGE = "tasks:read_team", "tasks:manage_team"
MONTH = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
PERIOD = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")  # its own: FastAPI binds a shared Query to one name
STAFF = Path(min_length=1, max_length=128)
MEMBER = Query("", max_length=128)
ROWS = 50
PORTFOLIO_HEADERS = {
    "staff_id": N_("Staff id"),
    "name": N_("Name"),
    "team": N_("Team"),
    "held": N_("Members held"),
    "contacts": N_("Contacts made"),
    "outcome_reached": N_("Reached"),
    "outcome_unreachable": N_("Unreachable"),
    "outcome_accepted": N_("Accepted the offer"),
    "outcome_declined": N_("Declined"),
    "outcome_callback": N_("Call back"),
    "outcome_left": N_("Has left"),
    "churned": N_("Churned"),
    "points_balance": N_("Points held"),
    "points_earned": N_("Points earned in the month"),
}


def _month(request: Request, month: str | None) -> str:
    return month or ops.today(request.app.state.engine).strftime("%Y-%m")


def _roster(request: Request, user: User) -> list[dict]:
    """The staff the login oversees (everyone for admins and analysts), active first."""
    engine = request.app.state.engine
    s = reports.scope(engine, user)
    return [r for r in ops_staff.staff_list(engine) if s.teams is None or r["staff_id"] in s.staff]


def _ids(request: Request, user: User) -> list[str] | None:
    s = reports.scope(request.app.state.engine, user)
    return None if s.teams is None else sorted(s.staff)


def _covers(request: Request, user: User, staff_id: str | None) -> None:
    if staff_id is not None and not reports.scope(request.app.state.engine, user).covers_staff(staff_id):
        raise Forbidden("team_forbidden", user=user.username, role=user.role, team=staff_id)


def _common(request: Request, user: User, tab: str, **ctx) -> dict:
    tz = ops.zone(request.app.state.engine).key  # times are shown in the operator's timezone, labelled
    return {"team_tab": tab, "may_manage": may(user, MANAGE), "roster": _roster(request, user), "timezone": tz, **ctx}


# -- one person's tasks and the batch reassignment --------------------------------------------------------------


@router.get("/team/staff/{staff_id}")
def staff_tasks(
    request: Request,
    staff_id: str = STAFF,
    on: str | None = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$"),
    page_no: int = Query(1, alias="page", ge=1, le=10_000),
    user: User = Depends(page_user(READ)),
):
    _covers(request, user, staff_id)
    engine = request.app.state.engine
    day = date.fromisoformat(on) if on else ops.today(engine)
    person = next((r for r in ops_staff.staff_list(engine) if r["staff_id"] == staff_id), None)
    if person is None:
        raise ops.StaffNotFound("staff_not_found", staff=staff_id)
    listed = work_queue.staff_tasks(engine, staff_id, day, page_no, ROWS)
    return page(
        request,
        "team_staff.html",
        user,
        **_common(request, user, "overview", person=person, listed=listed, on=day.isoformat()),
        names=work_queue.member_names(request.app.state.data_dir, [t["member_id"] for t in listed["rows"]]),
        breadcrumbs=[(_t(request, "Team"), "/team"), (person["name"] or staff_id, None)],
    )


def _t(request: Request, text: str) -> str:
    return translator(request)(text)


@router.post("/team/reassign")
def reassign(
    request: Request,
    task_id: list[str] = Form(default=[]),
    to_staff: str = Form("", max_length=128),
    from_staff: str = Form(..., max_length=128),
    confirm: str = Form(""),
    user: User = Depends(page_user(MANAGE)),
):
    """Hand the chosen open tasks to another person: a confirmation first (how many, from whom, to whom)."""
    engine = request.app.state.engine
    _covers(request, user, from_staff)
    _covers(request, user, to_staff or None)
    back = f"/team/staff/{from_staff}"
    ctx = _common(request, user, "overview", from_staff=from_staff, to_staff=to_staff, tasks=task_id[:500])
    try:
        if not task_id:
            raise ops.OperationsError("reassign_nothing_chosen")
        if not to_staff:
            raise ops.OperationsError("reassign_staff_missing")
        if confirm != "yes":
            rows = [ops.get_task(engine, t) for t in task_id[:500]]
            for t in rows:
                _covers(request, user, t["assignee"])
            names = _names(request, [t["member_id"] for t in rows])
            return page(request, "team_reassign_confirm.html", user, **ctx, rows=rows, back=back, names=names)
        for t in task_id:
            _covers(request, user, ops.get_task(engine, t)["assignee"])
        out = transfer.reassign_tasks(engine, task_id, to_staff)
    except WeixiError as exc:
        return page(
            request,
            "team_reassign_confirm.html",
            user,
            status=exc.status,
            **ctx,
            rows=[],
            error=exc,
            back=back,
            names={},
        )
    audit(engine, user, "tasks.reassign", to_staff, {"tasks": task_id[:500], "from": out["from"], "via": "console"})
    return RedirectResponse(f"{back}?moved={out['moved']}&to={to_staff}", status_code=303)


# -- transferring a member --------------------------------------------------------------------------------------


@router.get("/team/transfer")
def transfer_page(request: Request, member: str = MEMBER, user: User = Depends(page_user(READ))):
    state = request.app.state
    member = member.strip()
    current = transfer.current_manager(state.engine, state.data_dir, member) if member else None
    history = transfer.history(state.engine, member or None, 50)
    return page(
        request,
        "team_transfer.html",
        user,
        **_common(request, user, "transfer", member=member, current=current),
        history=history,
        names=_names(request, [h["member_id"] for h in history] + ([member] if member else [])),
        done=request.query_params.get("done") == "1",
    )


def _names(request: Request, member_ids: list[str]) -> dict[str, str]:
    """Members' names beside their ids (one archive look-up for the page)."""
    return work_queue.member_names(request.app.state.data_dir, member_ids)


@router.post("/team/transfer")
def transfer_post(
    request: Request,
    member: str = Form(..., min_length=1, max_length=128),
    to_staff: str = Form("", max_length=128),
    reason: str = Form("", max_length=transfer.REASON_MAX + 100),
    confirm: str = Form(""),
    user: User = Depends(page_user(MANAGE)),
):
    """A member to another manager with a reason: a confirmation first (from whom, to whom, the open calls and
    visits that go along), then the transfer, audited; the history is kept."""
    state = request.app.state
    member = member.strip()
    current = transfer.current_manager(state.engine, state.data_dir, member)
    ctx = _common(request, user, "transfer", member=member, current=current, to_staff=to_staff, reason=reason)
    ctx["names"] = _names(request, [member])
    try:
        if not to_staff:
            raise ops.OperationsError("transfer_staff_missing", member=member)
        _covers(request, user, to_staff)
        if current is not None:
            _covers(request, user, current)
        if not reason.strip():
            raise ops.OperationsError("transfer_reason_missing", member=member)
        if confirm != "yes":
            moving = [t for t in ops.member_tasks(state.engine, member) if t["status"] == "open"]
            return page(request, "team_transfer.html", user, **ctx, confirming=True, moving=moving, history=[])
        out = transfer.transfer_member(state.engine, state.data_dir, member, to_staff, reason, user.username)
    except WeixiError as exc:
        history = transfer.history(state.engine, member, 50)
        ctx["names"] = _names(request, [member] + [h["member_id"] for h in history])
        return page(request, "team_transfer.html", user, status=exc.status, **ctx, error=exc, history=history)
    audit(
        state.engine,
        user,
        "member.transfer",
        member,
        {"from": out["from_staff"], "to": out["to_staff"], "reason": out["reason"], "moved_tasks": out["moved_tasks"]},
    )
    return RedirectResponse(f"/team/transfer?member={member}&done=1", status_code=303)


# -- the monthly portfolio per manager --------------------------------------------------------------------------


@router.get("/team/portfolio")
def portfolio_page(request: Request, month: str | None = MONTH, user: User = Depends(page_user(READ))):
    state = request.app.state
    m = _month(request, month)
    rep = portfolio.report(state.engine, state.data_dir, m, _ids(request, user))
    return page(request, "team_portfolio.html", user, **_common(request, user, "portfolio", month=m, report=rep))


@router.get("/team/portfolio.csv")
def portfolio_csv(request: Request, month: str | None = MONTH, user: User = Depends(page_user(READ))):
    """The same report as CSV (UTF-8 with BOM for Excel), headers in the page's language."""
    state = request.app.state
    _ = translator(request)
    m = _month(request, month)
    rep = portfolio.report(state.engine, state.data_dir, m, _ids(request, user))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([_(PORTFOLIO_HEADERS[c]) for c in portfolio.COLUMNS])
    for r in rep["rows"]:
        w.writerow([r[c] if r[c] is not None else "" for c in portfolio.COLUMNS])
    audit(state.engine, user, "portfolio.export", m, {"rows": len(rep["rows"])})
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="portfolio-{m}.csv"', "Cache-Control": "no-store"},
    )


# -- inspection of tracking records -----------------------------------------------------------------------------


@router.get("/team/inspection")
def inspection_page(
    request: Request,
    month: str | None = MONTH,
    staff: str = Query("", max_length=128),
    user: User = Depends(page_user(READ)),
):
    engine = request.app.state.engine
    m = _month(request, month)
    if staff:
        _covers(request, user, staff)
    return page(
        request,
        "team_inspection.html",
        user,
        **_common(request, user, "inspection", month=m, staff=staff),
        summary=inspections.summary(engine, m, _ids(request, user)),
        records=(recs := inspections.records(engine, m, staff) if staff else []),
        names=_names(request, [r["member_id"] for r in recs]),
    )


@router.post("/team/inspection")
def inspection_post(
    request: Request,
    month: str = Form(..., pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
    staff: str = Form(..., min_length=1, max_length=128),
    task_id: list[str] = Form(default=[]),
    verdict: str = Form(..., max_length=16),
    note: str = Form("", max_length=inspections.NOTE_MAX),
    user: User = Depends(page_user(MANAGE)),
):
    engine = request.app.state.engine
    _covers(request, user, staff)
    try:
        out = inspections.inspect(engine, month, staff, task_id, verdict, user.username, note)
    except WeixiError as exc:
        return page(
            request,
            "team_inspection.html",
            user,
            status=exc.status,
            **_common(request, user, "inspection", month=month, staff=staff),
            summary=inspections.summary(engine, month, _ids(request, user)),
            records=(recs := inspections.records(engine, month, staff)),
            names=_names(request, [r["member_id"] for r in recs]),
            error=exc,
        )
    audit(engine, user, "tasks.inspect", staff, {"month": month, "verdict": verdict, "tasks": task_id[:500]})
    return RedirectResponse(f"/team/inspection?month={month}&staff={staff}&marked={out['inspected']}", 303)


# -- quotas ----------------------------------------------------------------------------------------------------


def _quota_page(request: Request, user: User, period: str, status: int = 200, **ctx):
    engine = request.app.state.engine
    rows = quotas.quotas(engine, period, _ids(request, user))
    chosen = request.query_params.get("quota")
    given = quotas.handouts(engine, int(chosen)) if chosen and chosen.isdigit() else []
    return page(
        request,
        "team_quotas.html",
        user,
        status=status,
        **_common(request, user, "quotas", period=period, quotas=rows, handouts=given, chosen=chosen, **ctx),
    )


@router.get("/team/quotas")
def quotas_page(request: Request, period: str | None = PERIOD, user: User = Depends(page_user(READ))):
    return _quota_page(request, user, _month(request, period))


@router.post("/team/quotas")
def quota_set(
    request: Request,
    period: str = Form(..., pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
    item: str = Form("", max_length=quotas.ITEM_MAX + 16),
    staff: str = Form(..., min_length=1, max_length=128),
    quantity: int = Form(..., ge=0, le=quotas.QUANTITY_MAX),
    user: User = Depends(page_user(MANAGE)),
):
    _covers(request, user, staff)
    try:
        q = quotas.set_quota(request.app.state.engine, period, item, staff, quantity, user.username)
    except WeixiError as exc:
        return _quota_page(request, user, period, exc.status, error=exc)
    audit(
        request.app.state.engine, user, "quota.set", staff, {"period": period, "item": q["item"], "quantity": quantity}
    )
    return RedirectResponse(f"/team/quotas?period={period}&quota={q['quota_id']}", 303)


@router.post("/team/quotas/{quota_id}/handout")
def quota_hand_out(
    request: Request,
    quota_id: int = Path(..., ge=1),
    member: str = Form("", max_length=128),
    quantity: int = Form(1, ge=1, le=quotas.QUANTITY_MAX),
    note: str = Form("", max_length=500),
    user: User = Depends(page_user(MANAGE)),
):
    engine = request.app.state.engine
    q = quotas.get_quota(engine, quota_id)
    _covers(request, user, q["staff_id"])
    try:
        q = quotas.hand_out(engine, quota_id, member, quantity, user.username, note)
    except WeixiError as exc:
        return _quota_page(request, user, q["period"], exc.status, error=exc)
    audit(engine, user, "quota.handout", member.strip(), {"quota": quota_id, "item": q["item"], "quantity": quantity})
    return RedirectResponse(f"/team/quotas?period={q['period']}&quota={quota_id}", 303)
