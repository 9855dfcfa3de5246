"""Programme figures for finance (issue 20 §13: "Redemption rate (兑换率), breakage (points that will never be
redeemed: expired and projected), the monthly points budget of the ongoing programme and its burn, conversion
rate") on a ledger small enough that every figure is computed by hand below, on SQLite and PostgreSQL.

The plan: 1 point per yuan, points valid 30 days, a 1-yuan bill credit for 100 points, 1 point = 1 fen.

January: M1 bill 400 yuan on 01-05 (lot expires 02-04), M2 bill 200 yuan on 01-10 (expires 02-09), M4 bill 50 yuan
on 01-30 (expires 03-01), M1 redeems 3 credits (300 points) on 01-20. The close of January expires what is due on
02-01: nothing.
February: M3 bill 500 yuan on 02-15 (expires 03-17), M3 redeems 1 credit on 02-20, M2 bill 100 yuan on 02-25
(expires 03-27), M2 redeems 1 credit on 02-26 and it is cancelled on 02-27 (the points go back to M2's lot). The
close of February expires what is due on 03-01: M1's 100 left of 400, M2's first 200 and M4's 50 (an expiry entry is
dated its lot's expiry date: M4's is in March's journal).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tests.conftest import BACKENDS
from tests.integration.helpers import TZ, event
from weixi.close import programme
from weixi.ledger.expire import expire
from weixi.ledger.posting import post_events
from weixi.ledger.redemption import cancel, redeem
from weixi.plans import service as plans

PLAN = """\
plan: finance-figures
name: 财务指标
cost_per_point: "0.01"
expiry: {days_after: 30}
earning:
  - {id: bill, type: spend, on: [bill], points: 1, per_yuan: 1, rounding: floor}
rewards:
  - {id: credit, type: bill_credit, name: 话费1元, cost: 100, credit_yuan: 1, refundable: true}
