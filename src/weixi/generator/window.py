"""The months the synthetic operator covers, as day numbers (days since 1970-01-01)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np

from weixi.errors import Invalid
from weixi.members.lunar import spring_festival

_EPOCH = date(1970, 1, 1)
_MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class WindowError(Invalid, ValueError):
    """An end month or a number of months the synthetic operator cannot cover."""


def parse_month(text: str) -> tuple[int, int]:
    m = _MONTH_RE.match(text.strip())
    if not m:
        raise WindowError("generate_bad_month", text=text)
    return int(m.group(1)), int(m.group(2))


def day_number(d: date) -> int:
    return (d - _EPOCH).days


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later (clamped to the month's last day)."""
    y, m = divmod(d.month - 1 + months, 12)
    y += d.year
    m += 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


def add_months_days(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Vectorised :func:`add_months` on day numbers."""
    dt = np.asarray(days).astype("datetime64[D]")
    month_start = dt.astype("datetime64[M]")
    dom = (dt - month_start.astype("datetime64[D]")).astype(np.int64)
    target = month_start + np.asarray(months).astype("timedelta64[M]")
    dim = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return (target.astype("datetime64[D]") + np.minimum(dom, dim - 1)).astype(np.int64)


@dataclass(frozen=True)
class Window:
    end_year: int
    end_month: int
    months: int

    @classmethod
    def ending(cls, end_month: str, months: int) -> Window:
        if months < 1 or months > 120:
            raise WindowError("generate_months_range", max=120)
        y, m = parse_month(end_month)
        return cls(y, m, months)

    @cached_property
    def month_starts(self) -> list[date]:
        last = date(self.end_year, self.end_month, 1)
        return [add_months(last, k - self.months + 1) for k in range(self.months)]

    @cached_property
    def labels(self) -> list[str]:
        return [f"{d.year:04d}-{d.month:02d}" for d in self.month_starts]

    @cached_property
    def start_days(self) -> np.ndarray:
        return np.array([day_number(d) for d in self.month_starts], dtype=np.int64)

    @cached_property
    def days_in_month(self) -> np.ndarray:
        ends = [day_number(add_months(d, 1)) for d in self.month_starts]
        return np.array(ends, dtype=np.int64) - self.start_days

    @property
    def first_day(self) -> int:
        return int(self.start_days[0])

    @property
    def last_day(self) -> int:
        return int(self.start_days[-1] + self.days_in_month[-1] - 1)

    def month_of_day(self, days: np.ndarray) -> np.ndarray:
        """Month index of day numbers (-1 before the window, ``months`` after it)."""
        idx = np.searchsorted(self.start_days, days, side="right") - 1
        return np.where(np.asarray(days) > self.last_day, self.months, idx)

    @cached_property
    def spring_festival_month(self) -> np.ndarray:
        """Boolean per month: the month that contains Spring Festival (春节, 正月初一)."""
        flags = np.zeros(self.months, dtype=bool)
        for k, d in enumerate(self.month_starts):
            sf = spring_festival(d.year)
            flags[k] = sf.year == d.year and sf.month == d.month
        return flags

    @cached_property
    def spring_festival_dates(self) -> list[str]:
        out = []
        for d in self.month_starts:
            sf = spring_festival(d.year)
            if sf.year == d.year and sf.month == d.month:
                out.append(sf.isoformat())
        return out
