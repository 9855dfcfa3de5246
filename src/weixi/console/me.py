"""The member's own page (mobile-first, its own layout ``member_base.html``): tier and benefits, balance, what
expires in which month, history (one line per redemption), running campaigns with their lottery, daily check-in,
the referral code (text, copy button and QR code) and the catalogue. Only a member login has it (permission
``points:checkin``); it always shows the login's own member id, never one from the URL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from weixi.adapters import archive
from weixi.campaigns import lottery_service, mine
from weixi.campaigns.errors import CampaignError
from weixi.console import me_view
from weixi.console.guard import page_user
from weixi.console.render import page, translator
from weixi.errors import Conflict, Forbidden
from weixi.i18n import N_, locale_of
from weixi.ledger import catalogue, queries, redemption, selfservice
from weixi.members import pii
from weixi.members.member360 import history_details
from weixi.messages import render
from weixi.plans.service import NoActivePlan, plan_zone
from weixi.users.service import User

router = APIRouter()
HISTORY_LINES = 30
HISTORY_MORE = 200
KIND_NAMES = {
    "earn": N_("earned"),
    "redeem": N_("redeemed"),
    "cancel": N_("redemption cancelled"),
    "expire": N_("expired"),
    "adjust": N_("adjustment"),
    "reverse": N_("reversed"),
    "clawback": N_("taken back"),
    "deficit": N_("deficit"),
    "debt": N_("debt"),
    "debt_repay": N_("debt repaid"),
    "settle": N_("settled"),
}
EVENT_NAMES = {
    "bill": N_("bill"),
    "recharge": N_("recharge"),
    "checkin": N_("check-in"),
    "survey": N_("survey"),
    "review": N_("review"),
    "share": N_("share"),
    "activity": N_("activity"),
    "signup": N_("sign-up"),
    "referral": N_("referral"),
    "birthday": N_("birthday bonus"),
    "refund": N_("refund"),
    "redeem": N_("redemption"),
    "adjust": N_("adjustment"),
}


def _now(engine) -> datetime:
    return datetime.now(plan_zone(engine))


def _member(request: Request, user: User) -> str:
    if not user.member_id:
        raise Conflict("member_login_unlinked", user=user.username)
    return user.member_id


def _key(member_id: str, request_id: str) -> str:
    """The page's request id bound to the member: a resubmitted form acts once, and no member can reach another's
    redemption or draw by sending its id."""
    return hashlib.sha256(f"{member_id}\n{request_id}".encode()).hexdigest()[:40]


def _page(request: Request, user: User, status: int = 200, more: bool = False, **context):
    state = request.app.state
    engine, member_id = state.engine, _member(request, user)
    now = _now(engine)
    today = now.date()
    balance = queries.balance(engine, member_id, today)
    try:
        rewards = catalogue.catalogue(engine, today)["rewards"]
    except NoActivePlan:
        rewards = []
    statement = queries.statement(engine, member_id, None, None)
    refs = history_details(engine, member_id)["events"] if statement else {}
    limit = HISTORY_MORE if more else HISTORY_LINES
    history = me_view.history(statement["lines"], refs, limit + 1) if statement else []
    profile = archive.members_lookup(state.data_dir, member_id)
    checkin = selfservice.checkin_state(engine, member_id)
    code = selfservice.referral_code(member_id)
    _ = translator(request)
    locale = locale_of(request)
    return page(
        request,
        "me.html",
        user,
        status=status,
        member_id=member_id,
        today=str(today),
        profile=pii.mask_row(profile) if profile else None,
        balance=balance,
        tier=me_view.tier_card(engine, member_id, today),
        months=me_view.expiry_months(selfservice.expiry_schedule(balance)),
        month_label=lambda month: me_view.month_label(month, locale),
        rewards=rewards,
        history=history[:limit],
        history_more=len(history) > limit and not more,
        kinds=KIND_NAMES,
        events=EVENT_NAMES,
        reward_names={r["reward_id"]: r["name"] for r in rewards},
        redemptions=catalogue.redemptions_of(engine, member_id, 10),
        campaigns=mine.running_for(engine, member_id, now),
        referral_code=code,
        referral_qr=me_view.qr_svg(code, _("QR code of my referral code")),
        checkin=checkin,
        checked_in_today=checkin["last_checkin_on"] == str(today),
        request_id=uuid.uuid4().hex,
        **context,
    )


@router.get("/me")
def me_page(
    request: Request,
    done: str = Query("", max_length=200),
    more: bool = Query(False),
    user: User = Depends(page_user("points:checkin")),
):
    _ = translator(request)
    notice = None
    kind, _sep, ref = done.partition(":")
    if kind == "redeemed" and ref:
        engine = request.app.state.engine
        found = redemption.redemption(engine, ref)
        if found and found["member_id"] == user.member_id:
            try:
                names = {r["reward_id"]: r["name"] for r in catalogue.catalogue(engine)["rewards"]}
            except NoActivePlan:
                names = {}
            notice = _("Redeemed %(qty)s × %(reward)s for %(points)s points.") % {
                "qty": found["qty"],
                "reward": names.get(found["reward_id"], found["reward_id"]),
                "points": found["points"],
            }
    elif kind == "checkin" and ref.lstrip("-").isdigit():
        notice = _("Checked in: %(points)s points.") % {"points": ref}
    elif kind == "checkin-again":
        notice = _("You have already checked in today.")
    elif kind == "drew" and ref:
        notice = _drawn(request, user, ref)
    return _page(request, user, more=more, notice=notice)


def _drawn(request: Request, user: User, ref: str) -> str | None:
    """What the member's own draw ``<campaign id>:<draw number>`` gave, or None for anyone else's draw."""
    _ = translator(request)
    campaign_id, _sep, seq = ref.rpartition(":")
    if not campaign_id or not seq.isdigit():
        return None
    try:
        found = lottery_service.draw_record(request.app.state.engine, campaign_id, int(seq))
    except (CampaignError, IndexError):
        return None
    if found["member_id"] != user.member_id:
        return None
    if not found["prize_id"]:
        return _("No prize this time: thank you for taking part.")
    if found["points"]:
        return _("You won %(prize)s: %(points)s points are on their way to your balance.") % {
            "prize": found["prize"],
            "points": found["points"],
        }
    return _("You won %(prize)s! Show this page at the counter to collect it.") % {"prize": found["prize"]}


@router.get("/me/redeem/confirm")
def redeem_confirm(
    request: Request,
    reward_id: str = Query(..., max_length=64),
    request_id: str = Query(..., min_length=8, max_length=64),
    user: User = Depends(page_user("points:redeem")),
):
    """Before redeeming: the reward, its cost, the balance before and after, and which points go first."""
    if user.role != "member":
        raise Forbidden("member_page_only", role=user.role)
    engine, member_id = request.app.state.engine, _member(request, user)
    today = _now(engine).date()
    try:
        rewards = catalogue.catalogue(engine, today)["rewards"]
    except NoActivePlan:
        rewards = []
    reward = next((r for r in rewards if r["reward_id"] == reward_id), None)
    if reward is None:
        return RedirectResponse("/me#catalogue", status_code=303)
    balance = queries.balance(engine, member_id, today)
    have = balance["balance"] if balance else 0
    months = me_view.expiry_months(selfservice.expiry_schedule(balance))
    locale = locale_of(request)
    return page(
        request,
        "me_redeem.html",
        user,
        reward=reward,
        have=have,
        after=have - reward["cost"],
        first=months[0] if months else None,
        month_label=lambda month: me_view.month_label(month, locale),
        request_id=request_id,
    )


@router.post("/me/redeem")
def redeem(
    request: Request,
    reward_id: str = Form(..., max_length=64),
    qty: int = Form(1, ge=1, le=100),
    request_id: str = Form(..., min_length=8, max_length=64),
    user: User = Depends(page_user("points:redeem")),
):
    """Redeem for the logged-in member. ``request_id`` comes with the page, so a double submit redeems once."""
    _ = translator(request)
    if user.role != "member":
        raise Forbidden("member_page_only", role=user.role)
    member_id = _member(request, user)
    try:
        key = _key(member_id, request_id)
        outcome = redemption.redeem(request.app.state.engine, member_id, reward_id, qty, request_id=f"me-{key}")
    except redemption.RedemptionError as exc:  # told by its code, in the reader's language
        return _page(request, user, status=409, error=render(exc, locale_of(request), "member"))
    except NoActivePlan:
        return _page(request, user, status=409, error=_("The points programme is not open yet."))
    return RedirectResponse(f"/me?done=redeemed:{outcome.redemption['redemption_id']}", status_code=303)


@router.post("/me/checkin")
def checkin(request: Request, user: User = Depends(page_user("points:checkin"))):
    _ = translator(request)
    engine = request.app.state.engine
    member_id = _member(request, user)
    try:
        result = selfservice.check_in(engine, member_id, _now(engine))
    except selfservice.CheckinRefused as exc:  # told by its code, in the reader's language
        return _page(request, user, status=409, error=render(exc, locale_of(request), "member"))
    except NoActivePlan:
        return _page(request, user, status=409, error=_("The points programme is not open yet."))
    target = "checkin-again:" if result["duplicate"] else f"checkin:{result['points']}"
    return RedirectResponse(f"/me?done={target}", status_code=303)


@router.post("/me/draw")
def draw(
    request: Request,
    campaign_id: str = Form(..., max_length=64),
    request_id: str = Form(..., min_length=8, max_length=64),
    user: User = Depends(page_user("campaigns:draw")),
):
    """One draw in a running campaign for the logged-in member; the page's ``request_id`` makes a resubmitted form
    return the same draw instead of drawing again."""
    if user.role != "member":
        raise Forbidden("member_page_only", role=user.role)
    member_id = _member(request, user)
    engine = request.app.state.engine
    try:
        found = lottery_service.draw(engine, campaign_id, member_id, None, f"me-{_key(member_id, request_id)}")
    except CampaignError as exc:  # told by its code, in the member's words
        return _page(request, user, status=exc.status, error=render(exc, locale_of(request), "member"))
    return RedirectResponse(f"/me?done=drew:{campaign_id}:{found['seq']}#campaigns", status_code=303)
