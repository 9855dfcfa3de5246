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

from weixi.errors import Invalid, Problem, Where
from weixi.ledger.attrs import MAX_DEPTH as MAX_ATTRS_DEPTH
from weixi.ledger.attrs import attrs_problem, text_problem
from weixi.plans.model import MAX_AMOUNT_YUAN

EVENT_TYPES = (
    "bill",
    "recharge",
    "checkin",
    "survey",
    "review",
    "share",
    "activity",
    "signup",
    "referral",
    "birthday",
    "refund",
    "redeem",
    "adjust",
)
COLUMNS = ("event_id", "member_id", "type", "occurred_at", "amount", "points", "ref", "attrs")
NEEDS_AMOUNT = {"bill", "recharge"}
NEEDS_REF = {"refund": "the original event id", "redeem": "the reward id", "referral": "the referee's member id"}
MAX_ID_LEN = 128
# Ids the ledger mints itself (reversals, redemptions, check-ins, campaign and incentive credits, deficit lots):
# an event from outside may not take one, or it would stand in for the system's own event (docs/security.md).
SYSTEM_ID_PREFIXES = ("reverse:", "redeem:", "checkin:", "campaign:", "incentive-referral-", "deficit:", "care:")
# Bounds of what one event may say; beyond them it is rejected with the field, never stored or computed with.
# MAX_AMOUNT_YUAN (10^10) is defined beside the plan model, whose max_amount may not exceed it
MAX_POINTS = 10**9
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
    """An event not posted: ``reason`` is the English sentence (``"<field>: ..."`` when a field failed its check);
    ``code`` and ``params`` (``weixi/locale/*/LC_MESSAGES/errors.po``) let an entry point say it in the reader's
    language, and :attr:`problem` is the rejection as a located problem (row and field)."""

    event_id: str
    reason: str
    row: int | None = None
    field: str | None = None
    code: str | None = None
    params: dict | None = None

    @property
    def problem(self) -> Problem:
        where = Where(row=self.row, field=self.field) if self.row is not None or self.field else None
        return Problem(self.code or "event_rejected", dict(self.params or {"reason": self.reason}), where)

    def to_json(self) -> dict:
        """The rejection for ``--json`` and the API: event id, row, field, the English reason, code and params."""
        problem = self.problem
        return {
            "row": self.row,
            "event_id": self.event_id,
            "field": self.field,
            "reason": self.reason,
            "code": problem.code,
            "params": problem.params,
        }


class EventError(Invalid, ValueError):
    """A field of an event that fails its check: a ``code`` with its ``params`` and the ``field`` (column) it is
    about; ``reason`` is the English sentence."""

    def __init__(self, code: str, field_name: str, /, **params: Any):
        super().__init__(code, Where(field=field_name), **params)
        self.field = field_name

    @property
    def reason(self) -> str:
        return str(self)


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN from dataframes
        return None
    if isinstance(value, int) and value.bit_length() > 128:  # str() of a huge number is slow, then refused
        raise EventError("event_value_out_of_range", key, event_field=key)
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


