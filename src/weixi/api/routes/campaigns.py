"""Campaigns (保客活动): create from a campaign file with located errors, the lifecycle with who and when, draws
(a member login draws only for itself), chances, stock, leaderboard, the live figures, the referral review queue,
the report as JSON, HTML or PDF, and the draws' export and verification.

Thin adapters over :mod:`weixi.campaigns.service`, :mod:`~weixi.campaigns.referral_service` and
:mod:`~weixi.campaigns.report`; who acts is the logged-in user's username. Refusals are coded errors
(:mod:`weixi.campaigns.errors`) that reach the client as the error envelope with the status of their kind.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import own_member, require
from weixi.api.errors import request_locale, weixi_error
from weixi.api.routes.common import ID, engine_of
from weixi.campaigns import lottery_service, service
from weixi.campaigns import referral_service as referrals
from weixi.campaigns import report as reports
from weixi.campaigns.errors import CampaignFileInvalid
from weixi.users.service import User, audit

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
MAX_FILE_CHARS = 500_000
CAMPAIGN = Path(
    min_length=1, max_length=64, description="Campaign id (the file's `campaign:` key).", examples=["anniversary-draw"]
)
REFUSED = {
    404: {"description": "unknown campaign (or member, prize, referral)"},
    409: {"description": "refused: the code and params say why"},
}


def _checked_file(request: Request, fn, *args):
    """A create or update: a file with errors is refused (422) with each error, located, in ``details``."""
    try:
        return fn(*args)
    except CampaignFileInvalid as exc:
        error = weixi_error(exc, request_locale(request))
        error.details = [d.to_json() for d in exc.diagnostics]
        raise error from None


class CampaignFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        min_length=1, max_length=MAX_FILE_CHARS, description="The campaign file (YAML, `kind: campaign`)."
    )
    filename: str = Field(
        "campaign.yaml",
        min_length=1,
        max_length=200,
        pattern=r"^[^/\\\x00]+$",
        description="Name shown in diagnostics (file:line:col) and kept as the campaign's source.",
    )


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, min_length=1, max_length=1000, description="Why (required to reject or cancel).")


class DrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: str = Field(min_length=1, max_length=128)
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Idempotency key, the member's own: a retry with the same key returns "
        "the same draw; another member's same key is another draw.",
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool = Field(description="true: approved (rewarded once qualified); false: rejected, never rewarded.")
    note: str | None = Field(None, max_length=1000)


@router.get("")
def list_(request: Request, user: User = Depends(require("campaigns:read"))) -> dict:
    """Every campaign with its window, status and creator, by start date (the calendar's data)."""
    return {"campaigns": service.list_campaigns(engine_of(request))}


@router.post(
    "",
    status_code=201,
    responses={
        409: {"description": "a campaign with this id exists"},
        422: {"description": "the file has errors: details hold each with file, line and column"},
    },
)
def create(body: CampaignFile, request: Request, user: User = Depends(require("campaigns:edit"))) -> dict:
    """Create a draft from a campaign file. A file with errors is refused with every error located in ``details``
    (``file``, ``line``, ``column``, ``severity``, ``message``), as ``weixi plan check`` prints them."""
    engine = engine_of(request)
    out = _checked_file(request, service.create, engine, body.text, body.filename, user.username)
    audit(engine, user, "campaign.create", out["campaign_id"], {"filename": body.filename})
    return out


@router.put("/{campaign_id}", responses={**REFUSED, 422: {"description": "the file has errors (located)"}})
def update(
    body: CampaignFile, request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:edit"))
) -> dict:
    """Replace a draft's file (only a draft; a rejected submission is a draft again)."""
    engine = engine_of(request)
    out = _checked_file(request, service.update, engine, campaign_id, body.text, body.filename, user.username)
    audit(engine, user, "campaign.update", campaign_id, {"filename": body.filename})
    return out


@router.get("/{campaign_id}", responses=REFUSED)
def show(request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))) -> dict:
    """Status, every lifecycle step with who and when, audience sizes, draws, the draw commitment (and the seed
    once the campaign is closed)."""
    return service.summary(engine_of(request), campaign_id)


