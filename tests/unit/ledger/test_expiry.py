from datetime import date

import pytest

from weixi.ledger.expiry import add_months, expires_on
from weixi.plans.model import Expiry
from weixi.plans.model import ExpiryRule as R


@pytest.mark.parametrize(
    "rule,n,earned,expected",
    [
        (R.NEVER, 0, date(2026, 3, 15), None),
        (R.DAYS_AFTER, 365, date(2026, 3, 15), date(2027, 3, 15)),
        (R.MONTHS_AFTER, 12, date(2026, 3, 15), date(2027, 3, 15)),  # seed 000: 积分有效期为一年,自获得之日起计算
        (R.MONTHS_AFTER, 24, date(2026, 3, 15), date(2028, 3, 15)),  # seed 000: 积分的有效期为两年
        (R.MONTHS_AFTER, 1, date(2026, 1, 31), date(2026, 2, 28)),
        (R.MONTHS_AFTER, 12, date(2024, 2, 29), date(2025, 2, 28)),
        (R.END_OF_MONTH_AFTER, 0, date(2026, 3, 15), date(2026, 4, 1)),
        (R.END_OF_MONTH_AFTER, 2, date(2026, 11, 30), date(2027, 2, 1)),
        (R.END_OF_YEAR_AFTER, 1, date(2026, 3, 15), date(2028, 1, 1)),  # "end of next year"
        (R.END_OF_YEAR_AFTER, 0, date(2026, 12, 31), date(2027, 1, 1)),
    ],
)
def test_expires_on_is_the_first_day_the_lot_cannot_be_used(rule, n, earned, expected):
    assert expires_on(Expiry(rule, n), earned) == expected


def test_add_months_crosses_years_backwards_and_forwards():
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)
