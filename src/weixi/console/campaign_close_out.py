"""The campaign close-out from the report page (issue 20 §10, without the command line): turn the follow-ups into
tasks in the operations queue, add an incident to the log (time, what happened, who, action taken) and record what
became of each risk of the plan's register. Each is ``campaigns:run`` and audited, as in the API
(``/api/campaigns/{id}/follow-ups|incidents|risks/{risk}/outcome``); a refusal shows on the report page, in its
language, beside the close-out."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse

from weixi.campaigns import incidents
from weixi.campaigns import report as reports
from weixi.console.guard import page_user
from weixi.errors import Invalid, WeixiError
from weixi.users.service import User, audit

router = APIRouter()
CAMPAIGN = Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
RISK = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _back(campaign_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/campaigns/{campaign_id}/report?done={done}#close-out", status_code=303)


def _refused(request: Request, user: User, campaign_id: str, exc: WeixiError):
    from weixi.console.campaigns import report_page

    response = report_page(campaign_id, request, user, close_out_error=exc)
    response.status_code = exc.status if isinstance(exc.status, int) else 422
    return response


@router.post("/campaigns/{campaign_id}/follow-ups")
def follow_ups(request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(page_user("campaigns:run"))):
    engine = request.app.state.engine
    try:
        out = reports.follow_up_tasks(engine, campaign_id, request.app.state.data_dir)
    except WeixiError as exc:
        return _refused(request, user, campaign_id, exc)
    audit(engine, user, "campaign.follow_ups", campaign_id, {"tasks": out["new_in_queue"]})
    return _back(campaign_id, f"follow_ups:{out['new_in_queue']}")


@router.post("/campaigns/{campaign_id}/incidents")
def incident(
    request: Request,
    campaign_id: str = CAMPAIGN,
    occurred_at: str = Form("", max_length=32),
    what: str = Form("", max_length=2000),
    who: str = Form("", max_length=128),
    action: str = Form("", max_length=2000),
    user: User = Depends(page_user("campaigns:run")),
):
    engine = request.app.state.engine
    try:
        zone = ZoneInfo(reports.report(engine, campaign_id)["close_out"]["timezone"])
        try:
            at = datetime.fromisoformat(occurred_at).replace(tzinfo=zone)  # the form's local time, in the plan's zone
        except ValueError:
            raise Invalid("campaign_incident_time_unreadable", value=occurred_at[:32]) from None
        out = incidents.record_incident(engine, campaign_id, at, what, who, action, user.username)
    except WeixiError as exc:
        return _refused(request, user, campaign_id, exc)
    audit(engine, user, "campaign.incident", campaign_id, {"id": out["id"], "what": out["what"]})
    return _back(campaign_id, "incident")


@router.post("/campaigns/{campaign_id}/risks/{risk_id}")
def risk_outcome(
    request: Request,
    campaign_id: str = CAMPAIGN,
    risk_id: str = RISK,
    outcome: str = Form("", max_length=32),
    note: str = Form("", max_length=2000),
    user: User = Depends(page_user("campaigns:run")),
):
    engine = request.app.state.engine
    try:
        incidents.record_risk_outcome(engine, campaign_id, risk_id, outcome, note or None, user.username)
    except WeixiError as exc:
        return _refused(request, user, campaign_id, exc)
    audit(engine, user, "campaign.risk_outcome", campaign_id, {"risk": risk_id, "outcome": outcome})
    return _back(campaign_id, "risk")