@router.get("/{campaign_id}/file", responses=REFUSED)
def file(request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))) -> dict:
    """The campaign file as it was saved (the text the engine runs)."""
    return service.file_text(engine_of(request), campaign_id)


def _act(request: Request, campaign_id: str, action: str, body: StepIn | None, user: User) -> dict:
    engine = engine_of(request)
    note = body.note if body else None
    out = service.act(engine, campaign_id, action, user.username, note, None, request.app.state.data_dir)
    audit(engine, user, f"campaign.{action}", campaign_id, {"note": note} if note else {})
    return out


@router.post("/{campaign_id}/submit", responses=REFUSED)
def submit(
    request: Request,
    body: StepIn | None = None,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:edit")),
) -> dict:
    """Submit a draft for approval."""
    return _act(request, campaign_id, "submit", body, user)


@router.post("/{campaign_id}/approve", responses=REFUSED)
def approve(
    request: Request,
    body: StepIn | None = None,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:approve")),
) -> dict:
    """Approve a submission: refused to the person who created or submitted it. A lottery's seed commitment
    (SHA-256) is published now."""
    return _act(request, campaign_id, "approve", body, user)


@router.post("/{campaign_id}/reject", responses={**REFUSED, 422: {"description": "no reason given"}})
def reject(
    request: Request,
    body: StepIn | None = None,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:approve")),
) -> dict:
    """Send a submission back to draft with the reason (``note``, required)."""
    return _act(request, campaign_id, "reject", body, user)


@router.post("/{campaign_id}/start", responses=REFUSED)
def start(
    request: Request,
    body: StepIn | None = None,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:run")),
) -> dict:
    """Start an approved campaign: fix the audience and control group, fill the prize box and gift stock."""
    return _act(request, campaign_id, "start", body, user)


@router.post("/{campaign_id}/close", responses=REFUSED)
def close(
    request: Request,
    body: StepIn | None = None,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:run")),
) -> dict:
    """Close a running campaign: reveal the draw seed, credit leaderboard, streak and referral rewards."""
    return _act(request, campaign_id, "close", body, user)


@router.post("/{campaign_id}/evaluate", responses=REFUSED)
def evaluate(
    request: Request,
    body: StepIn | None = None,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:run")),
) -> dict:
    """Evaluate a closed campaign: freeze its report (objectives, cost, lift, ROI)."""
    return _act(request, campaign_id, "evaluate", body, user)


@router.post("/{campaign_id}/cancel", responses={**REFUSED, 422: {"description": "no reason given"}})
def cancel(
    request: Request,
    body: StepIn | None = None,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:run")),
) -> dict:
    """Cancel a campaign not yet ended (draft, submitted, approved or running) with the reason (``note``,
    required): draws, chances, gifts, referrals and messages stop; what was given stays given and is in the
    report; an approved or running draw's seed is revealed; no closing rewards are credited."""
    return _act(request, campaign_id, "cancel", body, user)


@router.post(
    "/{campaign_id}/draws",
    status_code=201,
    responses={
        **REFUSED,
        200: {"description": "the same request id has drawn already: that draw"},
        403: {"description": "a member login drawing for another member"},
    },
)
def draw(
    body: DrawIn,
    request: Request,
    response: Response,
    campaign_id: str = CAMPAIGN,
    user: User = Depends(require("campaigns:draw")),
) -> dict:
    """Draw once from today's box for a member (a member login: only for itself). Refused with the reason:
    unknown member, not in the audience or held out, no chances left, the day's limit, outside the window,
    nothing left in the box."""
    own_member(user, body.member_id)
    out = lottery_service.draw(engine_of(request), campaign_id, body.member_id, None, body.request_id)
    if out["repeated"]:
        response.status_code = 200
    return out


