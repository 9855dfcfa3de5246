"""Months as the close sees them: ``YYYY-MM`` strings."""

from __future__ import annotations

import re
from datetime import date, timedelta

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> str:
    if not MONTH.match(text or ""):
        raise ValueError(f"{text!r} is not a month: use YYYY-MM, e.g. 2026-10")
    return text


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def next_month(month: str) -> str:
    d = first_day(month)
    return f"{d.year + (d.month == 12)}-{d.month % 12 + 1:02d}"


def previous_month(month: str) -> str:
    d = first_day(month) - timedelta(days=1)
    return f"{d.year}-{d.month:02d}"


def month_end(month: str) -> date:
    return first_day(next_month(month)) - timedelta(days=1)


def window(month: str, n: int) -> list[str]:
    """The ``n`` months ending with ``month``, oldest first."""
    out = [month]
    while len(out) < n:
        out.insert(0, previous_month(out[0]))
    return out
