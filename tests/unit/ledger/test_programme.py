"""The programme figures' arithmetic (issue 20 §13: redemption rate (兑换率), breakage "expired and projected", the
monthly points budget's burn, conversion rate), from counts given by hand. No I/O."""

from __future__ import annotations

from decimal import Decimal

from weixi.ledger.programme import LedgerCounts, Ratio, figures, projected_breakage, yuan

COUNTS = LedgerCounts(
    issued_month=3_000,
    issued_to_date=20_000,
    redeemed_month=1_000,
    redeemed_to_date=9_000,
    expired_month=500,
    expired_to_date=2_000,
    matured_points=7_000,  # earned on lots past their expiry date
    matured_unredeemed=2_100,  # of which never redeemed (30%): 2,000 expired to date + 100 past their date
    past_expiry_date=100,
    outstanding_expiring=7_001,
    outstanding_never_expiring=999,
)


def test_a_ratio_keeps_its_terms_and_rounds_half_up_to_four_places():
    assert Ratio(1, 3).as_dict() == {"numerator": 1, "denominator": 3, "rate": "0.3333"}
    assert Ratio(2, 3).rate == Decimal("0.6667")
    assert Ratio(1, 8).rate == Decimal("0.1250")
    assert Ratio(5, 0).as_dict() == {"numerator": 5, "denominator": 0, "rate": None}


def test_projected_breakage_is_the_historical_expiry_ratio_of_what_can_still_expire_rounded_down():
    assert projected_breakage(COUNTS) == 7_001 * 2_100 // 7_000 == 2_100  # 2100.3
    no_history = LedgerCounts(**{**COUNTS.__dict__, "matured_points": 0, "matured_unredeemed": 0})
    assert projected_breakage(no_history) is None


def test_the_figures_by_hand():
    out = figures(COUNTS, Decimal("0.5"), 4_000, Ratio(120, 1_000))  # half a fen a point
    assert out["redemption_rate"]["month"] == {"numerator": 1_000, "denominator": 3_000, "rate": "0.3333"}
    assert out["redemption_rate"]["to_date"] == {"numerator": 9_000, "denominator": 20_000, "rate": "0.4500"}
    breakage = out["breakage"]
    assert breakage["projected"] == 2_100
    assert breakage["total"] == 2_000 + 100 + 2_100  # expired + past expiry date + projected; never-expiring: none
    assert breakage["total_yuan"] == "21.00"  # 4,200 points x 0.005 yuan
    assert breakage["rate"] == {"numerator": 4_200, "denominator": 20_000, "rate": "0.2100"}
    assert breakage["projection"]["expiry_ratio"]["rate"] == "0.3000"
    assert out["budget"] == {
        "points": 4_000,
        "yuan": "20.00",
        "issued": 3_000,
        "issued_yuan": "15.00",
        "burn": {"numerator": 3_000, "denominator": 4_000, "rate": "0.7500"},
    }
    assert out["conversion"]["rate"] == "0.1200"
    assert out["cost_per_point_yuan"] == "0.005"


def test_money_is_yuan_with_two_decimals_half_up():
    assert yuan(1, Decimal("0.5")) == "0.01"  # 0.005 yuan
    assert yuan(3, Decimal("1")) == "0.03"
    assert yuan(None, Decimal("1")) is None


def test_an_over_budget_month_burns_more_than_one():
    out = figures(COUNTS, Decimal(1), 2_000, Ratio(0, 0))
    assert out["budget"]["burn"]["rate"] == "1.5000"
    assert out["conversion"]["rate"] is None
