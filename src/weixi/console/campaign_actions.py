"""A campaign's lifecycle actions in the console: which ones its status allows and the permission each needs, and
for the irreversible ones (approve, start, end, evaluate, cancel) a confirmation page that shows what will change before
anything does — ending: draws stop, the budget left, the prizes left today and in the days not reached, the seed
revealed; cancelling: the same stop, what was given and stays given, the reason asked for — and, when the step would be refused (the creator approving, a window already over), the refusal in
the reader's language before the button is pressed. The confirmed form posts to ``/campaigns/{id}/act``
(:mod:`weixi.console.campaigns`), which takes the step, audits it and shows a refusal by its code."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from weixi.campaigns import report as reports
from weixi.campaigns import service
from weixi.campaigns.errors import CampaignError, CampaignForbidden, CampaignInvalid, CampaignNotFound
from weixi.campaigns.lifecycle import ACTIONS, transition
from weixi.campaigns.model import Campaign
from weixi.campaigns.store import campaign_today
from weixi.console.campaign_form import LINES, check
from weixi.console.guard import may, page_user
from weixi.console.render import page
from weixi.i18n import N_
from weixi.users.service import User

router = APIRouter()
ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

BUTTONS = {
    "submit": N_("Submit for approval"),
    "approve": N_("Approve"),
    "reject": N_("Reject"),
    "start": N_("Start"),
    "close": N_("End the campaign"),
    "evaluate": N_("Evaluate"),
    "cancel": N_("Cancel the campaign"),
}
# Which actions a status allows, and the permission each needs (weixi.api.permissions).
NEXT = {
    "draft": ("submit", "cancel"),
    "submitted": ("approve", "reject", "cancel"),
    "approved": ("start", "cancel"),
    "running": ("close", "cancel"),
    "closed": ("evaluate",),
    "evaluated": (),
    "cancelled": (),
}
PERMISSION = {
    "submit": "campaigns:edit",
    "approve": "campaigns:approve",
    "reject": "campaigns:approve",
    "start": "campaigns:run",
    "close": "campaigns:run",
    "evaluate": "campaigns:run",
    "cancel": "campaigns:run",
}
# Steps that cannot be taken back: the campaign page asks to confirm them on a page that shows what will change.
CONFIRM = ("approve", "start", "close", "evaluate", "cancel")
TITLES = {
    "approve": N_("Approve %(name)s?"),
    "start": N_("Start %(name)s?"),
    "close": N_("End %(name)s?"),
    "evaluate": N_("Evaluate %(name)s?"),
    "cancel": N_("Cancel %(name)s?"),
}


def checked_id(value: str) -> str:
    """A campaign id from the path; one that cannot be an id is an unknown campaign (the error page, 404)."""
    if not ID.match(value):
        raise CampaignNotFound("unknown_campaign", campaign=value[:64])
    return value


def allowed(user: User, action: str) -> None:
    """Refuse an action nobody may take here, or one the user's role may not."""
    if action not in PERMISSION:
        raise CampaignInvalid("campaign_unknown_action", action=action[:16], actions=list(PERMISSION))
    if not may(user, PERMISSION[action]):
        raise CampaignForbidden(
            "campaign_action_forbidden", role=user.role, campaign_action=action, permission=PERMISSION[action]
        )


def refusal(action: str, summary: dict, c: Campaign, user: User, today: date) -> CampaignError | None:
    """The refusal the step would meet now (wrong status, four eyes, a window over), before it is taken."""
    submitted_by = next((s["by"] for s in reversed(summary["steps"]) if s["action"] == "submit"), None)
    try:
        transition(
            action,
            summary["status"],
            user.username,
            summary["created_by"],
            submitted_by,
            today,
            c.window.start,
            c.window.end,
        )
    except CampaignError as exc:
        return exc
    return None


def _yuan(text: str) -> Decimal:
    return Decimal(text or "0")


def what_changes(engine, action: str, c: Campaign, today: date) -> dict:
    """The figures the confirmation shows for ``action``: the budget (planned, spent, left), the prize box (a day,
    over the window, left today and in the days not reached) and the gifts' stock."""
    live = reports.live(engine, c.id)
    days = (c.window.end - c.window.start).days + 1
    days_after = max(0, (c.window.end - max(today, c.window.start)).days) if today <= c.window.end else 0
    per_day = sum(p.per_day for p in c.lottery.prizes) if c.lottery else 0
    budget = live["budget"]
    prizes_today = [p for p in live["draws"]["prizes"] if p["id"]]
    return {
        "to_status": ACTIONS[action][1],
        "days": days,
        "per_day": per_day,
        "box_total": per_day * days,
        "prize_fen_day": sum(p.value_fen * p.per_day for p in c.lottery.prizes) if c.lottery else 0,
        "planned_yuan": budget["planned_yuan"],
        "spent_yuan": budget["actual_yuan"],
        "left_yuan": str(_yuan(budget["planned_yuan"]) - _yuan(budget["actual_yuan"])),
        "prizes_today": prizes_today,
        "left_today": sum(p["left"] for p in prizes_today),
        "days_not_reached": days_after if action in ("close", "cancel") else 0,
        "left_later": per_day * days_after if action in ("close", "cancel") else 0,
        "points_issued": live["points"]["issued"],
        "gifts_given": sum(g["issued"] for g in live["gifts"]),
        "gifts": live["gifts"],
        "participants": live["participants"],
        "draws": live["draws"]["total"],
        "audience": live["audience"],
        "lines": budget["lines"],
    }


@router.get("/campaigns/{campaign_id}/confirm/{action}")
async def confirm_page(
    campaign_id: str, action: str, request: Request, user: User = Depends(page_user("campaigns:read"))
):
    """What the step will change, and the form that takes it (or the refusal it would meet)."""
    from weixi.console.campaigns import WORDS  # the campaign pages' words (that module includes this router)

    campaign_id = checked_id(campaign_id)
    allowed(user, action)
    if action not in CONFIRM:
        raise CampaignNotFound("unknown_campaign", campaign=campaign_id)
    engine = request.app.state.engine
    summary = service.summary(engine, campaign_id)
    saved = service.file_text(engine, campaign_id)
    c = (await run_in_threadpool(check, saved["text"], f"{campaign_id}.yaml"))["campaign"]
    if c is None:  # a saved campaign always checks; an older file the checker now refuses cannot be acted on
        raise CampaignNotFound("unknown_campaign", campaign=campaign_id)
    today = campaign_today(c)
    changes = await run_in_threadpool(what_changes, engine, action, c, today)
    return page(
        request,
        "campaign_confirm.html",
        user,
        c=summary,
        plan=c,
        action=action,
        title=TITLES[action],
        changes=changes,
        refusal=refusal(action, summary, c, user, today),
        today=today,
        **{**WORDS, "lines": LINES},
    )
