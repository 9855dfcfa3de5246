"""When a lot expires. ``expires_on`` is the first day on which the lot can no longer be used."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from weixi.plans.model import Expiry, ExpiryRule


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months; the day of month is clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def expires_on(expiry: Expiry, earned_on: date) -> date | None:
    rule, n = expiry.rule, expiry.n
    if rule is ExpiryRule.NEVER:
        return None
    if rule is ExpiryRule.DAYS_AFTER:
        return earned_on + timedelta(days=n)
    if rule is ExpiryRule.MONTHS_AFTER:
        return add_months(earned_on, n)
    if rule is ExpiryRule.END_OF_MONTH_AFTER:
        return add_months(earned_on.replace(day=1), n + 1)
    if rule is ExpiryRule.END_OF_YEAR_AFTER:
        return date(earned_on.year + n + 1, 1, 1)
    raise ValueError(f"unknown expiry rule {rule!r}")
