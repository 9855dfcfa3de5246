"""Points ledger endpoints: post events, redeem, cancel, reverse, balance, statement, expiring points, catalogue."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from weixi.adapters import ledger_repo
from weixi.adapters import writer as group_commit
from weixi.api.auth import own_member, require
from weixi.api.permissions import allowed
from weixi.api.routes.common import ID, engine_of, plan_today, redemption_out
from weixi.close import store
from weixi.errors import Forbidden, Invalid, NotFound, Where
from weixi.ledger import catalogue as catalogue_service
from weixi.ledger import queries, redemption, reversal, selfservice
from weixi.ledger.attrs import attrs_problem
from weixi.ledger.events import EVENT_TYPES, Event, parse_event
from weixi.members.member360 import ledger_note
from weixi.messages import render
from weixi.plans.service import active_plan
from weixi.users.service import User, audit

router = APIRouter(prefix="/api", tags=["ledger"])
MAX_EVENTS = 1000

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(
        min_length=1, max_length=128, description="Source id: an event is posted once, however often it arrives."
    )
    member_id: str = Field(min_length=1, max_length=128)
    type: EventType
    occurred_at: str = Field(
        min_length=1,
        max_length=40,
        description="ISO 8601; without offset = the plan's timezone.",
        examples=["2026-11-22T10:30:00+08:00"],
    )
    amount: str | None = Field(
        None, max_length=24, description="Yuan as a decimal string (bill, recharge, refund).", examples=["128.50"]
    )
    points: int | None = Field(
        None,
        description="Only for adjust events (points:adjust), at most 10^9 either way; "
        "an event beyond is rejected on its own.",
    )
    ref: str | None = Field(
        None, max_length=128, description="refund: original event; redeem: reward; referral: referee."
    )
    attrs: dict[str, Any] | None = Field(
        None, description="Free-form facts: at most 8 levels deep, 100 keys, 8 KiB as JSON."
    )

    @field_validator("attrs")
    @classmethod
    def _bounded_attrs(cls, value):
        problem = value is not None and attrs_problem(value)
        if problem:
            raise ValueError(render(problem))  # a validation detail, in English like pydantic's own
        return value


class EventsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=MAX_EVENTS)


class EventRejection(BaseModel):
    index: int = Field(description="Position of the event in the request (0-based).")
    event_id: str
    field: str | None
    reason: str = Field(description="Why, in English.")
    code: str = Field(description="Why, as a code of docs/errors.md (``not_enough_points``, ``malformed_amount``...).")
    params: dict[str, Any] = Field(description="The numbers and names of the code's sentence.")


class PostOut(BaseModel):
    posted: int
    duplicates: list[str]
    rejected: list[EventRejection]
    plan_version: int | None


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: str = Field(min_length=1, max_length=128)
    reward_id: str = Field(min_length=1, max_length=64)
    qty: int = Field(1, ge=1, le=10_000)
    request_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Idempotency key, the member's own: a retry with the same key and body "
        "returns the first outcome; another body is 409 request_id_reused.",
    )
    merchant: str | None = Field(None, max_length=64, description="Partner merchant, for merchant rewards.")


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(redemption.FULFILMENT_FAILED, min_length=1, max_length=200)


class Redemption(BaseModel):
    redemption_id: str
    member_id: str
    reward_id: str
    qty: int
    points: int
    day: str
    status: str
    details: dict[str, Any]
    request_id: str | None = None
    duplicate: bool = False


class ReverseOut(BaseModel):
    event_id: str
    reversal: str
    member_id: str
    duplicate: bool


class TypesForbidden(Forbidden):
    """403 ``event_type_forbidden``: events of types the caller's role may not post; ``details`` lists each one."""

    def __init__(self, role: str, types: list[str], details: list[dict]):
        super().__init__("event_type_forbidden", Where(field="type"), role=role, event_type=types)
        self.details = details


def committer_of(request: Request) -> group_commit.Writer:
    return request.app.state.committer


async def _zone(committer: group_commit.Writer) -> ZoneInfo:
    """The active plan's timezone (cached by the committer; a database read at most every few seconds)."""
    return committer.cached_zone() or await run_in_threadpool(committer.zone)  # 409 no_active_plan before a plan


