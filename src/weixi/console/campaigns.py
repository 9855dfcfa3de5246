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
from weixi.campaigns.errors import CampaignError, CampaignNotFound
from weixi.campaigns.stats import SMALL
from weixi.console import campaign_actions, campaign_close_out, campaign_form
from weixi.console.campaign_actions import BUTTONS, CONFIRM, NEXT, PERMISSION, allowed, checked_id
from weixi.console.campaign_form import LINES, check, form_page, yaml_page
from weixi.console.guard import may, page_user
from weixi.console.plans import read_upload
from weixi.console.render import fragment, page, translator
from weixi.errors import Problem
from weixi.i18n import N_
from weixi.messages import render
from weixi.settings import DEFAULT_TIMEZONE
from weixi.users import service as users
from weixi.users.service import User

router = APIRouter()
router.include_router(campaign_form.router)
router.include_router(campaign_actions.router)
router.include_router(campaign_close_out.router)
TZ = ZoneInfo(DEFAULT_TIMEZONE)
POLL_SECONDS = 5
MAX_FILE_CHARS = 500_000

STATUS_NAMES = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "approved": N_("approved"),
    "running": N_("running"),
    "closed": N_("closed"),
    "evaluated": N_("evaluated"),
    "cancelled": N_("cancelled"),
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
    "cancel": N_("cancelled"),
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
    "confirm": CONFIRM,
    "lines": LINES,
    "when": when,
    "report_words": report_words,
    "default_tz": TZ.key,  # the zone of when() without a campaign's own
}


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


def _editor(request: Request, user: User, status: int = 200, **context):
    return yaml_page(request, user, status=status, **context)


@router.get("/campaigns/new")
def new_page(
    request: Request, view: str = Query("form", max_length=8), user: User = Depends(page_user("campaigns:edit"))
):
    """A new campaign: the form (``?view=yaml``: the YAML tab, to upload or paste a file)."""
    if view == "yaml":
        return _editor(request, user)
    return form_page(request, user, "")


@router.post("/campaigns/check")
async def check_upload(
    request: Request,
    campaign_file: UploadFile | None = File(None),
    text: str = Form(""),
    editing: str = Form("", max_length=64),
    user: User = Depends(page_user("campaigns:edit")),
):
    source, name = await read_upload(request, campaign_file, text)
    result = await run_in_threadpool(check, source, name)  # CPU work: off the event loop
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
    result = check(text, name)
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
    return _campaign_page(request, user, checked_id(campaign_id))


@router.get("/campaigns/{campaign_id}/edit")
def edit_page(
    campaign_id: str,
    request: Request,
    view: str = Query("form", max_length=8),
    user: User = Depends(page_user("campaigns:edit")),
):
    """A saved campaign in the form (``?view=yaml``: the YAML tab); only a draft can be changed."""
    saved = service.file_text(request.app.state.engine, checked_id(campaign_id))
    name = saved["source"].replace("\\", "/").rsplit("/", 1)[-1] or f"{campaign_id}.yaml"
    result = check(saved["text"], name)
    editing = campaign_id if saved["status"] == "draft" else ""
    if view == "yaml":
        return _editor(request, user, result=result, editing=editing, saved=saved)
    return form_page(request, user, saved["text"], 200, editing, name, result, checked=True, saved=saved)


@router.post("/campaigns/{campaign_id}/act")
def act(
    campaign_id: str,
    request: Request,
    action: str = Form(..., max_length=16),
    note: str = Form("", max_length=1000),
    user: User = Depends(page_user("campaigns:read")),
):
    campaign_id = checked_id(campaign_id)
    allowed(user, action)
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
    data = reports.live(request.app.state.engine, checked_id(campaign_id))
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
def report_route(
    campaign_id: str,
    request: Request,
    done: str = Query("", max_length=64),
    user: User = Depends(page_user("campaigns:read")),
):
    return report_page(campaign_id, request, user, done=done)


def report_page(campaign_id: str, request: Request, user: User, **extra):
    """The report page (``extra``: the close-out's notice ``done`` or refusal ``close_out_error``)."""
    engine = request.app.state.engine
    data = reports.report(engine, checked_id(campaign_id))
    verified = None
    if data.get("lottery") and data["lottery"].get("seed"):
        verified = reports.verify_draws(engine, campaign_id)
        locale = i18n.locale_of(request)  # each problem in the page's language, by its code
        verified["problems"] = [render(Problem(p["code"], p["params"]), locale) for p in verified["problems"]]
    return page(
        request,
        "campaign_report.html",
        user,
        r=data,
        verified=verified,
        pct=percent,
        may_run=may(user, "campaigns:run"),
        **WORDS,
        **extra,
    )
