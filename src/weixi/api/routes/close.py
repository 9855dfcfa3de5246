"""The monthly close as a background job: start it, follow its progress, read its result; closed months."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.api.errors import ApiError
from weixi.api.routes.common import engine_of
from weixi.close import jobs as close_jobs
from weixi.close import store
from weixi.users.service import User, audit

router = APIRouter(prefix="/api/close", tags=["close"])


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="The month to close, YYYY-MM.", examples=["2026-10"])


@router.post("/jobs", status_code=202, responses={409: {"description": "a close is already running"},
                                                  422: {"description": "not a month"}})
def start(body: CloseIn, request: Request, user: User = Depends(require("close:run"))) -> dict:
    """Start closing a month in the background: accrual, expiry, history, tiers, segments, snapshot. Follow it
    with GET /api/close/jobs/{id}; a month already closed finishes at once with ``already_closed``."""
    engine = engine_of(request)
    try:
        job = close_jobs.start(engine, request.app.state.data_dir, body.month, user)
    except ValueError as exc:
        raise ApiError(422, str(exc), "invalid_request", [{"in": "body", "field": "month", "message": str(exc)}]) from exc
    except close_jobs.JobConflict as exc:
        raise ApiError(409, str(exc), "close_running", [{"job": exc.job_id}]) from exc
    audit(engine, user, "close.start", body.month, {"job": job["id"]})
    return job


@router.get("/jobs")
def jobs(request: Request, limit: int = Query(20, ge=1, le=200), user: User = Depends(require("close:read"))) -> dict:
    """Recent close jobs, newest first."""
    return {"jobs": close_jobs.recent(engine_of(request), limit)}


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str = Path(min_length=1, max_length=32), user: User = Depends(require("close:read"))) -> dict:
    """A job's status (running, succeeded, refused, failed), progress (step, steps done, rows) and result."""
    found = close_jobs.get(engine_of(request), job_id)
    if found is None:
        raise ApiError(404, f"no close job {job_id}")
    return found


@router.get("/months")
def months(request: Request, user: User = Depends(require("close:read"))) -> dict:
    """Closed months with their summaries (members by tier and segment, points issued, redeemed, expired, liability)."""
    data_dir = request.app.state.data_dir
    out = []
    for month in store.closed_months(data_dir):
        manifest = store.read_manifest(data_dir, month) or {}
        out.append({"month": month, "plan": manifest.get("plan"), "plan_version": manifest.get("plan_version"),
                    "summary": manifest.get("summary")})
    return {"months": out}
