"""Plans: upload (or paste, or start from a version's text) a plan file and check it (errors shown at their lines
beside the source); before applying, what it changes against the version in force (rules, tiers, rewards added,
removed and changed, by name) and a confirmation; the version history with the exact text of every applied version,
and a roll back to an earlier version (its changes shown, confirmed, audited as ``plan.rollback``)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from weixi import i18n
from weixi.console.guard import may, page_user
from weixi.console.plan_diff import plan_diff, summary
from weixi.console.render import page, translator
from weixi.errors import NotFound, WeixiError
from weixi.operations.clock import local
from weixi.plans import service
from weixi.plans.loader import load_plan_text
from weixi.users import service as users
from weixi.users.service import User

router = APIRouter()
MAX_PLAN_BYTES = 512 * 1024


def annotate(text: str, diagnostics) -> list[dict]:
    """The source as numbered lines, each with the diagnostics located on it (past-the-end ones on the last line)."""
    lines = text.splitlines() or [""]
    out = [{"n": i + 1, "text": line, "diags": []} for i, line in enumerate(lines)]
    for d in sorted(diagnostics, key=lambda d: d.sort_key()):
        out[min(max(d.line, 1), len(out)) - 1]["diags"].append(d)
    return out


def check(text: str, name: str) -> dict:
    plan, diags = load_plan_text(text, name)
    errors = [d for d in diags if d.is_error]
    return {
        "name": name,
        "text": text,
        "ok": plan is not None and not errors,
        "plan": plan,
        "errors": errors,
        "warnings": [d for d in diags if not d.is_error],
        "lines": annotate(text, diags),
    }


UPLOAD = re.compile(r"^console upload by (?P<by>[^:]+): (?P<file>.*)$")
ROLLBACK = re.compile(r"^console rollback by (?P<by>[^:]+): version (?P<to>\d+)$")


def in_force(engine):
    """(version, plan) in force, or (None, None) before any plan is applied."""
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            return service.active_plan(conn)
    except service.NoActivePlan:
        return None, None


def changes_to(request: Request, plan) -> dict:
    """What making ``plan`` the plan in force changes, in the page's language: the changes, their counts, the
    version in force and the number the new version would get."""
    engine = request.app.state.engine
    version, active = in_force(engine)
    changes = plan_diff(active, plan, translator(request), i18n.locale_of(request))
    last = max((v["version"] for v in service.versions(engine)), default=0)
    return {"changes": changes, "counts": summary(changes), "active_version": version, "next_version": last + 1,
            "first": active is None}  # fmt: skip


def shown(version: dict, tz: ZoneInfo) -> dict:
    """A version as the pages show it: the time applied in the operator's timezone, and its source as a file name
    (a server path is not shown) with who uploaded it from the console."""
    upload = UPLOAD.match(version.get("source") or "")
    rollback = ROLLBACK.match(version.get("source") or "")
    source = upload.group("file") if upload else ("" if rollback else (version.get("source") or ""))
    return {
        **version,
        "applied_local": local(version["applied_at"], tz).strftime("%Y-%m-%d %H:%M:%S"),
        "source_file": source.replace("\\", "/").rsplit("/", 1)[-1],
        "uploaded_by": upload.group("by") if upload else None,
        "rolled_back_by": rollback.group("by") if rollback else None,
        "rolled_back_to": int(rollback.group("to")) if rollback else None,
    }


def _page(request: Request, user: User, status: int = 200, **context):
    state = request.app.state
    tz = service.plan_zone(state.engine)
    return page(
        request,
        "plans.html",
        user,
        status=status,
        versions=[shown(v, tz) for v in service.versions(state.engine)],
        timezone=str(tz),
        may_check=may(user, "plans:check"),
        may_apply=may(user, "plans:apply"),
        done=request.query_params.get("done", ""),
        **context,
    )


class UploadTooLarge(WeixiError):
    status = 413


async def read_upload(request: Request, upload: UploadFile | None, text: str) -> tuple[str, str]:
    if upload is not None and upload.filename:
        raw = await upload.read(MAX_PLAN_BYTES + 1)
        name = upload.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:120] or "plan.yaml"
    else:
        raw, name = text.encode("utf-8"), "pasted.yaml"
    if not raw.strip():
        raise WeixiError("plan_upload_empty")
    if len(raw) > MAX_PLAN_BYTES:
        raise UploadTooLarge("plan_upload_too_large", kb=MAX_PLAN_BYTES // 1024)
    try:
        return raw.decode("utf-8-sig"), name
    except UnicodeDecodeError as exc:
        raise WeixiError("plan_upload_not_utf8", pos=exc.start) from None


@router.get("/plans")
def plans_page(request: Request, edit: int | None = None, user: User = Depends(page_user("plans:read"))):
    """The plans page; ``edit=N`` puts version N's text in the editor, to change it and check it."""
    draft = None
    if edit is not None and may(user, "plans:check"):
        found = service.version(request.app.state.engine, edit)
        if found is None:
            raise NotFound("plan_version_not_found", version=edit)
        draft = {"version": edit, "text": found["content"]}
    return _page(request, user, draft=draft)


