"""Staff incentive statements: one's own, a manager's team, everyone's (analysts), leaderboards and totals by
business, the payroll export, recompute and diff against the published month, publication and the award
workflow. A login's staff id is its ``staff_id``, else its username; teams come from the roster
(:mod:`weixi.incentives.reports`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.api.errors import request_locale, weixi_error
from weixi.api.routes.common import engine_of
from weixi.incentives import publication, reports
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveError, IncentiveNotFound, NotVisible
from weixi.incentives.inputs import InputError
from weixi.messages import render
from weixi.plans.diagnostics import CODE
from weixi.users.service import User, audit

router = APIRouter(prefix="/api/incentives", tags=["incentives"])

MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The month, YYYY-MM.", examples=["2016-01"])
STAFF = Path(min_length=1, max_length=128, description="Staff id (揽装人), e.g. S000003.")
TEAM = Query(None, min_length=1, max_length=64, description="Only this roster team (a manager: their own).")
PERIOD = Query(pattern=r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$", description="YYYY-MM, YYYY-Qn, or YYYY for yearly plans.")


def _with_details(request: Request, exc: IncentiveError):
    """The envelope of ``exc`` with its located problems as ``details``: a plan's diagnostics (file, line,
    column, code) or an input file's bad rows (file, row, column, code), each in the caller's language."""
    locale = request_locale(request)
    answer = weixi_error(exc, locale)
    found = [*exc.diagnostics, *getattr(exc, "problems", [])]
    answer.details = [{**p.to_json(), "message": render(p, locale) if CODE.match(p.code) else p.code} for p in found]
    return answer


def _published(request: Request, month: str) -> dict:
    found = publication.published(engine_of(request), month)
    if found is None:
        raise IncentiveNotFound("incentive_statements_not_published", month=month)
    return found


def _people(request: Request, month: str) -> dict:
    try:
        return reports.roster(engine_of(request), request.app.state.data_dir, month)
    except InputError as exc:  # a bad roster file: say which file and rows
        raise _with_details(request, exc) from exc


def _statement(month: str, pub: dict, people: dict, staff_id: str) -> dict:
    s = pub["statements"]["staff"].get(staff_id)
    if s is None:
        raise IncentiveNotFound("incentive_no_statement", staff=staff_id, month=month)
    p = people.get(staff_id) or {}
    return {
        "month": month,
        "staff_id": staff_id,
        "name": p.get("name"),
        "team": p.get("team"),
        "version": pub["version"],
        "published_by": pub["published_by"],
        "published_at": pub["published_at"],
        **s,
    }


@router.get("/months")
def months(request: Request, user: User = Depends(require("incentives:read_own"))) -> dict:
    """Months with published statements, newest first, with their latest version."""
    return {"months": reports.published_months(engine_of(request))}


@router.get("/{month}/me")
def mine(request: Request, month: str = MONTH, user: User = Depends(require("incentives:read_own"))) -> dict:
    """The caller's own published statement (the login's staff id, else its username): units, KPI points, bonus,
    explanation lines and excluded orders."""
    pub = _published(request, month)
    return _statement(month, pub, _people(request, month), user.staff)


@router.get("/{month}/statements/{staff_id}")
def statement(
    request: Request, month: str = MONTH, staff_id: str = STAFF, user: User = Depends(require("incentives:read_own"))
) -> dict:
    """One published statement: one's own; a manager's team member's; anyone's for analysts (else 403)."""
    pub = _published(request, month)
    people = _people(request, month)
    if not reports.may_see(user, people, staff_id):
        raise NotVisible("incentive_statement_not_visible", user=user.username, role=user.role, staff=staff_id)
    return _statement(month, pub, people, staff_id)


@router.get("/{month}/statements")
def statements(
    request: Request, month: str = MONTH, team: str | None = TEAM, user: User = Depends(require("incentives:read_team"))
) -> dict:
    """Every statement the caller may see (a manager: their team), ranked by bonus, with totals."""
    pub = _published(request, month)
    people = _people(request, month)
    chosen_team, ids = reports.scope(user, people, team)
    table = reports.rows(pub["statements"], people, ids)
    return {
        "month": month,
        "version": pub["version"],
        "team": chosen_team,
        "staff": table,
        "totals": reports.totals(table),
        "rejected": pub["statements"]["rejected"] if ids is None else [],
    }


@router.get("/{month}/leaderboard")
def leaderboard(
    request: Request,
    month: str = MONTH,
    team: str | None = TEAM,
    limit: int = Query(20, ge=1, le=1000),
    user: User = Depends(require("incentives:read_team")),
) -> dict:
    """The top staff by bonus (then KPI points) and units and yuan by business, within the caller's scope."""
    pub = _published(request, month)
    people = _people(request, month)
    chosen_team, ids = reports.scope(user, people, team)
    table = reports.rows(pub["statements"], people, ids)
    return {
        "month": month,
        "version": pub["version"],
        "team": chosen_team,
        "top": table[:limit],
        "by_business": reports.by_business(pub["statements"], ids),
        "totals": reports.totals(table),
    }


@router.get(
    "/{month}/export",
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    },
)
def export(
    request: Request,
    month: str = MONTH,
    format: Literal["csv", "xlsx"] = Query("csv"),
    team: str | None = TEAM,
    user: User = Depends(require("incentives:read_all")),
) -> Response:
    """The published statements for payroll: CSV (one row per employee, UTF-8 with BOM, column ids) or XLSX
    (sheets statements, lines, excluded, rejected, duplicates; Chinese headers, roles by name, every line and
    reason said in Chinese)."""
    pub = _published(request, month)
    _, ids = reports.scope(user, _people(request, month), team)
    data = reports.export_bytes(pub["statements"], format, ids)
    media = (
        "text/csv; charset=utf-8"
        if format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    audit(engine_of(request), user, "incentives.export", month, {"format": format, "team": team})
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="incentives-{month}.{format}"'}
    )