def _check_day(day: date, field_name: str, key: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise EventError("event_day_out_of_range", field_name, event_field=key, day=day, first=FIRST_DAY, last=LAST_DAY)


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
            raise EventError("bad_occurred_at", "occurred_at", value=_shown(text)) from None
    # more than a day past the bounds, before any conversion: year 1 or 9999 in another zone overflows
    if not FIRST_DAY - timedelta(days=1) <= moment.date() <= LAST_DAY + timedelta(days=1):
        _check_day(moment.date(), "occurred_at", "occurred_at")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


def parse_amount_fen(text: str) -> int:
    if len(text) > 40:
        raise EventError("malformed_amount", "amount", value=_shown(text))
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise EventError("malformed_amount", "amount", value=_shown(text)) from None
    if not amount.is_finite():
        raise EventError("amount_not_finite", "amount", value=repr(text))
    if amount < 0:
        raise EventError("negative_amount", "amount", amount=text)
    if amount > MAX_AMOUNT_YUAN:
        raise EventError("amount_out_of_range", "amount", amount=text, max=int(MAX_AMOUNT_YUAN))
    with localcontext() as ctx:
        ctx.prec = 60  # exact for every amount that gets here (at most 40 characters)
        fen = amount * 100
        if fen != fen.to_integral_value():
            raise EventError("amount_fraction_of_fen", "amount", amount=text)
    return int(fen)


def parse_attrs(value: Any) -> dict:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        attrs = dict(value)
    else:
        text = str(value)
        if problem := text_problem(text):
            raise EventError(problem.code, "attrs", **problem.params)
        try:
            attrs = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EventError("attrs_not_json", "attrs", error=exc.msg, pos=exc.pos) from None
        except RecursionError:
            raise EventError("attrs_too_deep", "attrs", max=MAX_ATTRS_DEPTH) from None
        if not isinstance(attrs, dict):
            raise EventError("attrs_not_object", "attrs")
    if problem := attrs_problem(attrs):  # bounded depth, keys and size (weixi.ledger.attrs)
        raise EventError(problem.code, "attrs", **problem.params)
    return attrs


def parse_event(
    raw: Mapping[str, Any], tz: ZoneInfo, row: int | None = None, now: datetime | None = None
) -> Event | Rejection:
    """An event from outside (a file, the API). With ``now``, an event dated after ``now`` plus
    :data:`CLOCK_SKEW` is rejected; without it (simulations of a plan) any day within the bounds is fine."""
    event_id = ""
    try:
        event_id = _text(raw, "event_id") or ""
        return _parse(raw, event_id, tz, row, now)
    except EventError as err:
        return Rejection(event_id, f"{err.field}: {err.reason}", row, err.field, err.code, err.params)


def _parse(raw: Mapping[str, Any], event_id: str, tz: ZoneInfo, row: int | None, now: datetime | None) -> Event:
    if not event_id:
        raise EventError("event_field_missing", "event_id", event_field="event_id")
    if len(event_id) > MAX_ID_LEN:
        raise EventError("event_field_too_long", "event_id", event_field="event_id", max=MAX_ID_LEN)
    if prefix := system_prefix(event_id):
        raise EventError("event_id_reserved", "event_id", prefix=prefix)
    member_id = _text(raw, "member_id")
    if not member_id:
        raise EventError("event_field_missing", "member_id", event_field="member_id")
    if len(member_id) > MAX_ID_LEN:
        raise EventError("event_field_too_long", "member_id", event_field="member_id", max=MAX_ID_LEN)
    etype = (_text(raw, "type") or "").lower()
    if etype not in EVENT_TYPES:
        raise EventError("unknown_event_type", "type", type=etype, event_type=list(EVENT_TYPES))
    occurred = (
        _text(raw, "occurred_at") if not isinstance(raw.get("occurred_at"), (date, datetime)) else raw["occurred_at"]
    )
    if occurred is None:
        raise EventError("event_field_missing", "occurred_at", event_field="occurred_at")
    moment = parse_occurred_at(occurred, tz)
    if now is not None and moment > future_limit(now):
        raise EventError(
            "event_in_future",
            "occurred_at",
            moment=moment.isoformat(),
            now=now.astimezone(tz).isoformat(timespec="seconds"),
            skew=CLOCK_SKEW.seconds // 60,
        )
    day = moment.astimezone(tz).date()
    _check_day(day, "occurred_at", "occurred_at")
    amount_text = _text(raw, "amount")
    amount_fen = parse_amount_fen(amount_text) if amount_text is not None else None
    if etype in NEEDS_AMOUNT and amount_fen is None:
        raise EventError("event_needs_amount", "amount", event_type=etype)
    points = _parse_points(raw.get("points"), _text(raw, "points"), etype)
    ref = _text(raw, "ref")
    if etype in NEEDS_REF and not ref:
        raise EventError("event_needs_ref", "ref", event_type=etype, ref_of=etype)
    if ref is not None and len(ref) > MAX_ID_LEN:
        raise EventError("event_field_too_long", "ref", event_field="ref", max=MAX_ID_LEN)
    attrs = parse_attrs(raw.get("attrs"))
    if etype == "redeem":
        qty = attrs.get("qty", 1)
        if isinstance(qty, str) and qty.strip().isdigit() and len(qty.strip()) <= 9:
            qty = int(qty)
        if not isinstance(qty, int) or isinstance(qty, bool) or not 1 <= qty <= MAX_QTY:
            raise EventError("bad_redeem_qty", "attrs", max=MAX_QTY, value=_shown(qty))
        attrs["qty"] = qty
    if etype == "adjust":
        _check_adjust(attrs)
    if etype == "referral" and ref == member_id:
        raise EventError("self_referral", "ref", member=member_id)
    return Event(event_id, member_id, etype, moment, day, amount_fen, points, ref, attrs, row)


def _check_adjust(attrs: dict) -> None:
    """A manual adjustment says why (``attrs.reason``, shown on the statement and in the audit log); its
    ``expires_on``, if any, is a day within the bounds."""
    reason = attrs.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise EventError("adjust_needs_reason", "attrs")
    expires = attrs.get("expires_on")
    if expires is None:
        return
    try:
        day = date.fromisoformat(expires)
    except (TypeError, ValueError):
        raise EventError("bad_expires_on", "attrs", value=_shown(expires)) from None
    _check_day(day, "attrs", "expires_on")


def _parse_points(value: Any, text: str | None, etype: str) -> int | None:
    if text is None:
        if etype == "adjust":
            raise EventError("adjust_needs_points", "points")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        points = value
    else:
        try:
            if not text.lstrip("+-").isdigit():
                raise ValueError(text)
            points = int(text) if len(text) <= 20 else None
        except ValueError:
            raise EventError("points_not_whole", "points", value=_shown(text)) from None
    if points is None or abs(points) > MAX_POINTS:
        raise EventError("points_out_of_range", "points", max=MAX_POINTS)
    if etype == "adjust":
        if points == 0:
            raise EventError("adjust_zero_points", "points")
        return points
    if points != 0:
        raise EventError("points_not_allowed", "points", event_type=etype)
    return None
