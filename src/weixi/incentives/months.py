"""Months, quarters and years as plain values (``2016-01``, ``2024-Q1``, ``2024``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from weixi.errors import Invalid

MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])\Z")
QUARTER = re.compile(r"(\d{4})-Q([1-4])\Z")
YEAR = re.compile(r"(\d{4})\Z")


class BadPeriod(Invalid, ValueError):
    """A month, quarter or year that is not written ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``."""


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        match = MONTH.match(str(text).strip())
        if not match or int(match.group(1)) < 1:  # year 0000 is no date
            raise BadPeriod("incentive_bad_month", text=text)
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last(self) -> date:
        if self.month == 12:
            return date(self.year, 12, 31)  # also 9999-12, after which no date is
        return date(self.year, self.month + 1, 1) - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        match = QUARTER.match(str(text).strip())
        if not match or int(match.group(1)) < 1:  # year 0000 is no date
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


@dataclass(frozen=True)
class Year:
    """A calendar year (the annual satisfaction survey, the annual awards: ``period: year``)."""

    year: int

    @classmethod
    def parse(cls, text: str) -> "Year":
        match = YEAR.match(str(text).strip())
        if not match or int(match.group(1)) < 1:  # year 0000 is no date
            raise BadPeriod("incentive_bad_year", text=text)
        return cls(int(match.group(1)))

    @property
    def first(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last(self) -> date:
        return date(self.year, 12, 31)

    def previous(self) -> "Year":
        return Year(self.year - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}"


def period(text: str) -> Month | Quarter | Year:
    """A month ``YYYY-MM``, a quarter ``YYYY-Qn`` or a year ``YYYY``."""
    if "Q" in str(text).upper():
        return Quarter.parse(text)
    if YEAR.match(str(text).strip()):
        return Year.parse(text)
    return Month.parse(text)
