"""The counter (营业员, issue 18 §1): find the member in front of the clerk by the whole phone or ID number, then in
one place redeem a reward (a confirmation shows the points before and after), check in, draw in a running
campaign, hand out a visit gift; and the clerk's own incentive statement. Each action goes through the same
service the API uses (ledger redemption and check-in, campaign draw and gift), is refused with its code in the
reader's language, carries a request id from the page (a double submit acts once) and is written to the audit
log (``counter.*``). Permission ``counter:serve`` (admin, clerk)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import plan_today
from weixi.campaigns import gifts, lottery_service, visits
from weixi.console.guard import may, page_user
from weixi.console.render import page, translator
from weixi.errors import Forbidden, NotFound, Problem, WeixiError
from weixi.i18n import locale_of
from weixi.incentives import publication, reports
from weixi.ledger import catalogue, redemption, selfservice
from weixi.members import lookup
from weixi.members import search as member_search
from weixi.messages import render
from weixi.plans.service import NoActivePlan, plan_zone
from weixi.users.service import User, audit

router = APIRouter()
MEMBER = Path(min_length=1, max_length=128)
KEY = Form(..., min_length=8, max_length=64)


def _require(user: User, permission: str) -> None:
    """The counter's actions also need the permission the API asks for the same action."""
    if not may(user, permission):
        raise Forbidden("page_forbidden", role=user.role, permission=permission)


def _key(user: User, member_id: str, kind: str, request_id: str) -> str:
    """The page's request id bound to the clerk, the member and the action: a resubmitted form acts once, and no
    one reaches another's request by sending its id."""
    digest = hashlib.sha256(f"{user.username}\n{member_id}\n{kind}\n{request_id}".encode()).hexdigest()[:40]
    return f"counter-{digest}"


def own_statement(engine, staff_id: str) -> str | None:
    """The link to the latest published incentive statement of the login's staff id (``User.staff``), None when
    there is none."""
    for m in reports.published_months(engine):
        pub = publication.published(engine, m["month"])
        if pub and staff_id in pub["statements"]["staff"]:
            return f"/incentives/{m['month']}/staff/{staff_id}"
    return None


def _member(request: Request, user: User, member_id: str) -> dict:
    state = request.app.state
    found = member_search.show(
        state.engine, state.data_dir, user, member_id, plan_today(state.engine), pii_unmasked(user.role)
    )
    if found is None:
        raise NotFound("unknown_member", member=member_id[:128])
    return found


def _rewards(engine) -> list[dict]:
    try:
        return catalogue.catalogue(engine, plan_today(engine))["rewards"]
    except NoActivePlan:
        return []


def _panel(request: Request, user: User, member_id: str, status: int = 200, **context):
    engine = request.app.state.engine
    m = _member(request, user, member_id)
    history = (m.get("tier") or {}).get("history") or []
    checkin = selfservice.checkin_state(engine, member_id)
    today = plan_today(engine)
    return page(
        request,
        "counter_member.html",
        user,
        status=status,
        m=m,
        member_status=history[-1]["status"] if history else None,
        rewards=_rewards(engine),
        campaigns=visits.for_member(engine, member_id),
        checked_in_today=checkin["last_checkin_on"] == str(today),
        streak=checkin["streak"],
        request_id=uuid.uuid4().hex,
        statement_link=own_statement(engine, user.staff),
        may_draw=may(user, "campaigns:draw"),
        may_redeem=may(user, "points:redeem"),
        **context,
    )


@router.get("/counter")
def counter(request: Request, q: str = Query("", max_length=40), user: User = Depends(page_user("counter:serve"))):
    state = request.app.state
    rows, error, kind = [], None, None
    if q.strip():
        try:
            kind, rows = lookup.find_audited(state.engine, state.data_dir, user, q, pii_unmasked(user.role))
        except lookup.LookupInvalid as exc:
            error = exc
        if len(rows) == 1:
            return RedirectResponse(f"/counter/{rows[0]['member_id']}", status_code=303)
    return page(
        request,
        "counter.html",
        user,
        q=q,
        rows=rows,
        kind=kind,
        error=error,
        searched=bool(q.strip()),
        statement_link=own_statement(state.engine, user.staff),
    )


