"""Campaigns (保客活动) in the console: the list with a month calendar, the editor (upload or paste a campaign file,
check it with every error beside its line, save it as a draft), one campaign's lifecycle with who and when and
its next steps, the approvals queue with its history, the live dashboard while it runs (htmx polls the figures;
ECharts draws the budget burn) and the report with its HTML and PDF downloads and the draws' verification.

Thin adapters over :mod:`weixi.campaigns.service` and :mod:`~weixi.campaigns.report`; the
same permissions as the API (``campaigns:*``)."""

from __future__ import annotations

import calendar
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from weixi import i18n
from weixi.campaigns import report as reports
from weixi.campaigns import service
from weixi.campaigns.errors import CampaignError, CampaignForbidden, CampaignInvalid, CampaignNotFound
from weixi.campaigns.model import Campaign
from weixi.campaigns.stats import SMALL
from weixi.console.guard import may, page_user
from weixi.console.plans import annotate, read_upload
from weixi.console.render import fragment, page, translator
from weixi.errors import Problem
from weixi.i18n import N_
from weixi.messages import render
from weixi.plans.loader import load_plan_text
from weixi.settings import DEFAULT_TIMEZONE
from weixi.users import service as users
from weixi.users.service import User

router = APIRouter()
TZ = ZoneInfo(DEFAULT_TIMEZONE)
POLL_SECONDS = 5
MAX_FILE_CHARS = 500_000
ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

STATUS_NAMES = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "approved": N_("approved"),
    "running": N_("running"),
    "closed": N_("closed"),
    "evaluated": N_("evaluated"),
}
ACTION_NAMES = {
    "create": N_("created"),
    "update": N_("edited"),
    "submit": N_("submitted for approval"),
    "approve": N_("approved"),
    "reject": N_("rejected"),
    "start": N_("started"),
    "close": N_("closed"),
    "evaluate": N_("evaluated"),
}
BUTTONS = {
    "submit": N_("Submit for approval"),
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "start": N_("Start"),
    "close": N_("Close"),
    "evaluate": N_("Evaluate"),
}
# Which actions a status allows, and the permission each needs (weixi.api.permissions).
NEXT = {
    "draft": ("submit",),
    "submitted": ("approve", "reject"),
    "approved": ("start",),
    "running": ("close",),
    "closed": ("evaluate",),
    "evaluated": (),
}
PERMISSION = {
    "submit": "campaigns:edit",
    "approve": "campaigns:approve",
    "reject": "campaigns:approve",
    "start": "campaigns:run",
    "close": "campaigns:run",
    "evaluate": "campaigns:run",
}
LINES = {
    "venue": N_("venue hire"),
    "promotion": N_("promotion"),
    "gifts": N_("gifts and prizes"),
    "staff": N_("staff costs"),
    "catering": N_("catering"),
    "points": N_("points at cost"),
    "operations": N_("operations costs"),
    "other": N_("other costs"),
}


def when(value: str | None, timezone: str | None = None) -> str:
    """A recorded moment (ISO 8601, UTC when it names no offset) as local time in the campaign's zone."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(timezone) if timezone else TZ).strftime("%Y-%m-%d %H:%M:%S")


# The report's notes and units (weixi.campaigns.stats and .report give them as English text): their translations.
REPORT_WORDS = {
    "no control group: the lift cannot be measured": N_("No control group: the lift cannot be measured."),
    "no treatment group": N_("No treatment group: the lift cannot be measured."),
    f"fewer than {SMALL} members in a group: the interval is unreliable": N_(
        "Fewer than 30 members in a group: the interval is unreliable."
    ),
    "the outcome is activity, not money: no ROI (evaluate with outcome: spend for one)": N_(
        "The outcome is activity, not money: there is no return on investment (evaluate spend to get one)."
    ),
    "no cost recorded: ROI undefined": N_("No cost recorded: the return on investment cannot be computed."),
    "yuan per member": N_("yuan per member"),
    "share of members active": N_("share of members active"),
}


def report_words(value: str | None) -> str | None:
    """The message id of one of the report's notes or units, or the value itself when it is not one of them."""
    return REPORT_WORDS.get(value, value) if value else value


WORDS = {
    "statuses": STATUS_NAMES,
    "step_names": ACTION_NAMES,
    "buttons": BUTTONS,
    "lines": LINES,
    "when": when,
    "report_words": report_words,
    "default_tz": TZ.key,  # the zone of when() without a campaign's own
}


def _campaign_id(value: str) -> str:
    """A campaign id from the path; one that cannot be an id is an unknown campaign (the error page, 404)."""
    if not ID.match(value):
        raise CampaignNotFound("unknown_campaign", campaign=value[:64])
    return value


