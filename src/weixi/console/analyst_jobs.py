"""The analyst's retention jobs in the console: train a churn model, score a month, build the month's target lists
(one job, the steps ticked on the form, run in the background by :mod:`weixi.targets.jobs`); the job's page shows
its progress (htmx polls it every second while it runs) and each step's result."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from weixi import i18n
from weixi.console.guard import page_user
from weixi.console.render import fragment, page
from weixi.i18n import N_
from weixi.messages import render
from weixi.operations.clock import local
from weixi.plans.service import plan_zone
from weixi.targets import jobs
from weixi.users.service import User

router = APIRouter()
STEP_NAMES = {
    "train": N_("train the churn model"),
    "score": N_("score the month"),
    "build": N_("build the target lists"),
}
STATUS_NAMES = {
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "refused": N_("refused"),
    "failed": N_("failed"),
}


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def recent_jobs(request: Request, limit: int = 5) -> list[dict]:
    """The latest jobs with their times in the operator's timezone (for the retention and target pages)."""
    tz = plan_zone(request.app.state.engine)
    return [
        {
            **j,
            "created_local": local(j["created_at"], tz).strftime("%Y-%m-%d %H:%M:%S") if j.get("created_at") else "",
        }
        for j in jobs.recent(request.app.state.data_dir, limit)
    ]


def _context(request: Request, job: dict) -> dict:
    problem = jobs.problem_of(job)
    error = render(problem, i18n.locale_of(request)) if problem is not None else None
    tz = plan_zone(request.app.state.engine)
    when = {
        k: local(job[k], tz).strftime("%Y-%m-%d %H:%M:%S") if job.get(k) else "" for k in ("created_at", "finished_at")
    }
    return {
        "job": job,
        "error": error,
        "steps": STEP_NAMES,
        "statuses": STATUS_NAMES,
        "started_local": when["created_at"],
        "finished_local": when["finished_at"],
        "timezone": tz.key,
    }


@router.post("/retention/jobs")
def start_job(
    request: Request,
    steps: list[str] = Form(default=[]),
    train_month: str | None = Form(None, max_length=7),
    month: str | None = Form(None, max_length=7),
    version: str | None = Form(None, max_length=6),
    user: User = Depends(page_user("churn:train")),
):
    """Start a job of the ticked ``steps``; a running job is shown instead of starting a second one."""
    state = request.app.state
    chosen = _blank(version)
    try:
        job = jobs.start(
            state.engine,
            state.data_dir,
            user,
            [s for s in steps if s in jobs.STEPS],
            _blank(train_month),
            _blank(month),
            int(chosen) if chosen and chosen.isdigit() else None,
        )
    except jobs.AnalystJobConflict as exc:
        return RedirectResponse(f"/retention/jobs/{exc.job_id}", status_code=303)
    return RedirectResponse(f"/retention/jobs/{job['id']}", status_code=303)


@router.get("/retention/jobs/{job_id}")
def job_page(job_id: str, request: Request, user: User = Depends(page_user("churn:train"))):
    return page(request, "analyst_job.html", user, **_context(request, jobs.get(request.app.state.data_dir, job_id)))


@router.get("/retention/jobs/{job_id}/progress")
def job_progress(job_id: str, request: Request, user: User = Depends(page_user("churn:train"))):
    """The job's progress block; while the job runs it carries the trigger that polls it again."""
    return fragment(request, "_analyst_job.html", **_context(request, jobs.get(request.app.state.data_dir, job_id)))
