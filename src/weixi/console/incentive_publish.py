"""Compute and publish a month's incentive statements from the console (issue 18 §1, the analyst's and the
admin's job): the months whose inputs are in the data folder; for one of them the statements computed now, what
changes against the published version, whether every approval chain has approved; then, for ``incentives:publish``,
a confirmation that publishes (a first version, or a correction with its reason) and is audited.

Thin over :mod:`weixi.incentives.reports` (recompute) and :mod:`weixi.incentives.publication` (publish, diff)."""

from __future__ import annotations

from pathlib import Path as FsPath

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from weixi.console import incentive_inputs, upload_files
from weixi.console.guard import may, page_user
from weixi.console.render import page
from weixi.incentives import approvals, publication, reports
from weixi.incentives.errors import IncentiveError
from weixi.users.service import User, audit

router = APIRouter()
router.include_router(incentive_inputs.router)  # POST /incentives/inputs: upload a month's orders, targets, roster
PATTERN = r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$"


def months_with_inputs(data_dir) -> list[str]:
    """The months whose folder under ``DATA/incentives`` holds at least one plan file, newest first."""
    base = FsPath(data_dir) / "incentives"
    if not base.is_dir():
        return []
    return sorted((p.name for p in base.iterdir() if p.is_dir() and any(p.glob("*.yaml"))), reverse=True)


def _prepare(request: Request, month: str) -> dict:
    """The month computed now, its totals, its difference from the published version and the approval state."""
    engine, data_dir = request.app.state.engine, request.app.state.data_dir
    out: dict = {"month": month, "error": None, "pending": None, "diff": None, "totals": None}
    out["pub"] = publication.published(engine, month)
    try:
        result = reports.recompute(data_dir, month, reports.zone(engine), engine)
    except IncentiveError as exc:  # said in the page's language by its code
        out["error"] = exc
        return out
    statements = result.to_json()
    people = reports.roster(engine, data_dir, month)
    out["totals"] = reports.totals(reports.rows(statements, people))
    out["plans"] = list(result.plans)
    if out["pub"] is not None:
        out["diff"] = publication.diff(engine, result)
    try:
        approvals.require_approved(engine, month, result.chains)
    except IncentiveError as exc:
        out["pending"] = exc
    out["result"] = result
    return out


@router.get("/incentives/publish")
def publish_page(
    request: Request,
    month: str | None = Query(None, pattern=PATTERN),
    user: User = Depends(page_user("incentives:compute")),
):
    return render(request, month, user)


def render(request: Request, month: str | None, user: User, status: int = 200, **extra):
    """The page for ``month`` (None: the newest with inputs); ``extra``: the upload form's values and its result
    or refusal (:mod:`weixi.console.incentive_inputs`)."""
    months = months_with_inputs(request.app.state.data_dir)
    month = month or (months[0] if months else None)
    ctx = _prepare(request, month) if month else {"month": None}
    ctx.pop("result", None)
    return page(
        request,
        "incentive_publish.html",
        user,
        status=status,
        months=months,
        may_publish=may(user, "incentives:publish"),
        input_kinds=incentive_inputs.KINDS,
        max_mb=upload_files.MAX_UPLOAD_MB,
        **{"upload_form": {"month": month or "", "kind": "orders"}, **extra},
        **ctx,
    )


@router.post("/incentives/{month}/publish")
def publish(
    request: Request,
    month: str = Path(pattern=PATTERN),
    reason: str = Form("", max_length=500),
    user: User = Depends(page_user("incentives:publish")),
):
    ctx = _prepare(request, month)
    result = ctx.pop("result", None)
    if result is not None and ctx["pending"] is None:
        try:
            done = publication.publish(
                request.app.state.engine, result, user.username, supersede=ctx["pub"] is not None, reason=reason
            )
        except IncentiveError as exc:
            ctx["error"] = exc
        else:
            audit(
                request.app.state.engine,
                user,
                "incentives.publish",
                month,
                {"version": done["version"], "new": done["new"], "reason": reason or None},
            )
            return RedirectResponse(f"/incentives?month={month}&published={done['version']}", status_code=303)
    months = months_with_inputs(request.app.state.data_dir)
    return page(
        request,
        "incentive_publish.html",
        user,
        status=409,
        months=months,
        may_publish=True,
        input_kinds=incentive_inputs.KINDS,
        max_mb=upload_files.MAX_UPLOAD_MB,
        upload_form={"month": month, "kind": "orders"},
        **ctx,
    )
