"""The member's own page (mobile-first): balance, what expires when, history, catalogue and redeem, daily
check-in, referral code. Only a member login has it (permission ``points:checkin``); it always shows the
login's own member id, never one from the URL."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse

from weixi.adapters import archive
from weixi.console.guard import page_user
from weixi.console.render import page, translator
from weixi.errors import Conflict, Forbidden
from weixi.i18n import N_, locale_of
from weixi.ledger import catalogue, queries, redemption, selfservice
from weixi.members import pii
from weixi.messages import render
from weixi.plans.service import NoActivePlan, plan_zone
from weixi.users.service import User

router = APIRouter()
HISTORY_LINES = 30
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


def _page(request: Request, user: User, status: int = 200, **context):
    state = request.app.state
    engine, member_id = state.engine, _member(request, user)
    today = _now(engine).date()
    balance = queries.balance(engine, member_id, today)
    try:
        rewards = catalogue.catalogue(engine, today)["rewards"]
    except NoActivePlan:
        rewards = []
    statement = queries.statement(engine, member_id, None, None)
    history = list(reversed(statement["lines"]))[:HISTORY_LINES] if statement else []
    profile = archive.members_lookup(state.data_dir, member_id)
    checkin = selfservice.checkin_state(engine, member_id)
    return page(
        request,
        "me.html",
        user,
        status=status,
        member_id=member_id,
        today=str(today),
        profile=pii.mask_row(profile) if profile else None,
        balance=balance,
        schedule=selfservice.expiry_schedule(balance),
        rewards=rewards,
        history=history,
        kinds=KIND_NAMES,
        events=EVENT_NAMES,
        reward_names={r["reward_id"]: r["name"] for r in rewards},
        redemptions=catalogue.redemptions_of(engine, member_id, 10),
        referral_code=selfservice.referral_code(member_id),
        checkin=checkin,
        checked_in_today=checkin["last_checkin_on"] == str(today),
        request_id=uuid.uuid4().hex,
        **context,
    )


@router.get("/me")
def me_page(request: Request, done: str = Query("", max_length=200), user: User = Depends(page_user("points:checkin"))):
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
    return _page(request, user, notice=notice)


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
        # The page's request id, bound to the member: a resubmitted form redeems once, and no member can reach
        # another's redemption by sending its id.
        key = hashlib.sha256(f"{member_id}\n{request_id}".encode()).hexdigest()[:40]
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