"""


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T10:00:00").replace(tzinfo=TZ)


def _plan(engine):
    plans.apply_plan_text(engine, PLAN, "test")
    with engine.connect() as conn, conn.begin():
        return plans.active_plan(conn)[1]


def _january(engine):
    events = [
        event("b1", "M1", "bill", "2026-01-05", 40_000),
        event("b2", "M2", "bill", "2026-01-10", 20_000),
        event("b5", "M4", "bill", "2026-01-30", 5_000),
    ]
    assert post_events(engine, events).posted == 3
    redeem(engine, "M1", "credit", 3, request_id="r1", at=at("2026-01-20"))
    assert expire(engine, date(2026, 2, 1)).points == 0


def _february(engine):
    assert post_events(engine, [event("b3", "M3", "bill", "2026-02-15", 50_000)]).posted == 1
    redeem(engine, "M3", "credit", 1, request_id="r2", at=at("2026-02-20"))
    assert post_events(engine, [event("b4", "M2", "bill", "2026-02-25", 10_000)]).posted == 1
    cancelled = redeem(engine, "M2", "credit", 1, request_id="r3", at=at("2026-02-26")).redemption
    assert cancel(engine, cancelled["redemption_id"], day=date(2026, 2, 27))["status"] == "cancelled"
    assert expire(engine, date(2026, 3, 1)).points == 100 + 200 + 50


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_january_before_any_lot_has_expired_has_no_projection(engine):
    plan = _plan(engine)
    _january(engine)
    jan = programme.live(engine, "2026-01", plan, budget=1_000)
    assert (jan["month"], jan["as_of"], jan["basis"]) == ("2026-01", "2026-02-01", "ledger")
    assert jan["issued"] == {"month": 650, "to_date": 650}
    # 兑换率: 300 redeemed of 650 issued
    assert jan["redemption_rate"]["month"] == {"numerator": 300, "denominator": 650, "rate": "0.4615"}
    breakage = jan["breakage"]
    assert breakage["expired"] == {"month": 0, "to_date": 0}
    # no lot has reached its expiry date: no history to project from
    assert breakage["projection"]["expiry_ratio"] == {"numerator": 0, "denominator": 0, "rate": None}
    assert breakage["projection"]["outstanding_expiring"] == 100 + 200 + 50
    assert (breakage["projected"], breakage["total"], breakage["total_yuan"], breakage["rate"]) == (None,) * 4
    # burn: 650 of a 1,000-point budget (10.00 yuan at 1 fen a point)
    assert jan["budget"] == {
        "points": 1_000,
        "yuan": "10.00",
        "issued": 650,
        "issued_yuan": "6.50",
        "burn": {"numerator": 650, "denominator": 1_000, "rate": "0.6500"},
    }
    # conversion: M1 of the three members the ledger knows
    assert jan["conversion"] == {"numerator": 1, "denominator": 3, "rate": "0.3333"}


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_february_by_hand(engine):
    plan = _plan(engine)
    _january(engine)
    _february(engine)
    feb = programme.live(engine, "2026-02", plan, budget=800)
    assert feb["cost_per_point_yuan"] == "0.01"
    assert feb["issued"] == {"month": 500 + 100, "to_date": 400 + 200 + 50 + 500 + 100}
    assert feb["redeemed"] == {"month": 100 + 100 - 100, "to_date": 300 + 100}  # M2's redemption was cancelled
    assert feb["redemption_rate"] == {
        "month": {"numerator": 100, "denominator": 600, "rate": "0.1667"},
        "to_date": {"numerator": 400, "denominator": 1_250, "rate": "0.3200"},
    }
    breakage = feb["breakage"]
    assert breakage["expired"] == {"month": 300, "to_date": 300}  # dated 02-04 and 02-09; M4's 50 on 03-01
    assert breakage["past_expiry_date"] == 50
    # lots past their expiry date: M1's 400 (100 expired), M2's 200 and M4's 50 (all expired): 350 of 650
    assert breakage["projection"]["expiry_ratio"] == {"numerator": 350, "denominator": 650, "rate": "0.5385"}
    # still outstanding on lots with an expiry date: M3's 400 and M2's 100 (back from the cancellation)
    assert breakage["projection"]["outstanding_expiring"] == 500
    assert breakage["projection"]["outstanding_never_expiring"] == 0
    assert breakage["projected"] == 500 * 350 // 650 == 269  # 269.2
    assert breakage["total"] == 300 + 50 + 269
    assert breakage["total_yuan"] == "6.19"
    assert breakage["rate"] == {"numerator": 619, "denominator": 1_250, "rate": "0.4952"}
    assert feb["budget"]["burn"] == {"numerator": 600, "denominator": 800, "rate": "0.7500"}
    # M1 and M3 redeemed (M2's only redemption was cancelled); four members
    assert feb["conversion"] == {"numerator": 2, "denominator": 4, "rate": "0.5000"}


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_no_budget_no_burn_and_a_budget_given_later(engine):
    plan = _plan(engine)
    _january(engine)
    jan = programme.live(engine, "2026-01", plan)
    assert jan["budget"] == {"points": None, "yuan": None, "issued": 650, "issued_yuan": "6.50", "burn": None}
    later = programme.with_budget(jan, 2_600)
    assert later["budget"]["burn"] == {"numerator": 650, "denominator": 2_600, "rate": "0.2500"}
    assert later["budget"]["yuan"] == "26.00"
    assert programme.with_budget(jan, None) is jan


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_points_past_their_expiry_date_not_yet_expired_are_breakage_for_certain(engine):
    """Before February's expiry run, M1's 100, M2's 200 and M4's 50 are past their dates but still on the lots."""
    plan = _plan(engine)
    _january(engine)
    assert post_events(engine, [event("b3", "M3", "bill", "2026-02-15", 50_000)]).posted == 1
    feb = programme.live(engine, "2026-02", plan)
    breakage = feb["breakage"]
    assert breakage["expired"]["to_date"] == 0
    assert breakage["past_expiry_date"] == 100 + 200 + 50
    assert breakage["projection"]["expiry_ratio"] == {"numerator": 350, "denominator": 650, "rate": "0.5385"}
    assert breakage["projected"] == 500 * 350 // 650 == 269
    assert breakage["total"] == 350 + 269
