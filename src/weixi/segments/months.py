"""Closing months (``YYYY-MM``) as plain Python dates: every date a job compares with is a literal."""

from __future__ import annotations

import re
from datetime import date, timedelta

from weixi.errors import Invalid

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])\Z")


class NotAMonth(Invalid, ValueError):
    """A month that is not ``YYYY-MM`` (a ``ValueError`` too, for callers that check input that way)."""


def check(month: str) -> str:
    if not isinstance(month, str) or not MONTH.match(month):
        raise NotAMonth("not_a_month", month=month)
    return month


def index(month: str) -> int:
    """Months since year 0: ``index('2026-01') - index('2025-12') == 1``."""
    check(month)
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def from_index(value: int) -> str:
    return f"{value // 12:04d}-{value % 12 + 1:02d}"


def shift(month: str, n: int) -> str:
    return from_index(index(month) + n)


def end(month: str) -> date:
    """The last day of ``month``: the date a close looks at."""
    following = shift(month, 1)
    return date(int(following[:4]), int(following[5:7]), 1) - timedelta(days=1)


def first_of_window(month: str, n: int) -> str:
    """The first month of the ``n`` months ending with ``month``."""
    return shift(month, -(n - 1))