def _notice(request: Request, member_id: str, done: str) -> str | None:
    """The sentence of what the last action did (``done`` from the redirect), checked against the member."""
    _ = translator(request)
    engine = request.app.state.engine
    kind, _sep, ref = done.partition(":")
    if kind == "redeemed" and ref:
        found = redemption.redemption(engine, ref)
        if found and found["member_id"] == member_id:
            names = {r["reward_id"]: r["name"] for r in _rewards(engine)}
            return _("Redeemed %(qty)s × %(reward)s for %(points)s points.") % {
                "qty": found["qty"],
                "reward": names.get(found["reward_id"], found["reward_id"]),
                "points": found["points"],
            }
    elif kind == "checkin" and ref.lstrip("-").isdigit():
        return _("Checked in: %(points)s points.") % {"points": ref}
    elif kind == "checkin-again":
        return _("This member has already checked in today.")
    elif kind == "drawn":
        campaign_id, _sep, seq = ref.rpartition(":")
        if seq.isdigit():
            try:
                d = lottery_service.draw_record(engine, campaign_id, int(seq))
            except (WeixiError, IndexError):
                return None
            if d["member_id"] == member_id:
                if not d["prize_id"]:
                    return _("Drawn: no prize this time. Chances left: %(left)s.") % {"left": d["chances_left"]}
                return _("Drawn: %(prize)s. Chances left: %(left)s.") % {"prize": d["prize"], "left": d["chances_left"]}
    elif kind == "gift":
        campaign_id, _sep, rest = ref.partition(":")
        gift_id, _sep, qty = rest.rpartition(":")
        for c in visits.for_member(engine, member_id):
            for g in c["gifts"] if c["campaign_id"] == campaign_id else []:
                if g["gift_id"] == gift_id and qty.isdigit():
                    return _("Handed out %(qty)s × %(gift)s.") % {"qty": qty, "gift": g["name"]}
    return None


@router.get("/counter/{member_id}")
def member_panel(
    request: Request,
    member_id: str = MEMBER,
    done: str = Query("", max_length=200),
    user: User = Depends(page_user("counter:serve")),
):
    return _panel(request, user, member_id, notice=_notice(request, member_id, done) if done else None)


@router.get("/counter/{member_id}/redeem")
def confirm_redeem(
    request: Request,
    member_id: str = MEMBER,
    reward_id: str = Query(..., min_length=1, max_length=64),
    qty: int = Query(1, ge=1, le=100),
    user: User = Depends(page_user("counter:serve")),
):
    """What the redemption will change, before it is made: the reward, its cost and the balance before and after."""
    _require(user, "points:redeem")
    engine = request.app.state.engine
    m = _member(request, user, member_id)
    reward = next((r for r in _rewards(engine) if r["reward_id"] == reward_id), None)
    if reward is None:
        raise NotFound("unknown_reward", reward=reward_id)
    before = (m.get("points") or {}).get("balance") or 0
    cost = reward["cost"] * qty
    return page(
        request,
        "counter_redeem.html",
        user,
        m=m,
        reward=reward,
        qty=qty,
        cost=cost,
        before=before,
        after=before - cost,
        request_id=uuid.uuid4().hex,
    )


def _named(request: Request, member_id: str, exc: WeixiError) -> Problem:
    """The refusal with the names people read in place of the ids it carries (a reward, a gift, a campaign)."""
    engine = request.app.state.engine
    params = dict(exc.params)
    if isinstance(params.get("reward"), str):
        params["reward"] = {r["reward_id"]: r["name"] for r in _rewards(engine)}.get(params["reward"], params["reward"])
    if isinstance(params.get("gift"), str) or isinstance(params.get("campaign"), str):
        for c in visits.for_member(engine, member_id):
            if params.get("campaign") == c["campaign_id"]:
                params["campaign"] = c["name"]
            for g in c["gifts"]:
                if params.get("gift") == g["gift_id"]:
                    params["gift"] = g["name"]
    return Problem(exc.code, params)


def _refused(request: Request, user: User, member_id: str, exc: WeixiError):
    error = render(_named(request, member_id, exc), locale_of(request))
    return _panel(request, user, member_id, status=exc.status, error=error)