def _recompute(request: Request, month: str) -> svc.MonthResult:
    """The month computed from its folder, its orders' days in the active points plan's timezone."""
    try:
        engine = engine_of(request)
        return reports.recompute(request.app.state.data_dir, month, reports.zone(engine), engine)
    except IncentiveError as exc:
        raise _with_details(request, exc) from exc


@router.post("/{month}/compute")
def compute(request: Request, month: str = MONTH, user: User = Depends(require("incentives:compute"))) -> dict:
    """Compute the month from its plans and inputs in the data directory (``DATA/incentives/YYYY-MM/``) and
    return the statements (the shape of ``weixi incentives compute --json``); nothing is stored."""
    return _recompute(request, month).to_json()


@router.get("/{month}/diff")
def diff(request: Request, month: str = MONTH, user: User = Depends(require("incentives:compute"))) -> dict:
    """Recompute the month (e.g. with late orders) and show, staff by staff, what differs from the published
    statements. Changes nothing."""
    pub = _published(request, month)
    result = _recompute(request, month)
    out = publication.diff(engine_of(request), result)
    out["published_version"] = pub["version"] if out.get("published_version") is None else out["published_version"]
    return out


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    supersede: bool = Field(False, description="Publish a correction as a new version (needs a reason).")
    reason: str | None = Field(None, min_length=1, max_length=500, description="Why a correction is published.")


@router.post(
    "/{month}/publish",
    status_code=201,
    responses={
        200: {"description": "already published as is"},
        409: {"description": "published already, or inputs missing"},
        422: {"description": "a bad plan or input file"},
    },
)
def publish(
    request: Request,
    response: Response,
    month: str = MONTH,
    body: PublishIn | None = None,
    user: User = Depends(require("incentives:publish")),
) -> dict:
    """Compute the month from its inputs and publish it, recording who and when. A published month is never
    changed silently: a correction needs ``supersede`` and a ``reason`` and becomes a new version."""
    body = body or PublishIn()
    result = _recompute(request, month)
    out = publication.publish(engine_of(request), result, user.username, body.supersede, body.reason)
    if out["new"]:
        audit(engine_of(request), user, "incentives.publish", month, {"version": out["version"]})
    else:
        response.status_code = 200
    return out


# --- awards: nomination -> committee review -> leadership approval -> publication -------------------------


class NominationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(
        pattern=r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$", description="YYYY-MM, YYYY-Qn, or YYYY for yearly plans."
    )
    staff_id: str = Field(min_length=1, max_length=128)
    award: str = Field(min_length=1, max_length=64)
    letter: str | None = Field(None, min_length=1, max_length=20_000, description="The nomination letter.")
    form: dict[str, Any] | None = Field(None, description="Or a nomination form.")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accept", "reject"] = "accept"
    note: str | None = Field(None, max_length=2000)


class PeriodIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period: str = Field(pattern=r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]))?$")


@router.get("/awards")
def awards(request: Request, period: str = PERIOD, user: User = Depends(require("incentives:read_all"))) -> dict:
    """The period's nominations with every step: who, when, decision, note."""
    return {"period": period, "nominations": publication.nominations(engine_of(request), period)}


@router.post("/awards", status_code=201)
def nominate(body: NominationIn, request: Request, user: User = Depends(require("incentives:nominate"))) -> dict:
    """Nominate a staff member for an award with a letter or a form (the first workflow step)."""
    nid = publication.nominate(
        engine_of(request), body.period, body.staff_id, body.award, user.username, body.letter, body.form
    )
    return {"nomination_id": nid, "status": "nominated"}


def _decide(request: Request, nomination_id: str, step: str, body: DecisionIn, user: User) -> dict:
    """One workflow step; an unknown nomination is a 404, a step out of order a 409 (by the error's class)."""
    status = publication.decide(engine_of(request), nomination_id, step, body.decision, user.username, body.note)
    return {"nomination_id": nomination_id, "status": status}


NOMINATION = Path(min_length=1, max_length=64)


@router.post("/awards/{nomination_id}/review")
def review(
    request: Request,
    nomination_id: str = NOMINATION,
    body: DecisionIn | None = None,
    user: User = Depends(require("incentives:review")),
) -> dict:
    """Committee review of a nomination (accept or reject, with a note)."""
    return _decide(request, nomination_id, "committee_review", body or DecisionIn(), user)


@router.post("/awards/{nomination_id}/approve")
def approve(
    request: Request,
    nomination_id: str = NOMINATION,
    body: DecisionIn | None = None,
    user: User = Depends(require("incentives:publish")),
) -> dict:
    """Leadership approval of a reviewed nomination."""
    return _decide(request, nomination_id, "leadership_approval", body or DecisionIn(), user)


@router.post("/awards/publication")
def publish_awards(body: PeriodIn, request: Request, user: User = Depends(require("incentives:publish"))) -> dict:
    """Publish every approved nomination of the period."""
    return {
        "period": body.period,
        "published": publication.publish_awards(engine_of(request), body.period, user.username),
    }


# --- approval chains of the month's pay (weixi.api.routes.incentive_approvals) ---------------------------------

from weixi.api.routes import incentive_approvals  # noqa: E402 - its routes join this router, after the ones above

router.routes.extend(incentive_approvals.router.routes)  # already under /api/incentives: one router, one route list
