"""Months and quarters as plain values (``2016-01``, ``2024-Q1``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from weixi.errors import Invalid

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])\Z")
QUARTER = re.compile(r"(\d{4})-Q([1-4])\Z")


class BadPeriod(Invalid, ValueError):
    """A month or quarter that is not written ``YYYY-MM`` or ``YYYY-Qn``."""


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        match = MONTH.match(str(text).strip())
        if not match:
            raise BadPeriod("incentive_bad_month", text=text)
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        nxt = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return nxt - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        match = QUARTER.match(str(text).strip())
        if not match:
            raise BadPeriod("incentive_bad_quarter", text=text)
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def first(self) -> date:
        return date(self.year, 3 * self.quarter - 2, 1)

    @property
    def last(self) -> date:
        return Month(self.year, 3 * self.quarter).last

    def previous(self) -> "Quarter":
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year, self.quarter - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-Q{self.quarter}"


def period(text: str) -> Month | Quarter:
    """A month ``YYYY-MM`` or a quarter ``YYYY-Qn``."""
    return Quarter.parse(text) if "Q" in str(text).upper() else Month.parse(text)