@router.get("/{campaign_id}/chances/{member_id}", responses=REFUSED)
def chances(
    request: Request, campaign_id: str = CAMPAIGN, member_id: str = ID, user: User = Depends(require("campaigns:draw"))
) -> dict:
    """A member's chances: granted, from spend, bought with points; used and left (a member login: its own)."""
    own_member(user, member_id)
    return lottery_service.chances(engine_of(request), campaign_id, member_id)


@router.get("/{campaign_id}/stock", responses=REFUSED)
def stock(
    request: Request,
    campaign_id: str = CAMPAIGN,
    day: date | None = Query(None, description="One day's box (default: every day and the gifts)."),
    user: User = Depends(require("campaigns:read")),
) -> dict:
    """The prize box per day and the gift stock (day ``*``): quantity, issued, left."""
    engine = engine_of(request)
    service.summary(engine, campaign_id)  # 404 for an unknown campaign
    return {"campaign_id": campaign_id, "stock": lottery_service.stock(engine, campaign_id, day)}


@router.get("/{campaign_id}/live", responses=REFUSED)
def live(
    request: Request,
    campaign_id: str = CAMPAIGN,
    day: date | None = Query(None, description="The box of this day (default today, within the window)."),
    user: User = Depends(require("campaigns:read")),
) -> dict:
    """The live dashboard's figures: participants, points issued, the day's draws per prize against its stock,
    gift stock, budget burn per line, referrals waiting for review."""
    return reports.live(engine_of(request), campaign_id, day)


@router.get("/{campaign_id}/leaderboard", responses=REFUSED)
def leaderboard(
    request: Request,
    campaign_id: str = CAMPAIGN,
    top: int | None = Query(None, ge=1, le=10_000, description="Ranks to show (default the file's)."),
    user: User = Depends(require("campaigns:read")),
) -> dict:
    """Points earned in the window by the audience, ranked (ties share a rank), with each rank's reward."""
    return reports.leaderboard(engine_of(request), campaign_id, top)


@router.get("/{campaign_id}/referrals", responses=REFUSED)
def referral_queue(
    request: Request,
    campaign_id: str = CAMPAIGN,
    status: Literal[referrals.STATUSES] | None = Query(  # type: ignore[valid-type]
        None, description="Only these; ``review`` is the queue of flagged referrals."
    ),
    user: User = Depends(require("referrals:review")),
) -> dict:
    """Referrals with their fraud flags (self-referral, same phone, ID or device, rings) and review decisions."""
    rows = referrals.queue(engine_of(request), campaign_id, status)
    return {"campaign_id": campaign_id, "referrals": rows}


@router.post("/{campaign_id}/referrals/{referee_id}/decision", responses=REFUSED)
def decide(
    body: DecisionIn,
    request: Request,
    campaign_id: str = CAMPAIGN,
    referee_id: str = Path(min_length=1, max_length=128, description="The referred member."),
    user: User = Depends(require("referrals:review")),
) -> dict:
    """Decide a flagged referral (only one in review; not by the referrer). Approved ones are rewarded once the
    referee qualifies."""
    engine = engine_of(request)
    out = referrals.review(engine, campaign_id, referee_id, body.approve, user.username, body.note)
    audit(
        engine,
        user,
        "campaign.referral_review",
        campaign_id,
        {"referee": referee_id, "approve": body.approve, "note": body.note},
    )
    return out


@router.get("/{campaign_id}/report", responses=REFUSED)
def report(request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))) -> dict:
    """The report: achievement of each objective, participants, points issued and redeemed, cost against budget,
    lift against the control group with a 95% interval, ROI (frozen once evaluated, else live)."""
    return reports.report(engine_of(request), campaign_id)


@router.get("/{campaign_id}/report.html", response_class=HTMLResponse, responses=REFUSED)
def report_html(request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))):
    """The report as one self-contained HTML page with its charts (a download)."""
    from weixi.campaigns.report_html import render

    data = reports.report(engine_of(request), campaign_id)
    return HTMLResponse(
        render(data),
        headers={
            "Content-Disposition": f'attachment; filename="campaign-{_safe(campaign_id)}.html"',
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        },
    )