async def _version(committer: group_commit.Writer) -> int | None:
    def read():
        with committer.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            return active_plan(conn)[0]

    return await run_in_threadpool(read)


def _tz(engine) -> ZoneInfo:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return ZoneInfo(active_plan(conn)[1].timezone)


# Event types that move points by hand need more than events:post (docs/api.md, docs/security.md).
TYPE_PERMISSIONS = {"adjust": "points:adjust", "refund": "events:reverse", "redeem": "points:redeem"}


def _check_types(user: User, body: EventsIn) -> None:
    """403 ``event_type_forbidden`` (nothing posted) if the request holds an event type the caller may not post."""
    denied = [
        {
            "index": i,
            "event_id": e.event_id,
            "field": "type",
            "reason": f"{e.type} events need the {TYPE_PERMISSIONS[e.type]} permission",
            "code": "permission_required",
            "params": {"event_type": e.type, "permission": TYPE_PERMISSIONS[e.type]},
        }
        for i, e in enumerate(body.events)
        if e.type in TYPE_PERMISSIONS and not allowed(user.role, TYPE_PERMISSIONS[e.type])
    ]
    if denied:
        raise TypesForbidden(user.role, sorted({body.events[d["index"]].type for d in denied}), denied)


async def post_request(committer: group_commit.Writer, body: EventsIn, user: User) -> dict:
    """What ``POST /api/events`` answers (also called by :mod:`weixi.api.fastpath`). Adjustments and refunds that
    post are written to the audit log (``points.adjust``, ``event.reverse``)."""
    _check_types(user, body)
    tz = await _zone(committer)
    now = datetime.now(timezone.utc)
    items = [parse_event(e.model_dump(), tz, row=i, now=now) for i, e in enumerate(body.events)]
    events = [e for e in items if isinstance(e, Event)]
    outcomes = await committer.apost(events) if events else []
    rejected = [_rejected(r.row, r) for r in items if not isinstance(r, Event)]
    rejected += [_rejected(e.row, o) for e, o in zip(events, outcomes) if o.status == "rejected"]  # one per event
    manual = {o.event_id for o in outcomes if o.status == "posted"}
    manual = [e for e in events if e.event_id in manual and e.type in ("adjust", "refund")]
    if manual:
        await run_in_threadpool(_audit_manual, committer.engine, user, manual)
    return {
        "posted": sum(o.status == "posted" for o in outcomes),
        "duplicates": [o.event_id for o in outcomes if o.status == "duplicate"],
        "rejected": sorted(rejected, key=lambda r: r["index"]),
        "plan_version": outcomes[0].plan_version if outcomes else await _version(committer),
    }


def _rejected(index: int, rejection) -> dict:
    """One rejected event of a request (a parse :class:`~weixi.ledger.events.Rejection` or a writer outcome)."""
    code, params = rejection.code, rejection.params
    if code is None:
        code, params = "event_rejected", {"reason": rejection.reason}
    return {
        "index": index,
        "event_id": rejection.event_id,
        "field": rejection.field,
        "reason": rejection.reason,
        "code": code,
        "params": dict(params or {}),
    }


def _audit_manual(engine, user: User, events: list[Event]) -> None:
    for e in events:
        if e.type == "adjust":
            audit(
                engine,
                user,
                "points.adjust",
                e.member_id,
                {"event_id": e.event_id, "points": e.points, "reason": e.attrs.get("reason")},
            )
        else:
            audit(
                engine,
                user,
                "event.reverse",
                e.ref,
                {"member_id": e.member_id, "refund": e.event_id, "amount_fen": e.amount_fen},
            )


def _reused_by_caller(engine, username: str, request_id: str, member_id: str) -> bool:
    """A staff caller's key names one request: the same caller sending it for another member is refused. (Another
    caller's use of the same string is another key: it neither sees nor blocks this one.)"""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return username in ledger_repo.key_holders(conn, request_id, member_id)