@router.post("/plans/check")
async def check_upload(
    request: Request,
    plan_file: UploadFile | None = File(None),
    text: str = Form(""),
    user: User = Depends(page_user("plans:check")),
):
    source, name = await read_upload(request, plan_file, text)
    result = await run_in_threadpool(check, source, name)  # CPU work: off the event loop
    if result["ok"]:
        result.update(changes_to(request, result["plan"]))
    return _page(request, user, status=200 if result["ok"] else 422, result=result)


@router.post("/plans/apply")
def apply(
    request: Request,
    text: str = Form(..., max_length=MAX_PLAN_BYTES),
    name: str = Form("plan.yaml", max_length=120),
    user: User = Depends(page_user("plans:apply")),
):
    _ = translator(request)
    engine = request.app.state.engine
    result = check(text, name)
    if not result["ok"]:
        return _page(request, user, status=422, result=result)
    try:
        applied = service.apply_plan_text(engine, text, f"console upload by {user.username}: {name}", name)
    except service.PlanError as exc:
        result["errors"] = result["errors"] + list(exc.diagnostics)
        return _page(request, user, status=409, result=result, apply_error=exc)
    users.audit(
        engine,
        user,
        "plan.apply",
        applied.plan_id,
        {"version": applied.version, "sha256": applied.sha256, "new": applied.new, "file": name},
    )
    message = (
        _("Applied: plan %(plan)s is now version %(version)s.")
        if applied.new
        else _("Nothing changed: this text is already the active version %(version)s.")
    ) % {"plan": result["plan"].name, "version": applied.version}
    return _page(request, user, applied=applied, message=message)


@router.get("/plans/{number}")
def version_page(number: int, request: Request, user: User = Depends(page_user("plans:read"))):
    found = service.version(request.app.state.engine, number)
    if found is None:
        raise NotFound("plan_version_not_found", version=number)
    return _version(request, user, found)


def _version(request: Request, user: User, found: dict, status: int = 200, **context):
    """A version's page; for a version not in force, what rolling back to it would change."""
    engine = request.app.state.engine
    tz = service.plan_zone(engine)
    to = None
    if not found["active"] and may(user, "plans:apply"):
        plan, _ = load_plan_text(found["content"], f"v{found['version']}.yaml")
        to = changes_to(request, plan) if plan is not None else None
    return page(
        request,
        "plan_version.html",
        user,
        status=status,
        v=shown(found, tz),
        timezone=str(tz),
        lines=annotate(found["content"], []),
        rollback=to,
        may_edit=may(user, "plans:check"),
        **context,
    )


@router.post("/plans/{number}/rollback")
def rollback(number: int, request: Request, user: User = Depends(page_user("plans:apply"))):
    """Make version ``number`` the plan in force again: its text is applied as a new version (the history keeps
    every version), audited as ``plan.rollback``."""
    engine = request.app.state.engine
    found = service.version(engine, number)
    if found is None:
        raise NotFound("plan_version_not_found", version=number)
    before, _ = in_force(engine)
    try:
        applied = service.apply_plan_text(
            engine, found["content"], f"console rollback by {user.username}: version {number}", f"v{number}.yaml"
        )
    except service.PlanError as exc:
        return _version(request, user, found, status=exc.status, rollback_error=exc)
    users.audit(
        engine,
        user,
        "plan.rollback",
        applied.plan_id,
        {"from_version": before, "to_version": number, "version": applied.version, "new": applied.new},
    )
    return RedirectResponse(f"/plans?done=rollback&version={applied.version}&to={number}", status_code=303)
