"""The monthly close page: start a close (a background job), watch its progress live (htmx polls the job every
second until it ends), read the result summary; and the summaries of the months already closed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from weixi import i18n
from weixi.close import jobs as close_jobs
from weixi.close import store
from weixi.close.months import next_month
from weixi.console.guard import may, page_user
from weixi.console.render import fragment, page
from weixi.i18n import N_
from weixi.messages import render
from weixi.operations.clock import local
from weixi.plans import service as plan_service
from weixi.users.service import User

router = APIRouter()
STEP_NAMES = {
    "accrual": N_("accrual of bills and recharges"),
    "expiry": N_("expiry"),
    "history": N_("monthly history"),
    "tiers": N_("tier evaluation"),
    "segments": N_("segmentation"),
    "snapshot": N_("member snapshot"),
    "search_index": N_("member search index"),
}
STATUS_NAMES = {
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "refused": N_("refused"),
    "failed": N_("failed"),
}


def _closed(data_dir) -> list[dict]:
    out = []
    for month in reversed(store.closed_months(data_dir)):
        manifest = store.read_manifest(data_dir, month) or {}
        out.append(
            {
                "month": month,
                "summary": manifest.get("summary", {}),
                "plan": manifest.get("plan"),
                "plan_version": manifest.get("plan_version"),
                "wall_seconds": manifest.get("wall_seconds"),
            }
        )
    return out


def _job_or_404(request: Request, job_id: str) -> dict:
    job = close_jobs.get(request.app.state.engine, job_id) if len(job_id) <= 64 else None
    if job is None:
        raise close_jobs.JobNotFound("close_job_not_found", job=job_id[:64])
    return job


def _context(request: Request, job: dict) -> dict:
    """The job for its page: a refused or failed job's error in the page's language (from its code)."""
    problem = close_jobs.problem_of(job)
    if problem is not None:
        job = {**job, "error": render(problem, i18n.locale_of(request)), "problem": problem}
    return {"job": job, "steps": STEP_NAMES, "statuses": STATUS_NAMES}


def _local(moment, tz) -> str:
    """A job's recorded moment (UTC) in the operator's timezone."""
    return local(moment, tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


@router.get("/close")
def close_page(request: Request, user: User = Depends(page_user("close:read"))):
    state = request.app.state
    closed = _closed(state.data_dir)
    tz = plan_service.plan_zone(state.engine)
    jobs = [
        {**j, "started_local": _local(j.get("started_at"), tz), "finished_local": _local(j.get("finished_at"), tz)}
        for j in close_jobs.recent(state.engine, 10)
    ]
    suggested = next_month(closed[0]["month"]) if closed else ""
    running = next((j for j in jobs if j["status"] == "running"), None)
    return page(
        request,
        "close.html",
        user,
        closed=closed,
        jobs=jobs,
        suggested=suggested,
        running=running,
        may_run=may(user, "close:run"),
        steps=STEP_NAMES,
        statuses=STATUS_NAMES,
        plan_titles={v["version"]: v["name"] for v in plan_service.versions(state.engine)},
        timezone=tz.key,
    )


@router.post("/close")
def start_close(request: Request, month: str = Form(..., max_length=7), user: User = Depends(page_user("close:run"))):
    state = request.app.state
    try:  # a month that is not YYYY-MM is refused with its code (the error page, in the page's language)
        job = close_jobs.start(state.engine, state.data_dir, month.strip(), user)
    except close_jobs.JobConflict as exc:
        return RedirectResponse(f"/close/jobs/{exc.job_id}", status_code=303)
    return RedirectResponse(f"/close/jobs/{job['id']}", status_code=303)


@router.get("/close/jobs/{job_id}")
def job_page(job_id: str, request: Request, user: User = Depends(page_user("close:read"))):
    return page(request, "close_job.html", user, **_context(request, _job_or_404(request, job_id)))


@router.get("/close/jobs/{job_id}/progress")
def job_progress(job_id: str, request: Request, user: User = Depends(page_user("close:read"))):
    """The job's progress block; while the job runs it carries the trigger that polls it again."""
    return fragment(request, "_close_job.html", **_context(request, _job_or_404(request, job_id)))