@router.get("/{campaign_id}/report.pdf", responses={**REFUSED, 200: {"content": {"application/pdf": {}}}})
def report_pdf(request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))):
    """The report as PDF (a download)."""
    from weixi.campaigns.report_pdf import render

    data = reports.report(engine_of(request), campaign_id)
    return Response(
        render(data),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="campaign-{_safe(campaign_id)}.pdf"'},
    )


@router.get("/{campaign_id}/draws/export", responses=REFUSED)
def export_draws(
    request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))
) -> dict:
    """Everything anyone needs to re-verify the draws: commitment, seed (once closed), prize table, every draw."""
    return reports.export_draws(engine_of(request), campaign_id)


@router.get("/{campaign_id}/draws/verify", responses=REFUSED)
def verify_draws(
    request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))
) -> dict:
    """Replay every draw: SHA-256(seed) equals the commitment and each draw gives the recorded prize. ``ok`` is
    false with the problems listed; before the campaign closes the seed is secret (409)."""
    return reports.verify_draws(engine_of(request), campaign_id)


def _safe(value: str) -> str:
    return "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in value)[:64]


# -- the close-out: follow-up tasks, incident log, risk register follow-up ------------------------------------


@router.post("/{campaign_id}/follow-ups", responses=REFUSED)
def follow_up_tasks(
    request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:run"))
) -> dict:
    """The campaign's follow-ups as tasks in the operations queue, each to the member's manager (the latest
    assignment); running it again adds only what is new; members who asked not to be disturbed get none."""
    engine = engine_of(request)
    out = reports.follow_up_tasks(engine, campaign_id, request.app.state.data_dir)
    audit(engine, user, "campaign.follow_ups", campaign_id, {"tasks": out["new_in_queue"]})
    return out


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    occurred_at: datetime = Field(description="When it happened, with its offset (2026-07-03T10:00:00+08:00).")
    what: str = Field(min_length=1, max_length=2000, description="What happened.")
    who: str = Field(min_length=1, max_length=128, description="Who was involved or reported it.")
    action: str = Field(min_length=1, max_length=2000, description="The action taken.")


class RiskOutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["occurred", "mitigated", "did_not_occur"]
    note: str | None = Field(None, max_length=2000, description="What happened, or why it did not.")


@router.get("/{campaign_id}/close-out", responses=REFUSED)
def close_out(request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:read"))) -> dict:
    """The close-out: a summary (objectives met, participants, cost, ROI, follow-up tasks, incidents, risks), the
    incident log and every risk of the plan with its outcome."""
    return reports.report(engine_of(request), campaign_id)["close_out"]


@router.post("/{campaign_id}/incidents", status_code=201, responses=REFUSED)
def record_incident(
    body: IncidentIn, request: Request, campaign_id: str = CAMPAIGN, user: User = Depends(require("campaigns:run"))
) -> dict:
    """Add an incident to the campaign's log: time, what happened, who, action taken."""
    from weixi.campaigns import incidents

    engine = engine_of(request)
    out = incidents.record_incident(
        engine, campaign_id, body.occurred_at, body.what, body.who, body.action, user.username
    )
    audit(engine, user, "campaign.incident", campaign_id, {"id": out["id"], "what": body.what})
    return out


@router.put("/{campaign_id}/risks/{risk_id}/outcome", responses=REFUSED)
def record_risk_outcome(
    body: RiskOutcomeIn,
    request: Request,
    campaign_id: str = CAMPAIGN,
    risk_id: str = Path(min_length=1, max_length=64, description="A risk id of the campaign's risk register."),
    user: User = Depends(require("campaigns:run")),
) -> dict:
    """What became of one risk of the plan (occurred, mitigated, did not occur), with a note; replaces an earlier one."""
    from weixi.campaigns import incidents

    engine = engine_of(request)
    out = incidents.record_risk_outcome(engine, campaign_id, risk_id, body.outcome, body.note, user.username)
    audit(engine, user, "campaign.risk_outcome", campaign_id, {"risk": risk_id, "outcome": body.outcome})
    return out
