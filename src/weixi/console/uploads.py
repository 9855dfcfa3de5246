"""The uploads page (administrators, ``data:load``): load a member, contract, bill, recharge, usage, complaint or
survey export, a loyalty event file or the staff roster with the command line's own loaders
(:mod:`weixi.console.upload_files`), and read the result: rows accepted, rows quarantined with their row, field and
reason in the page's language, and the quarantine report to download (its headers and reasons in the page's
language too). A refused file (too large, wrong type, unreadable encoding, missing columns) comes back beside the
form with its reason; nothing is loaded then.

Every upload is written to the audit log (``data.load``: kind, file, fingerprint, rows, accepted, quarantined);
the page lists the latest ones with their reports.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from weixi import i18n
from weixi.console import upload_files as files
from weixi.console.guard import page_user
from weixi.console.render import page, translator
from weixi.errors import WeixiError
from weixi.messages import hint
from weixi.operations.clock import local
from weixi.plans import service as plan_service
from weixi.users import admin
from weixi.users import service as users
from weixi.users.service import User

router = APIRouter()
LOAD = page_user("data:load")
RECENT = 20
ENCODINGS = ("auto", "utf-8", "gbk")


def _recent(engine, tz) -> list[dict]:
    """The latest uploads from the console (their audit entries), newest first."""
    _, entries = admin.search_audit(engine, admin.AuditFilter(action="data.load"), 1, RECENT)
    return [
        {**(e["detail"] or {}), "file": e["subject"], "by": e["username"],
         "at": local(e["at"], tz).strftime("%Y-%m-%d %H:%M")}
        for e in entries
    ]  # fmt: skip


def _page(request: Request, user: User, status: int = 200, **context):
    engine = request.app.state.engine
    tz = plan_service.plan_zone(engine)
    return page(
        request,
        "uploads.html",
        user,
        status=status,
        kinds=files.KINDS,
        suffixes=files.SUFFIXES,
        encodings=ENCODINGS,
        max_mb=files.MAX_UPLOAD_MB,
        recent=_recent(engine, tz),
        timezone=tz.key,
        form=context.pop("form", {"kind": "members", "encoding": "auto"}),
        **context,
    )


@router.get("/uploads")
def uploads_page(request: Request, user: User = Depends(LOAD)):
    return _page(request, user)


@router.post("/uploads")
async def upload(
    request: Request,
    kind: str = Form("", max_length=32),
    encoding: str = Form("auto", max_length=16),
    data_file: UploadFile | None = File(None),
    user: User = Depends(LOAD),
):
    state = request.app.state
    form = {"kind": kind, "encoding": encoding}
    where = files.workdir()
    try:
        declared = int(request.headers.get("content-length") or 0)
        if declared > files.MAX_UPLOAD_MB * files.CHUNK + 64 * 1024:
            name = files.clean_name(data_file.filename if data_file else None)
            raise files.UploadTooLarge("upload_too_large", file=name, mb=files.MAX_UPLOAD_MB)
        received = await files.receive(data_file, kind, where)
        tz = plan_service.plan_zone(state.engine)
        result = await run_in_threadpool(files.load, kind, received, state.engine, state.data_dir, encoding, tz)
    except WeixiError as exc:
        advice = hint(exc.code, i18n.locale_of(request))
        advice = None if advice and "--" in advice else advice  # a hint about command-line options is not for here
        return _page(request, user, status=exc.status, form=form, error=exc, advice=advice)
    finally:
        files.discard(where)
    detail = {k: result[k] for k in ("kind", "rows", "accepted", "quarantined", "report", "sha256")}
    again = {"already_loaded": True} if result["status"] == "already_loaded" else {}
    users.audit(state.engine, user, "data.load", received.name, {**detail, **again, "via": "console"})
    return _page(request, user, form=form, result=result)


@router.get("/uploads/reports/{name}")
def report(name: str, request: Request, user: User = Depends(LOAD)):
    """The quarantine report in the page's language (headers and reasons), as CSV for Excel."""
    locale = i18n.locale_of(request)
    body = files.translated_report(request.app.state.data_dir, name, locale, translator(request))
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
