"""Plans: upload a plan file and check it (errors shown at their lines beside the source), apply it, and the
version history with the exact text of every applied version."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from weixi.console.guard import may, page_user
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


def shown(version: dict, tz: ZoneInfo) -> dict:
    """A version as the pages show it: the time applied in the operator's timezone, and its source as a file name
    (a server path is not shown) with who uploaded it from the console."""
    upload = UPLOAD.match(version.get("source") or "")
    source = upload.group("file") if upload else (version.get("source") or "")
    return {
        **version,
        "applied_local": local(version["applied_at"], tz).strftime("%Y-%m-%d %H:%M:%S"),
        "source_file": source.replace("\\", "/").rsplit("/", 1)[-1],
        "uploaded_by": upload.group("by") if upload else None,
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
def plans_page(request: Request, user: User = Depends(page_user("plans:read"))):
    return _page(request, user)


@router.post("/plans/check")
async def check_upload(
    request: Request,
    plan_file: UploadFile | None = File(None),
    text: str = Form(""),
    user: User = Depends(page_user("plans:check")),
):
    source, name = await read_upload(request, plan_file, text)
    result = await run_in_threadpool(check, source, name)  # CPU work: off the event loop
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
    tz = service.plan_zone(request.app.state.engine)
    return page(
        request, "plan_version.html", user, v=shown(found, tz), timezone=str(tz), lines=annotate(found["content"], [])
    )
