"""Months as the close sees them (``YYYY-MM``): thin names over the one month helper in
:mod:`weixi.segments.months`."""

from __future__ import annotations

from datetime import date

from weixi.segments import months


def parse_month(text: str) -> str:
    return months.check(text)


def first_day(month: str) -> date:
    months.check(month)
    return date(int(month[:4]), int(month[5:7]), 1)


def next_month(month: str) -> str:
    return months.shift(month, 1)


def previous_month(month: str) -> str:
    return months.shift(month, -1)


def month_end(month: str) -> date:
    return months.end(month)


def window(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month``, oldest first."""
    return [months.shift(month, -i) for i in range(n - 1, -1, -1)]