@router.post("/counter/{member_id}/redeem")
def redeem(
    request: Request,
    member_id: str = MEMBER,
    reward_id: str = Form(..., min_length=1, max_length=64),
    qty: int = Form(1, ge=1, le=100),
    request_id: str = KEY,
    user: User = Depends(page_user("counter:serve")),
):
    _require(user, "points:redeem")
    engine = request.app.state.engine
    _member(request, user, member_id)
    try:
        outcome = redemption.redeem(
            engine,
            member_id,
            reward_id,
            qty,
            request_id=_key(user, member_id, "redeem", request_id),
            attrs={"by": user.username, "channel": "counter"},
        )
    except WeixiError as exc:  # not_enough_points, out_of_stock, member_limit, ... in the reader's language
        return _refused(request, user, member_id, exc)
    found = outcome.redemption
    if outcome.duplicate:  # the same form sent again: nothing new was redeemed
        return RedirectResponse(f"/counter/{member_id}?done=redeemed:{found['redemption_id']}", status_code=303)
    audit(
        engine,
        user,
        "counter.redeem",
        member_id,
        {"reward": reward_id, "qty": qty, "points": found["points"], "redemption": found["redemption_id"]},
    )
    return RedirectResponse(f"/counter/{member_id}?done=redeemed:{found['redemption_id']}", status_code=303)


@router.post("/counter/{member_id}/checkin")
def checkin(request: Request, member_id: str = MEMBER, user: User = Depends(page_user("counter:serve"))):
    engine = request.app.state.engine
    _member(request, user, member_id)
    try:
        result = selfservice.check_in(engine, member_id, datetime.now(plan_zone(engine)))
    except WeixiError as exc:
        return _refused(request, user, member_id, exc)
    if result["duplicate"]:
        return RedirectResponse(f"/counter/{member_id}?done=checkin-again:", status_code=303)
    audit(engine, user, "counter.checkin", member_id, {"day": result["day"], "points": result["points"]})
    return RedirectResponse(f"/counter/{member_id}?done=checkin:{result['points']}", status_code=303)


@router.post("/counter/{member_id}/draw")
def draw(
    request: Request,
    member_id: str = MEMBER,
    campaign_id: str = Form(..., min_length=1, max_length=64),
    request_id: str = KEY,
    user: User = Depends(page_user("counter:serve")),
):
    _require(user, "campaigns:draw")
    engine = request.app.state.engine
    _member(request, user, member_id)
    try:
        out = lottery_service.draw(
            engine, campaign_id, member_id, None, _key(user, member_id, f"draw:{campaign_id}", request_id)
        )
    except WeixiError as exc:  # outside the draw hours, no chances left, held out, box empty, ...
        return _refused(request, user, member_id, exc)
    audit(
        engine, user, "counter.draw", member_id, {"campaign": campaign_id, "seq": out["seq"], "prize": out["prize_id"]}
    )
    return RedirectResponse(f"/counter/{member_id}?done=drawn:{campaign_id}:{out['seq']}", status_code=303)


@router.post("/counter/{member_id}/gift")
def gift(
    request: Request,
    member_id: str = MEMBER,
    campaign_id: str = Form(..., min_length=1, max_length=64),
    gift_id: str = Form(..., min_length=1, max_length=64),
    qty: int = Form(1, ge=1, le=100),
    request_id: str = KEY,
    user: User = Depends(page_user("counter:serve")),
):
    engine = request.app.state.engine
    _member(request, user, member_id)
    try:
        out = gifts.claim_gift(
            engine,
            campaign_id,
            member_id,
            gift_id,
            qty,
            by=user.username,
            request_id=_key(user, member_id, f"gift:{campaign_id}:{gift_id}", request_id),
        )
    except WeixiError as exc:  # the gift's limits, its stock, the campaign's audience and window
        return _refused(request, user, member_id, exc)
    audit(engine, user, "counter.gift", member_id, {"campaign": campaign_id, "gift": gift_id, "qty": qty})
    return RedirectResponse(f"/counter/{member_id}?done=gift:{campaign_id}:{gift_id}:{out['qty']}", status_code=303)
