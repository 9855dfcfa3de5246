"""Events as they arrive from files, the API or the CLI, and the checks every event passes.

Pure: a raw row (a mapping of column to text or value) becomes an :class:`Event` or a
:class:`Rejection` that says which field is wrong and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from weixi.ledger.attrs import MAX_DEPTH as MAX_ATTRS_DEPTH
from weixi.ledger.attrs import attrs_problem, text_problem
from weixi.plans.model import MAX_AMOUNT_YUAN

EVENT_TYPES = (
    "bill", "recharge", "checkin", "survey", "review", "share", "activity",
    "signup", "referral", "birthday", "refund", "redeem", "adjust",
)
COLUMNS = ("event_id", "member_id", "type", "occurred_at", "amount", "points", "ref", "attrs")
NEEDS_AMOUNT = {"bill", "recharge"}
NEEDS_REF = {"refund": "the original event id", "redeem": "the reward id", "referral": "the referee's member id"}
MAX_ID_LEN = 128
# Ids the ledger mints itself (reversals, redemptions, check-ins, campaign and incentive credits, deficit lots):
# an event from outside may not take one, or it would stand in for the system's own event (docs/security.md).
SYSTEM_ID_PREFIXES = ("reverse:", "redeem:", "checkin:", "campaign:", "incentive-referral-", "deficit:")
# Bounds of what one event may say; beyond them it is rejected with the field, never stored or computed with.
# MAX_AMOUNT_YUAN (10^10) is defined beside the plan model, whose max_amount may not exceed it
MAX_POINTS = 10 ** 9
MAX_QTY = 10_000
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)
CLOCK_SKEW = timedelta(minutes=5)  # how far after "now" an event may be dated (the sender's clock may be ahead)


@dataclass(frozen=True)
class Event:
    event_id: str
    member_id: str
    type: str
    occurred_at: datetime  # timezone-aware
    day: date  # occurred_at's date in the plan's timezone
    amount_fen: int | None = None
    points: int | None = None
    ref: str | None = None
    attrs: dict = field(default_factory=dict)
    row: int | None = None  # line or row number in the source file

    @property
    def qty(self) -> int:
        return int(self.attrs.get("qty", 1))


@dataclass(frozen=True)
class Rejection:
    """An event not posted: ``reason`` is the English sentence; ``code`` and ``params`` (when the ledger refused
    it, see ``weixi/locale/*/LC_MESSAGES/errors.po``) let an entry point say it in the reader's language."""

    event_id: str
    reason: str
    row: int | None = None
    field: str | None = None
    code: str | None = None
    params: dict | None = None


class EventError(ValueError):
    def __init__(self, field_name: str, reason: str):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from dataframes
        return None
    if isinstance(value, int) and value.bit_length() > 128:  # str() of a huge number is slow, then refused
        raise EventError(key, f"{key} is out of range")
    text = str(value).strip()
    return text or None


def _shown(value: Any) -> str:
    """``value`` for a message: short, and never the text of a huge number."""
    if isinstance(value, int) and value.bit_length() > 128:
        return "a number out of range"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def field_of(reason: str) -> str | None:
    """The column a reason written ``"<column>: ..."`` is about, if any."""
    head, sep, _ = reason.partition(": ")
    return head if sep and head in COLUMNS else None


def system_prefix(event_id: str) -> str | None:
    """The system prefix ``event_id`` starts with (any case), if any: such ids are the ledger's own."""
    folded = event_id.lower()
    return next((p for p in SYSTEM_ID_PREFIXES if folded.startswith(p)), None)


def future_limit(now: datetime) -> datetime:
    """The latest moment an event may be dated when it arrives at ``now``."""
    return now + CLOCK_SKEW


def out_of_range_day(day: date) -> str | None:
    if FIRST_DAY <= day <= LAST_DAY:
        return None
    return f"{day} is out of range: events are dated {FIRST_DAY} to {LAST_DAY}"


def parse_occurred_at(value: Any, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = str(value).strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time())
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise EventError("occurred_at", f"bad date {_shown(text)} in occurred_at: use ISO 8601, e.g. 2026-11-22T10:30:00+08:00") from None
    # more than a day past the bounds, before any conversion: year 1 or 9999 in another zone overflows
    if not FIRST_DAY - timedelta(days=1) <= moment.date() <= LAST_DAY + timedelta(days=1):
        raise EventError("occurred_at", f"occurred_at {out_of_range_day(moment.date())}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def parse_amount_fen(text: str) -> int:
    if len(text) > 40:
        raise EventError("amount", f"malformed amount {_shown(text)}: write yuan as a decimal, e.g. 128.50")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise EventError("amount", f"malformed amount {_shown(text)}: write yuan as a decimal, e.g. 128.50") from None
    if not amount.is_finite():
        raise EventError("amount", f"malformed amount {text!r}")
    if amount < 0:
        raise EventError("amount", f"negative amount {text}: a refund is its own event of type refund")
    if amount > MAX_AMOUNT_YUAN:
        raise EventError("amount", f"amount {text} is out of range: at most {MAX_AMOUNT_YUAN:,} yuan")
    with localcontext() as ctx:
        ctx.prec = 60  # exact for every amount that gets here (at most 40 characters)
        fen = amount * 100
        if fen != fen.to_integral_value():
            raise EventError("amount", f"amount {text} has fractions of a fen: at most 2 decimal places")
    return int(fen)


def parse_attrs(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        attrs = dict(value)
    else:
        text = str(value)
        if problem := text_problem(text):
            raise EventError("attrs", problem)
        try:
            attrs = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EventError("attrs", f"malformed attrs: not JSON ({exc.msg} at char {exc.pos})") from None
        except RecursionError:
            raise EventError("attrs", f"nested deeper than {MAX_ATTRS_DEPTH} levels") from None
        if not isinstance(attrs, dict):
            raise EventError("attrs", "malformed attrs: must be a JSON object like {\"service_type\": \"mobile\"}")
    if problem := attrs_problem(attrs):  # bounded depth, keys and size (weixi.ledger.attrs)
        raise EventError("attrs", problem)
    return attrs


def parse_event(raw: Mapping[str, Any], tz: ZoneInfo, row: int | None = None,
                now: datetime | None = None) -> Event | Rejection:
    """An event from outside (a file, the API). With ``now``, an event dated after ``now`` plus
    :data:`CLOCK_SKEW` is rejected; without it (simulations of a plan) any day within the bounds is fine."""
    event_id = ""
    try:
        event_id = _text(raw, "event_id") or ""
        return _parse(raw, event_id, tz, row, now)
    except EventError as err:
        return Rejection(event_id, f"{err.field}: {err.reason}", row, err.field)


def _parse(raw: Mapping[str, Any], event_id: str, tz: ZoneInfo, row: int | None, now: datetime | None) -> Event:
    if not event_id:
        raise EventError("event_id", "missing event_id")
    if len(event_id) > MAX_ID_LEN:
        raise EventError("event_id", f"event_id longer than {MAX_ID_LEN} characters")
    if prefix := system_prefix(event_id):
        raise EventError("event_id", f"event ids starting with {prefix!r} are reserved for the ledger's own events")
    member_id = _text(raw, "member_id")
    if not member_id:
        raise EventError("member_id", "missing member_id")
    if len(member_id) > MAX_ID_LEN:
        raise EventError("member_id", f"member_id longer than {MAX_ID_LEN} characters")
    etype = (_text(raw, "type") or "").lower()
    if etype not in EVENT_TYPES:
        raise EventError("type", f"unknown type {etype!r}: expected one of {', '.join(EVENT_TYPES)}")
    occurred = _text(raw, "occurred_at") if not isinstance(raw.get("occurred_at"), (date, datetime)) else raw["occurred_at"]
    if occurred is None:
        raise EventError("occurred_at", "missing occurred_at")
    moment = parse_occurred_at(occurred, tz)
    if now is not None and moment > future_limit(now):
        raise EventError("occurred_at", f"occurred_at {moment.isoformat()} is in the future (now "
                                        f"{now.astimezone(tz).isoformat(timespec='seconds')}, {CLOCK_SKEW.seconds // 60} "
                                        f"minutes of clock skew allowed)")
    day = moment.astimezone(tz).date()
    if problem := out_of_range_day(day):
        raise EventError("occurred_at", f"occurred_at {problem}")
    amount_text = _text(raw, "amount")
    amount_fen = parse_amount_fen(amount_text) if amount_text is not None else None
    if etype in NEEDS_AMOUNT and amount_fen is None:
        raise EventError("amount", f"a {etype} event needs an amount in yuan")
    points = _parse_points(raw.get("points"), _text(raw, "points"), etype)
    ref = _text(raw, "ref")
    if etype in NEEDS_REF and not ref:
        raise EventError("ref", f"a {etype} event needs ref: {NEEDS_REF[etype]}")
    if ref is not None and len(ref) > MAX_ID_LEN:
        raise EventError("ref", f"ref longer than {MAX_ID_LEN} characters")
    attrs = parse_attrs(raw.get("attrs"))
    if etype == "redeem":
        qty = attrs.get("qty", 1)
        if isinstance(qty, str) and qty.strip().isdigit() and len(qty.strip()) <= 9:
            qty = int(qty)
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QTY:
            raise EventError("attrs", f"qty must be a whole number from 1 to {MAX_QTY:,}, not {_shown(qty)}")
        attrs["qty"] = qty
    if etype == "adjust":
        _check_adjust(attrs)
    if etype == "referral" and ref == member_id:
        raise EventError("ref", "a member cannot refer themselves")
    return Event(event_id, member_id, etype, moment, day, amount_fen, points, ref, attrs, row)


def _check_adjust(attrs: dict) -> None:
    """A manual adjustment says why (``attrs.reason``, shown on the statement and in the audit log); its
    ``expires_on``, if any, is a day within the bounds."""
    reason = attrs.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise EventError("attrs", "an adjust event needs attrs.reason: why the points are added or deducted")
    expires = attrs.get("expires_on")
    if expires is None:
        return
    try:
        day = date.fromisoformat(expires)
    except (TypeError, ValueError):
        raise EventError("attrs", f"expires_on {_shown(expires)} is not a date (YYYY-MM-DD)") from None
    if problem := out_of_range_day(day):
        raise EventError("attrs", f"expires_on {problem}")


def _parse_points(value: Any, text: str | None, etype: str) -> int | None:
    if text is None:
        if etype == "adjust":
            raise EventError("points", "an adjust event needs points (positive to add, negative to deduct)")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        points = value
    else:
        try:
            if not text.lstrip("+-").isdigit():
                raise ValueError(text)
            points = int(text) if len(text) <= 20 else None
        except ValueError:
            raise EventError("points", f"points must be a whole number, not {_shown(text)}") from None
    if points is None or abs(points) > MAX_POINTS:
        raise EventError("points", f"points are out of range: at most {MAX_POINTS:,} either way")
    if etype == "adjust":
        if points == 0:
            raise EventError("points", "an adjustment of 0 points changes nothing")
        return points
    if points != 0:
        raise EventError("points", f"points are computed by the plan for {etype} events; leave the column empty")
    return None
