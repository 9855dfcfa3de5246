"""The provisional holiday calendar of a year no State Council notice is known for.

The State Council publishes each year's holiday notice late in the year before; ``chinese-calendar`` ships the
notices it knows. For a later year Weixi computes the holidays the law itself fixes (《全国年节及纪念日放假办法》,
as revised in 2024, in force from 2025), which every notice keeps:

* 元旦 1 January (1 day); 劳动节 1-2 May (2 days); 国庆节 1-3 October (3 days);
* 春节 除夕 and 正月初一-初三 (4 days), 端午节 五月初五 and 中秋节 八月十五 (1 day each), from the lunar calendar of
  :mod:`weixi.members.lunar`; 清明节 the day of the 清明 solar term (``chinese-calendar``'s solar terms);
* a statutory day on a Saturday or Sunday, or on another holiday's day, is made up (补休) on the next weekday
  after it that is not already a holiday;
* the weekend days next to a holiday belong to its period (a greeting goes out on the period's first day).

What a notice adds on top - bridging days moved from a weekend (调休), e.g. Spring Festival stretched to 8 or 9 days
with two Saturdays or Sundays worked - is not guessed: it moves rest days without changing how many working days a
month has, and a guessed swap would make a Saturday a working day on a wrong date. The calendar of such a year is
*provisional* until the operator declares the notice (:mod:`weixi.operations.calendar_file`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import numpy as np

from weixi.members import lunar

_EPOCH = date(1970, 1, 1).toordinal()

# the holidays in the order a year meets them, with their statutory days
ORDER = ("new_year", "spring_festival", "qingming", "labour_day", "dragon_boat", "mid_autumn", "national_day")


@dataclass(frozen=True)
class YearCalendar:
    """One year's rest days of holiday periods (day -> holiday id) and weekend days made working days (调休)."""

    year: int
    source: str  # provisional | declared
    holidays: dict[date, str]
    working_days: frozenset[date]
    file: str | None = None

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day not in self.holidays and day.weekday() < 5

    def holiday_of(self, day: date) -> str | None:
        return self.holidays.get(day)


def lunar_day(year: int, month: int, day: int) -> date:
    """The Gregorian date of lunar ``month``/``day`` (not a leap month) of the lunar year that starts in ``year``."""
    start, lunar_year, number, leap = lunar.month_table()
    hit = np.flatnonzero((number == month) & ~leap & (lunar_year == year))
    if not len(hit):
        raise lunar.LunarError("lunar_year_out_of_range", year=year)
    return date.fromordinal(_EPOCH + int(start[hit[0]]) + day - 1)


def qingming(year: int) -> date:
    terms = chinese_calendar.get_solar_terms(date(year, 3, 30), date(year, 4, 10))
    return next(d for d, name in terms if name == "清明")


def statutory_days(year: int) -> list[tuple[date, str]]:
    """The statutory holiday days of ``year`` by law, (day, holiday id), in the order of :data:`ORDER`."""
    new_year_eve = lunar.spring_festival(year) - timedelta(days=1)
    days = {
        "new_year": [date(year, 1, 1)],
        "spring_festival": [new_year_eve + timedelta(days=i) for i in range(4)],
        "qingming": [qingming(year)],
        "labour_day": [date(year, 5, 1), date(year, 5, 2)],
        "dragon_boat": [lunar_day(year, 5, 5)],
        "mid_autumn": [lunar_day(year, 8, 15)],
        "national_day": [date(year, 10, d) for d in (1, 2, 3)],
    }
    return [(d, hid) for hid in ORDER for d in days[hid]]


@lru_cache(maxsize=64)
def provisional(year: int) -> YearCalendar:
    """The provisional calendar of ``year`` (see the module's docstring)."""
    holidays: dict[date, str] = {}
    made_up: list[tuple[date, str]] = []
    for day, hid in statutory_days(year):
        if day in holidays or day.weekday() >= 5:
            made_up.append((day, hid))
        if day not in holidays:
            holidays[day] = hid
    for day, hid in made_up:
        extra = day + timedelta(days=1)
        while extra in holidays or extra.weekday() >= 5:
            extra += timedelta(days=1)
        holidays[extra] = hid
    for day, hid in sorted(holidays.items()):  # the weekends next to a period join it
        for step in (-1, 1):
            other = day + timedelta(days=step)
            while other.year == year and other not in holidays and other.weekday() >= 5:
                holidays[other] = hid
                other += timedelta(days=step)
    return YearCalendar(year, "provisional", dict(sorted(holidays.items())), frozenset())
