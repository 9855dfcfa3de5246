"""Redeeming rewards and cancelling redemptions whose fulfilment failed."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from weixi.adapters import ledger_repo as repo
from weixi.adapters.sql import execute, select_in
from weixi.errors import Conflict, NotFound, Where
from weixi.ledger.book import Book, BookState, Redemption
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events, with_retries
from weixi.ledger.requests import scoped_id
from weixi.ledger.state import period_keys
from weixi.plans.service import active_plan

FULFILMENT_FAILED = "fulfilment_failed"


class RedemptionError(Conflict):
    """A redemption or a cancellation refused, with its code (``not_enough_points``, ``out_of_stock``,
    ``member_limit``, ``tier_not_allowed``, ``outside_window``, ``month_closed``, ...) and its numbers in
    ``params``; ``str()`` is the English sentence."""


class UnknownReward(NotFound, RedemptionError):
    """The reward is not in the active plan (API: 404 ``unknown_reward``)."""


class UnknownRedemption(NotFound, RedemptionError):
    """No redemption has this id (API: 404 ``unknown_redemption``)."""


class RequestReused(RedemptionError):
    """The ``request_id`` was already used for this member with another body (API: 409 ``request_id_reused``)."""

    def __init__(self):
        super().__init__("request_id_reused", Where(field="request_id"))


def refusal(rejection) -> RedemptionError:
    """The error of a refused redeem event (a :class:`~weixi.ledger.events.Rejection` or a writer
    :class:`~weixi.adapters.writer.Outcome`): its class says the HTTP status, its code and params what it was."""
    if rejection.field == "request_id":
        return RequestReused()
    code, params = rejection.code, rejection.params or {}
    if code is None:  # refused before codes were stored, or by the file reader: the sentence is all there is
        code, params = "event_rejected", {"reason": rejection.reason or "refused"}
    where = Where(field=rejection.field) if rejection.field else None
    return (UnknownReward if code == "unknown_reward" else RedemptionError)(code, where, **params)


@dataclass(frozen=True)
class RedeemOutcome:
    redemption: dict
    duplicate: bool


def now_in_plan_zone(engine: Engine) -> datetime:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, plan = active_plan(conn)
    return datetime.now(ZoneInfo(plan.timezone))


def redeem_event(
    member_id: str, reward_id: str, qty: int, request_id: str | None, moment: datetime, attrs: dict | None = None
) -> Event:
    """The redeem event of a request. With ``request_id`` its id is the key scoped to the member
    (``redeem:<request id>:<member tag>``, :func:`weixi.ledger.requests.scoped_id`): the same key for another
    member is another request, and the same key for this member with another body is refused as reused."""
    event_id = scoped_id("redeem", request_id, member_id) if request_id else f"redeem:{uuid.uuid4().hex}"
    return Event(
        event_id,
        member_id,
        "redeem",
        moment,
        moment.date(),
        ref=reward_id,
        attrs={**(attrs or {}), "qty": qty, **({"request_id": request_id} if request_id else {})},
    )


def redeem(
    engine: Engine,
    member_id: str,
    reward_id: str,
    qty: int = 1,
    request_id: str | None = None,
    at: datetime | None = None,
    attrs: dict | None = None,
) -> RedeemOutcome:
    """Redeem ``qty`` units; with ``request_id`` a retry (same member, reward, qty, merchant) returns the first
    outcome and changes nothing; the same key with another body raises :class:`RequestReused`."""
    event = redeem_event(member_id, reward_id, qty, request_id, at or now_in_plan_zone(engine), attrs)
    result = post_events(engine, [event], time_rules=at is None)
    if result.rejected:
        raise refusal(result.rejected[0])
    found = redemption(engine, event.event_id)
    if found is None or found["member_id"] != member_id:
        raise RequestReused()
    return RedeemOutcome(found, duplicate=bool(result.duplicates))


def redemption(engine: Engine, redemption_id: str) -> dict | None:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        row = repo.load_redemption(conn, redemption_id)
    if row is None:
        return None
    keys = ("redemption_id", "member_id", "reward_id", "qty", "points", "day", "status", "details", "request_id")
    out = dict(zip(keys, row))
    out["details"] = json.loads(out["details"])
    out["day"] = str(out["day"])[:10]
    return out


def cancel(engine: Engine, redemption_id: str, reason: str = FULFILMENT_FAILED, day: date | None = None) -> dict:
    """Return the points to the lots they came from. Final redemptions can only be cancelled when fulfilment failed."""

    def work(conn):
        version, plan = active_plan(conn)
        row = repo.load_redemption(conn, redemption_id)
        if row is None:
            raise UnknownRedemption("unknown_redemption", redemption=redemption_id)
        rid, member_id, reward_id, qty, points, rday, status, details, request_id = row
        if status != "fulfilled":
            raise RedemptionError("redemption_not_fulfilled", redemption=redemption_id, status=status)
        reward = plan.reward(reward_id)
        refundable = reward is not None and reward.refundable
        if reason != FULFILMENT_FAILED and not refundable:
            raise RedemptionError("redemption_final", redemption=redemption_id)
        taken = [(lot_id, n) for lot_id, n in json.loads(details)["lots"]]
        when = day or datetime.now(ZoneInfo(plan.timezone)).date()
        state = BookState(members=repo.load_members(conn, [member_id], lock=True))
        lots = [
            repo.lot_from_row(r)
            for r in select_in(conn, f"SELECT {repo.LOT_COLS} FROM lots WHERE lot_id {{in}}", [t[0] for t in taken])
        ]
        state.lots = {member_id: lots}
        state.stock = repo.load_stock(conn, [reward_id])
        state.counters = repo.load_counters(conn, [member_id], period_keys(repo.as_date(rday)))
        book = Book(plan, version, state)
        red = Redemption(rid, member_id, reward_id, qty, points, repo.as_date(rday), {}, request_id)
        book.cancel_redemption(red, taken, when, reason)
        repo.write_changes(conn, book.s, book.changes, version, {})
        execute(
            conn,
            "UPDATE redemptions SET status = 'cancelled', cancel_reason = ?, cancelled_on = ? WHERE redemption_id = ?",
            [reason, when, redemption_id],
        )
        execute(conn, "UPDATE coupons SET status = 'void' WHERE redemption_id = ?", [redemption_id])

    with_retries(engine, work)
    return redemption(engine, redemption_id)