# --- list and calendar ----------------------------------------------------------------------------------------


def month_grid(month: str, campaigns: list[dict]) -> list[list[dict]]:
    """Weeks (Monday first) of ``month``; each day with the campaigns whose window covers it (None outside)."""
    year, mon = int(month[:4]), int(month[5:7])
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, mon):
        weeks.append(
            [
                {
                    "day": d,
                    "in_month": d.month == mon,
                    "campaigns": [c for c in campaigns if c["from"] <= d.isoformat() <= c["to"]],
                }
                for d in week
            ]
        )
    return weeks


def _shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@router.get("/campaigns")
def list_page(
    request: Request, month: str = Query("", max_length=7), user: User = Depends(page_user("campaigns:read"))
):
    engine = request.app.state.engine
    if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", month) or not 1 <= int(month[:4]) <= 9998:
        month = datetime.now(TZ).strftime("%Y-%m")
    rows = service.list_campaigns(engine)
    waiting = sum(1 for r in rows if r["status"] == "submitted")
    return page(
        request,
        "campaigns.html",
        user,
        campaigns=rows,
        month=month,
        weeks=month_grid(month, rows),
        prev=_shift(month, -1),
        next=_shift(month, 1),
        today=datetime.now(TZ).date(),
        waiting=waiting,
        may_edit=may(user, "campaigns:edit"),
        weekdays=_weekdays(request),
        **WORDS,
    )


def _weekdays(request: Request) -> list[str]:
    _ = translator(request)
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


# --- editor -----------------------------------------------------------------------------------------------------


def check(request: Request, text: str, name: str) -> dict:
    """The file checked as ``weixi plan check`` does, its lines with their diagnostics; a plan of another kind is
    an error of the file's first line."""
    _ = translator(request)
    found, diags = load_plan_text(text, name)
    errors = [d for d in diags if d.is_error]
    wrong_kind = found is not None and not isinstance(found, Campaign)
    return {
        "name": name,
        "text": text,
        "ok": isinstance(found, Campaign) and not errors,
        "campaign": found if isinstance(found, Campaign) else None,
        "errors": errors,
        "wrong_kind": wrong_kind,
        "warnings": [d for d in diags if not d.is_error],
        "lines": annotate(text, diags),
    }


def _editor(request: Request, user: User, status: int = 200, **context):
    return page(request, "campaign_editor.html", user, status=status, may_edit=may(user, "campaigns:edit"), **context)


@router.get("/campaigns/new")
def new_page(request: Request, user: User = Depends(page_user("campaigns:edit"))):
    return _editor(request, user)


@router.post("/campaigns/check")
async def check_upload(
    request: Request,
    campaign_file: UploadFile | None = File(None),
    text: str = Form(""),
    editing: str = Form("", max_length=64),
    user: User = Depends(page_user("campaigns:edit")),
):
    source, name = await read_upload(request, campaign_file, text)
    result = await run_in_threadpool(check, request, source, name)  # CPU work: off the event loop
    return _editor(request, user, status=200 if result["ok"] else 422, result=result, editing=editing)


@router.post("/campaigns/save")
def save(
    request: Request,
    text: str = Form(..., max_length=MAX_FILE_CHARS),
    name: str = Form("campaign.yaml", max_length=120),
    editing: str = Form("", max_length=64),
    user: User = Depends(page_user("campaigns:edit")),
):
    engine = request.app.state.engine
    result = check(request, text, name)
    if not result["ok"]:
        return _editor(request, user, status=422, result=result, editing=editing)
    cid = result["campaign"].id
    try:
        if editing:  # a file of another campaign is refused (campaign_file_other_id)
            service.update(engine, editing, text, name, user.username)
        else:
            service.create(engine, text, name, user.username)
    except CampaignError as exc:  # rendered by code in the page's language (|say)
        return _editor(request, user, status=exc.status, result=result, editing=editing, save_error=exc)
    users.audit(
        engine, user, "campaign.update" if editing else "campaign.create", cid, {"file": name, "via": "console"}
    )
    return RedirectResponse(f"/campaigns/{cid}", status_code=303)


@router.get("/campaigns/approvals")
def approvals_page(request: Request, user: User = Depends(page_user("campaigns:read"))):
    data = service.approvals(request.app.state.engine)
    return page(
        request,
        "campaign_approvals.html",
        user,
        waiting=data["waiting"],
        history=data["history"],
        may_approve=may(user, "campaigns:approve"),
        **WORDS,
    )


# --- one campaign: lifecycle and next steps ------------------------------------------------------------------------


