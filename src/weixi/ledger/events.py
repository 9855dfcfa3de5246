"""Events as they arrive from files, the API or the CLI, and the checks every event passes.

Pure: a raw row (a mapping of column to text or value) becomes an :class:`Event` or a
:class:`Rejection` that says which field is wrong and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping
from zoneinfo import ZoneInfo

EVENT_TYPES = (
    "bill", "recharge", "checkin", "survey", "review", "share", "activity",
    "signup", "referral", "birthday", "refund", "redeem", "adjust",
)
COLUMNS = ("event_id", "member_id", "type", "occurred_at", "amount", "points", "ref", "attrs")
NEEDS_AMOUNT = {"bill", "recharge"}
NEEDS_REF = {"refund": "the original event id", "redeem": "the reward id", "referral": "the referee's member id"}
MAX_ID_LEN = 128


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
    event_id: str
    reason: str
    row: int | None = None
    field: str | None = None


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
    text = str(value).strip()
    return text or None


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
            raise EventError("occurred_at", f"bad date {text!r} in occurred_at: use ISO 8601, e.g. 2026-11-22T10:30:00+08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def parse_amount_fen(text: str) -> int:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise EventError("amount", f"malformed amount {text!r}: write yuan as a decimal, e.g. 128.50") from None
    if not amount.is_finite():
        raise EventError("amount", f"malformed amount {text!r}")
    if amount < 0:
        raise EventError("amount", f"negative amount {text}: a refund is its own event of type refund")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise EventError("amount", f"amount {text} has fractions of a fen: at most 2 decimal places")
    return int(fen)


def parse_attrs(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        attrs = json.loads(str(value))
    except json.JSONDecodeError as exc:
        raise EventError("attrs", f"malformed attrs: not JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(attrs, dict):
        raise EventError("attrs", "malformed attrs: must be a JSON object like {\"service_type\": \"mobile\"}")
    return attrs


def parse_event(raw: Mapping[str, Any], tz: ZoneInfo, row: int | None = None) -> Event | Rejection:
    event_id = _text(raw, "event_id") or ""
    try:
        return _parse(raw, event_id, tz, row)
    except EventError as err:
        return Rejection(event_id, f"{err.field}: {err.reason}", row, err.field)


def _parse(raw: Mapping[str, Any], event_id: str, tz: ZoneInfo, row: int | None) -> Event:
    if not event_id:
        raise EventError("event_id", "missing event_id")
    if len(event_id) > MAX_ID_LEN:
        raise EventError("event_id", f"event_id longer than {MAX_ID_LEN} characters")
    member_id = _text(raw, "member_id")
    if not member_id:
        raise EventError("member_id", "missing member_id")
    etype = (_text(raw, "type") or "").lower()
    if etype not in EVENT_TYPES:
        raise EventError("type", f"unknown type {etype!r}: expected one of {', '.join(EVENT_TYPES)}")
    occurred = _text(raw, "occurred_at") if not isinstance(raw.get("occurred_at"), (date, datetime)) else raw["occurred_at"]
    if occurred is None:
        raise EventError("occurred_at", "missing occurred_at")
    moment = parse_occurred_at(occurred, tz)
    amount_text = _text(raw, "amount")
    amount_fen = parse_amount_fen(amount_text) if amount_text is not None else None
    if etype in NEEDS_AMOUNT and amount_fen is None:
        raise EventError("amount", f"a {etype} event needs an amount in yuan")
    points = _parse_points(_text(raw, "points"), etype)
    ref = _text(raw, "ref")
    if etype in NEEDS_REF and not ref:
        raise EventError("ref", f"a {etype} event needs ref: {NEEDS_REF[etype]}")
    attrs = parse_attrs(raw.get("attrs"))
    if etype == "redeem":
        qty = attrs.get("qty", 1)
        if isinstance(qty, str) and qty.strip().isdigit():
            qty = int(qty)
        if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
            raise EventError("attrs", f"qty must be a whole number of at least 1, not {qty!r}")
        attrs["qty"] = qty
    if etype == "referral" and ref == member_id:
        raise EventError("ref", "a member cannot refer themselves")
    day = moment.astimezone(tz).date()
    return Event(event_id, member_id, etype, moment, day, amount_fen, points, ref, attrs, row)


def _parse_points(text: str | None, etype: str) -> int | None:
    if text is None:
        if etype == "adjust":
            raise EventError("points", "an adjust event needs points (positive to add, negative to deduct)")
        return None
    try:
        points = int(text)
    except ValueError:
        raise EventError("points", f"points must be a whole number, not {text!r}") from None
    if etype == "adjust":
        if points == 0:
            raise EventError("points", "an adjustment of 0 points changes nothing")
        return points
    if points != 0:
        raise EventError("points", f"points are computed by the plan for {etype} events; leave the column empty")
    return None