async def redeem_request(committer: group_commit.Writer, user: User, body: RedeemIn) -> tuple[int, dict]:
    """The status and body ``POST /api/redemptions`` answers (also called by :mod:`weixi.api.fastpath`);
    refusals raise :class:`weixi.ledger.redemption.RedemptionError` with their own code (``not_enough_points``,
    ``out_of_stock``, ``member_limit``, ...; 404 ``unknown_reward``) and their numbers in ``params``."""
    own_member(user, body.member_id)
    await _zone(committer)
    if (
        body.request_id
        and user.role != "member"
        and await run_in_threadpool(_reused_by_caller, committer.engine, user.username, body.request_id, body.member_id)
    ):
        raise redemption.RequestReused()  # this caller's key, already used for another member
    attrs = {"by": user.username, **({"merchant": body.merchant} if body.merchant else {})}
    event = group_commit.redeem_event(committer, body.member_id, body.reward_id, body.qty, body.request_id, attrs)
    [outcome] = await committer.apost([event])
    if outcome.status == "rejected":  # a reused key (the member's, with another body) tells nothing of its request
        raise redemption.refusal(outcome)
    if outcome.redemption is None or outcome.redemption["member_id"] != body.member_id:
        raise redemption.RequestReused()
    duplicate = outcome.status == "duplicate"
    return (200 if duplicate else 201), {**redemption_out(outcome.redemption), "duplicate": duplicate}


@router.post("/events", response_model=PostOut)
async def post(body: EventsIn, request: Request, user: User = Depends(require("events:post"))):
    """Post up to 1000 events in one transaction. Good events post; each bad one is listed with its index,
    field and reason; an event id already posted is a duplicate and changes nothing, so a retry is safe."""
    return await post_request(committer_of(request), body, user)


@router.post(
    "/redemptions",
    response_model=Redemption,
    status_code=201,
    responses={
        200: {"description": "the same request id was already redeemed: its outcome"},
        404: {"description": "unknown_reward"},
        409: {
            "description": "refused, with its own code (docs/errors.md): not_enough_points, "
            "out_of_stock, member_limit, tier_not_allowed, outside_window, "
            "merchant_not_partner, request_id_reused, month_closed"
        },
    },
)
async def redeem(body: RedeemIn, request: Request, response: Response, user: User = Depends(require("points:redeem"))):
    """Redeem a reward: points come from the earliest-expiring lots; stock and limits are checked in the same
    transaction, so no balance or stock is overspent however many requests race."""
    response.status_code, out = await redeem_request(committer_of(request), user, body)
    return out


@router.get("/redemptions/{redemption_id}", response_model=Redemption)
def get_redemption(
    request: Request, redemption_id: str = Path(max_length=160), user: User = Depends(require("redemptions:read"))
):
    """One redemption and the lots its points came from."""
    found = redemption.redemption(engine_of(request), redemption_id)
    if found is None or (user.role == "member" and found["member_id"] != user.member_id):
        raise redemption.UnknownRedemption("unknown_redemption", redemption=redemption_id)
    return redemption_out(found)


@router.post(
    "/redemptions/{redemption_id}/cancel",
    response_model=Redemption,
    responses={404: {"description": "unknown redemption"}, 409: {"description": "not cancellable"}},
)
def cancel(
    request: Request,
    body: CancelIn | None = None,
    redemption_id: str = Path(max_length=160),
    user: User = Depends(require("redemptions:cancel")),
):
    """Cancel a redemption whose fulfilment failed: its points go back to the very lots they came from.
    Other reasons are accepted only for rewards the plan marks refundable."""
    engine = engine_of(request)
    if redemption.redemption(engine, redemption_id) is None:
        raise redemption.UnknownRedemption("unknown_redemption", redemption=redemption_id)
    reason = body.reason if body else redemption.FULFILMENT_FAILED
    found = redemption.cancel(engine, redemption_id, reason)  # refused: its own code (redemption_final, ...)
    audit(engine, user, "redemption.cancel", redemption_id, {"reason": reason})
    return redemption_out(found)


