"""The monthly close as a background job: start it, follow its progress, read its result; closed months."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.api.errors import request_locale
from weixi.api.routes.common import engine_of
from weixi.close import jobs as close_jobs
from weixi.close import programme, store
from weixi.close.summaries import with_star_events
from weixi.errors import Where
from weixi.messages import render
from weixi.segments.months import NotAMonth
from weixi.users.service import User, audit

router = APIRouter(prefix="/api/close", tags=["close"])


def _told(request: Request, job: dict) -> dict:
    """A job with a refused or failed job's ``error`` in the caller's language (``error_code`` and ``error_params``
    beside it for programs)."""
    problem = close_jobs.problem_of(job)
    return {**job, "error": render(problem, request_locale(request))} if problem is not None else job


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="The month to close, YYYY-MM.", examples=["2026-10"])


@router.post(
    "/jobs",
    status_code=202,
    responses={409: {"description": "a close is already running"}, 422: {"description": "not a month"}},
)
def start(body: CloseIn, request: Request, user: User = Depends(require("close:run"))) -> dict:
    """Start closing a month in the background: accrual, expiry, history, tiers, segments, snapshot. Follow it
    with GET /api/close/jobs/{id}; a month already closed finishes at once with ``already_closed``."""
    engine = engine_of(request)
    try:
        job = close_jobs.start(engine, request.app.state.data_dir, body.month, user)
    except NotAMonth as exc:
        raise NotAMonth(exc.code, Where(field="month"), **exc.params) from None
    audit(engine, user, "close.start", body.month, {"job": job["id"]})
    return _told(request, job)


@router.get("/jobs")
def jobs(request: Request, limit: int = Query(20, ge=1, le=200), user: User = Depends(require("close:read"))) -> dict:
    """Recent close jobs, newest first."""
    return {"jobs": [_told(request, j) for j in close_jobs.recent(engine_of(request), limit)]}


@router.get("/jobs/{job_id}")
def job(
    request: Request, job_id: str = Path(min_length=1, max_length=32), user: User = Depends(require("close:read"))
) -> dict:
    """A job's status (running, succeeded, refused, failed), progress (step, steps done, rows) and result; a refused
    or failed job's ``error`` in the caller's language, its ``error_code`` and ``error_params``."""
    found = close_jobs.get(engine_of(request), job_id)
    if found is None:
        raise close_jobs.JobNotFound("close_job_not_found", job=job_id)
    return _told(request, found)


@router.get("/months")
def months(request: Request, user: User = Depends(require("close:read"))) -> dict:
    """Closed months with their summaries (members by tier and segment, points issued, redeemed, expired, liability)."""
    data_dir = request.app.state.data_dir
    out = []
    for month in store.closed_months(data_dir):
        manifest = store.read_manifest(data_dir, month) or {}
        out.append(
            {
                "month": month,
                "plan": manifest.get("plan"),
                "plan_version": manifest.get("plan_version"),
                "summary": with_star_events(data_dir, month, manifest.get("summary")),
            }
        )
    return {"months": out}


@router.get("/programme", responses={409: {"description": "no plan applied yet"}, 422: {"description": "not a month"}})
def programme_figures(
    request: Request,
    month: str = Query(description="The month, YYYY-MM.", examples=["2026-10"]),
    budget: int | None = Query(
        None, ge=1, description="The month's points budget: its burn is points issued in the month / budget."
    ),
    user: User = Depends(require("close:read")),
) -> dict:
    """The programme figures for finance of a month: redemption rate (兑换率), breakage (expired and projected),
    the points budget's burn and the conversion rate, each with its numerator and denominator; money in yuan at the
    plan's cost per point. A closed month's are those its close kept (``basis: close``), any other month's are
    counted from the ledger now (``basis: ledger``). See docs/monthly-close.md, "Programme figures"."""
    try:
        return programme.for_month(engine_of(request), request.app.state.data_dir, month, budget)
    except NotAMonth as exc:
        raise NotAMonth(exc.code, Where(field="month"), **exc.params) from None