def _campaign_page(request: Request, user: User, campaign_id: str, status: int = 200, **context):
    engine = request.app.state.engine
    summary = service.summary(engine, campaign_id)
    actions = [a for a in NEXT[summary["status"]] if may(user, PERMISSION[a])]
    return page(
        request,
        "campaign.html",
        user,
        status=status,
        c=summary,
        actions=actions,
        may_edit=may(user, "campaigns:edit"),
        **WORDS,
        **context,
    )


@router.get("/campaigns/{campaign_id}")
def campaign_page(campaign_id: str, request: Request, user: User = Depends(page_user("campaigns:read"))):
    return _campaign_page(request, user, _campaign_id(campaign_id))


@router.get("/campaigns/{campaign_id}/edit")
def edit_page(campaign_id: str, request: Request, user: User = Depends(page_user("campaigns:edit"))):
    saved = service.file_text(request.app.state.engine, _campaign_id(campaign_id))
    result = check(request, saved["text"], saved["source"].rsplit("/", 1)[-1] or "campaign.yaml")
    return _editor(request, user, result=result, editing=campaign_id if saved["status"] == "draft" else "", saved=saved)


@router.post("/campaigns/{campaign_id}/act")
def act(
    campaign_id: str,
    request: Request,
    action: str = Form(..., max_length=16),
    note: str = Form("", max_length=1000),
    user: User = Depends(page_user("campaigns:read")),
):
    campaign_id = _campaign_id(campaign_id)
    if action not in PERMISSION:
        raise CampaignInvalid("campaign_unknown_action", action=action[:16], actions=list(PERMISSION))
    if not may(user, PERMISSION[action]):
        raise CampaignForbidden(
            "campaign_action_forbidden", role=user.role, campaign_action=action, permission=PERMISSION[action]
        )
    engine = request.app.state.engine
    try:
        service.act(engine, campaign_id, action, user.username, note.strip() or None, None, request.app.state.data_dir)
    except CampaignNotFound:
        raise
    except CampaignError as exc:  # the campaign's page with the refusal, rendered by code in its language (|say)
        return _campaign_page(request, user, campaign_id, status=exc.status, refusal=exc, tried=action)
    users.audit(engine, user, f"campaign.{action}", campaign_id, {"note": note.strip() or None, "via": "console"})
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


# --- live dashboard ------------------------------------------------------------------------------------------------


def _live(request: Request, campaign_id: str) -> dict:
    _ = translator(request)
    data = reports.live(request.app.state.engine, _campaign_id(campaign_id))
    lines = data["budget"]["lines"]
    for part in lines + [data["budget"]]:
        part["burn_pct"] = percent(part["burn"])
    data["chart"] = {
        "title": _("Budget burn (yuan)"),
        "lines": [_(LINES.get(l["line"], l["line"])) for l in lines],
        "planned_name": _("planned"),
        "planned": [l["planned_yuan"] for l in lines],
        "actual_name": _("spent"),
        "actual": [l["actual_yuan"] for l in lines],
    }
    return data


def percent(share: str | None) -> str:
    """A share as people read it: "0.2000" -> "20.0%"; "–" when there is nothing to divide by."""
    return "–" if share is None else f"{(Decimal(share) * 100).quantize(Decimal('0.1'))}%"


@router.get("/campaigns/{campaign_id}/live")
def live_page(campaign_id: str, request: Request, user: User = Depends(page_user("campaigns:read"))):
    return page(request, "campaign_live.html", user, live=_live(request, campaign_id), poll=POLL_SECONDS, **WORDS)


@router.get("/campaigns/{campaign_id}/live/panel")
def live_panel(campaign_id: str, request: Request, user: User = Depends(page_user("campaigns:read"))):
    """The figures block; while the campaign runs it carries the trigger that polls it again."""
    return fragment(request, "_campaign_live.html", live=_live(request, campaign_id), poll=POLL_SECONDS, **WORDS)


# --- report ---------------------------------------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id}/report")
def report_page(campaign_id: str, request: Request, user: User = Depends(page_user("campaigns:read"))):
    engine = request.app.state.engine
    data = reports.report(engine, _campaign_id(campaign_id))
    verified = None
    if data.get("lottery") and data["lottery"].get("seed"):
        verified = reports.verify_draws(engine, campaign_id)
        locale = i18n.locale_of(request)  # each problem in the page's language, by its code
        verified["problems"] = [render(Problem(p["code"], p["params"]), locale) for p in verified["problems"]]
    return page(request, "campaign_report.html", user, r=data, verified=verified, pct=percent, **WORDS)
