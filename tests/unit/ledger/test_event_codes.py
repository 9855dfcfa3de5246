"""Every check of an incoming event refuses with a code and params: the English reason stays the sentence people
and tests know, and the Chinese one comes from the catalogue, complete (no fallback ``code(params)``)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from weixi.errors import Where
from weixi.ledger.events import EventError, Rejection, parse_event
from weixi.messages import render

TZ = ZoneInfo("Asia/Shanghai")
BASE = {"event_id": "e1", "member_id": "m1", "type": "bill", "occurred_at": "2026-01-05", "amount": "10"}

CASES = [
    (
        {"amount": "99999999999999"},
        "amount_out_of_range",
        "amount: amount 99999999999999 is out of range: at most 10,000,000,000 yuan",
    ),
    ({"amount": "-1"}, "negative_amount", "amount: negative amount -1: a refund is its own event of type refund"),
    (
        {"amount": "1.005"},
        "amount_fraction_of_fen",
        "amount: amount 1.005 has fractions of a fen: at most 2 decimal places",
    ),
    ({"amount": "abc"}, "malformed_amount", "amount: malformed amount 'abc': write yuan as a decimal, e.g. 128.50"),
    (
        {"occurred_at": "0001-01-01"},
        "event_day_out_of_range",
        "occurred_at: occurred_at 0001-01-01 is out of range: events are dated 2000-01-01 to 2100-12-31",
    ),
    ({"occurred_at": "soon"}, "bad_occurred_at", None),
    ({"occurred_at": "2099-01-01"}, "event_in_future", None),
    ({"member_id": None}, "event_field_missing", "member_id: missing member_id"),
    ({"event_id": "x" * 200}, "event_field_too_long", "event_id: event_id longer than 128 characters"),
    ({"event_id": "reverse:b1"}, "event_id_reserved", None),
    ({"type": "zz"}, "unknown_event_type", None),
    ({"type": "recharge", "amount": None}, "event_needs_amount", "amount: a recharge event needs an amount in yuan"),
    ({"type": "refund"}, "event_needs_ref", "ref: a refund event needs ref: the original event id"),
    ({"type": "referral", "ref": "m1"}, "self_referral", "ref: a member cannot refer themselves"),
    ({"type": "redeem", "ref": "r", "attrs": '{"qty": 0}'}, "bad_redeem_qty", None),
    ({"type": "adjust", "points": "5"}, "adjust_needs_reason", None),
    ({"type": "adjust", "points": "0", "attrs": '{"reason": "x"}'}, "adjust_zero_points", None),
    ({"type": "adjust", "points": "1.5", "attrs": '{"reason": "x"}'}, "points_not_whole", None),
    ({"type": "adjust", "points": "5", "attrs": '{"reason": "x", "expires_on": "soon"}'}, "bad_expires_on", None),
    ({"points": "5"}, "points_not_allowed", None),
    ({"attrs": "[1]"}, "attrs_not_object", None),
    ({"attrs": "{x"}, "attrs_not_json", None),
    ({"attrs": {str(i): i for i in range(101)}}, "attrs_too_many_keys", "attrs: more than 100 keys"),
]


@pytest.mark.parametrize(("change", "code", "reason"), CASES, ids=[c[1] for c in CASES])
def test_a_bad_field_is_rejected_with_its_code_in_both_languages(change, code, reason):
    raw = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    rejected = parse_event(raw, TZ, row=7, now=datetime.now(timezone.utc))
    assert isinstance(rejected, Rejection) and rejected.code == code, rejected
    if reason is not None:
        assert rejected.reason == reason
    problem = rejected.problem
    assert problem.where == Where(row=7, field=rejected.field)
    assert rejected.reason == f"{rejected.field}: {render(problem, 'en')}"
    chinese = render(problem, "zh_CN")
    assert not chinese.startswith(code) and chinese != render(problem, "en")


def test_event_error_is_an_invalid_value_error_with_its_field():
    err = EventError("event_field_missing", "member_id", event_field="member_id")
    assert isinstance(err, ValueError) and err.status == 422 and err.where == Where(field="member_id")
    assert err.reason == str(err) == "missing member_id"