@router.post(
    "/events/{event_id}/reverse",
    response_model=ReverseOut,
    responses={404: {"description": "unknown event"}, 409: {"description": "cannot be reversed"}},
)
def reverse(request: Request, event_id: str = Path(max_length=128), user: User = Depends(require("events:reverse"))):
    """Reverse every point an event earned (a full refund), following the plan's reversal policy. Reversing
    twice changes nothing; a reversal id taken by another event is 409 ``reversal_id_taken``; an unknown event is
    404 ``unknown_event``; the ledger's refusal is 409 with its own code."""
    engine = engine_of(request)
    done = reversal.reverse(engine, event_id)
    audit(engine, user, "event.reverse", event_id, {"member_id": done.member_id})
    return {"event_id": event_id, "reversal": done.reversal, "member_id": done.member_id, "duplicate": done.duplicate}


@router.get("/members/{member_id}/balance")
def balance(
    request: Request,
    member_id: str = ID,
    at: date | None = Query(None, description="End of this day (default today)."),
    user: User = Depends(require("points:read")),
) -> dict:
    """Balance at the end of a day, the lots that make it up (what expires when), debt, and points expiring
    within 90 days. A day of a closed month is read as that month's close left the lake ledger."""
    own_member(user, member_id)
    engine = engine_of(request)
    # a day of a closed month reads the lake at the version that month's close recorded (issue 21: time travel)
    version = store.close_versions(request.app.state.data_dir, at.isoformat()[:7]).get("lake/accruals") if at else None
    data = queries.balance(engine, member_id, at or plan_today(engine), lake_version=version)
    if data is None:
        raise NotFound("unknown_member", member=member_id)
    return data


@router.get("/members/{member_id}/statement")
def statement(
    request: Request,
    member_id: str = ID,
    start: date | None = Query(None, alias="from"),
    end: date | None = Query(None, alias="to"),
    user: User = Depends(require("points:read")),
) -> dict:
    """Every journal entry in a period with its rule, lot, event and running balance; opening and closing
    balances and totals earned, redeemed, expired, reversed."""
    own_member(user, member_id)
    if start and end and start > end:
        raise Invalid("statement_period_reversed", Where(field="from"), start=start, end=end)
    data = queries.statement(engine_of(request), member_id, start, end)
    if data is None:
        raise NotFound("unknown_member", member=member_id)
    for line in data["lines"]:  # a campaign's award note as its code and parameters (the text beside stays)
        said = ledger_note({"reason": line["note"]}) if line["note"].startswith("campaign ") else None
        if said is not None:
            line["campaign_note"] = said
    return data


@router.get("/members/{member_id}/redemptions")
def member_redemptions(
    request: Request,
    member_id: str = ID,
    limit: int = Query(50, ge=1, le=500),
    user: User = Depends(require("redemptions:read")),
) -> dict:
    """The member's redemptions, newest first."""
    own_member(user, member_id)
    rows = catalogue_service.redemptions_of(engine_of(request), member_id, limit)
    return {"member_id": member_id, "redemptions": [redemption_out(r) for r in rows]}


@router.post(
    "/members/{member_id}/checkin", status_code=201, responses={200: {"description": "already checked in today"}}
)
def checkin(
    request: Request, response: Response, member_id: str = ID, user: User = Depends(require("points:checkin"))
) -> dict:
    """Daily check-in (签到) for the logged-in member: earns what the plan's check-in rule gives, with its
    streak bonus. Once a day; checking in again the same day changes nothing."""
    own_member(user, member_id)
    engine = engine_of(request)
    done = selfservice.check_in(engine, member_id, datetime.now(_tz(engine)))  # refused: 409 with the ledger's code
    if done["duplicate"]:
        response.status_code = 200
    return done


@router.get("/lots/expiring")
def expiring(
    request: Request,
    within_days: int = Query(30, ge=1, le=3660),
    limit: int = Query(100, ge=1, le=1000),
    user: User = Depends(require("points:expiring")),
) -> dict:
    """Points expiring from tomorrow to ``within_days`` days ahead: totals and the members with the most."""
    engine = engine_of(request)
    return catalogue_service.expiring_soon(engine, plan_today(engine), within_days, limit)


@router.get("/catalogue")
def catalogue(request: Request, user: User = Depends(require("catalogue:read"))) -> dict:
    """Rewards of the active plan: cost, type, limits, window, stock left and whether it can be redeemed today."""
    engine = engine_of(request)
    return catalogue_service.catalogue(engine, plan_today(engine))  # 409 no_active_plan before a plan
