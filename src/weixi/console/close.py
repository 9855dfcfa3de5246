"""The monthly close page: the month to close next (the one after the last closed month, proposed when all its
inputs are present; the inputs later months still lack), a confirmation that shows the month, the plan version in
force and what the close writes, then the close as a background job whose progress is watched live (htmx polls the
job every second until it ends) with its result summary; and the summaries of the months already closed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from weixi import i18n
from weixi.close import jobs as close_jobs
from weixi.close import readiness, store
from weixi.close.months import next_month, parse_month
from weixi.close.summaries import with_star_events
from weixi.console.guard import may, page_user
from weixi.console.render import fragment, page
from weixi.errors import Conflict
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
# The close's inputs by name (the archive's tables; ``members`` is the member archive itself).
INPUT_NAMES = {
    "members": N_("Members (CRM archive)"),
    "bills": N_("Monthly bills"),
    "usage": N_("Monthly usage"),
    "recharges": N_("Recharges"),
    "complaints": N_("Complaints"),
    "surveys": N_("Satisfaction surveys"),
    "portout_inquiries": N_("Port-out inquiries"),
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
                "summary": with_star_events(data_dir, month, manifest.get("summary")) or {},
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
    lacking = None
    result = job.get("result") or {}
    if job.get("status") == "succeeded" and result.get("summary"):
        summary = with_star_events(request.app.state.data_dir, job["month"], result["summary"])
        job = {**job, "result": {**result, "summary": summary}}
    if problem is not None:
        job = {**job, "error": render(problem, i18n.locale_of(request)), "problem": problem}
        if problem.code == "close_inputs_missing":  # said by name, not as the loader's English list
            lacking = readiness.inputs_of(request.app.state.data_dir, job["month"])
    titles = {v["version"]: v["name"] for v in plan_service.versions(request.app.state.engine)}
    return {"job": job, "steps": STEP_NAMES, "statuses": STATUS_NAMES, "inputs": INPUT_NAMES, "lacking": lacking,
            "plan_titles": titles}  # fmt: skip


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
    upcoming = readiness.upcoming(state.data_dir)
    proposal = readiness.proposed(upcoming)
    suggested = proposal.month if proposal else (next_month(closed[0]["month"]) if closed else "")
    running = next((j for j in jobs if j["status"] == "running"), None)
    return page(
        request,
        "close.html",
        user,
        closed=closed,
        jobs=jobs,
        suggested=suggested,
        upcoming=upcoming,
        proposal=proposal,
        inputs=INPUT_NAMES,
        running=running,
        may_run=may(user, "close:run"),
        may_load=may(user, "data:load"),
        steps=STEP_NAMES,
        statuses=STATUS_NAMES,
        plan_titles={v["version"]: v["name"] for v in plan_service.versions(state.engine)},
        timezone=tz.key,
    )


@router.get("/close/confirm")
def confirm_page(request: Request, month: str = "", user: User = Depends(page_user("close:run"))):
    """Before a close starts: the month, the plan version in force, the month's inputs and what the close writes;
    a month that cannot close now says why (out of order, already closed, inputs missing) and offers no start."""
    state = request.app.state
    month = parse_month(month.strip())  # a month that is not YYYY-MM: its coded refusal
    closed = store.closed_months(state.data_dir)
    refusal = None
    if month in closed:
        pass  # closing a closed month changes nothing: the page says so
    elif closed and month < closed[-1]:
        refusal = Conflict("close_month_out_of_order", month=month, last=closed[-1])
    elif closed and month != next_month(closed[-1]):
        refusal = Conflict("close_month_skipped", next=next_month(closed[-1]), last=closed[-1])
    version, plan = None, None
    try:
        with state.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            version, plan = plan_service.active_plan(conn)
    except plan_service.NoActivePlan as exc:
        refusal = refusal or exc
    month_inputs = readiness.inputs_of(state.data_dir, month)
    rows = readiness.month_rows(state.data_dir, month) if month_inputs.ready and month not in closed else {}
    return page(
        request,
        "close_confirm.html",
        user,
        month=month,
        already_closed=month in closed,
        refusal=refusal,
        version=version,
        plan=plan,
        month_inputs=month_inputs,
        rows=rows,
        inputs=INPUT_NAMES,
        steps=STEP_NAMES,
        running=next((j for j in close_jobs.recent(state.engine, 5) if j["status"] == "running"), None),
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
