"""The Chinese working-day calendar (statutory holidays and swapped working days, 调休), holidays and solar terms.

Working days come from the ``chinese-calendar`` package, never from a hand-written list. The package knows
the State Council's notices only for the years it ships; a date outside them raises :class:`CalendarError`
(an SLA computed on a guessed calendar would be silently wrong): upgrade the package when the new year's notice
is out.
"""

from __future__ import annotations

import calendar as _cal
from datetime import date, timedelta

import chinese_calendar

from weixi.errors import Invalid

# The package's holiday names (English) -> Chinese names for messages and reports.
HOLIDAYS_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
HOLIDAY_IDS = {
    "New Year's Day": "new_year",
    "Spring Festival": "spring_festival",
    "Tomb-sweeping Day": "qingming",
    "Labour Day": "labour_day",
    "Dragon Boat Festival": "dragon_boat",
    "National Day": "national_day",
    "Mid-autumn Festival": "mid_autumn",
    "Anti-Fascist 70th Day": "anti_fascist_70th",
}


class CalendarError(Invalid, ValueError):
    """A date the working-day calendar does not cover, or a unit it does not know."""


def _checked(day: date, call):
    try:
        return call(day)
    except NotImplementedError as exc:
        raise CalendarError("calendar_year_not_covered", version=_version(), year=day.year, detail=str(exc)) from None


def _version() -> str:
    return getattr(chinese_calendar, "__version__", "") or "installed"


def is_working_day(day: date) -> bool:
    """A working day: Monday-Friday that is not a statutory holiday, or a weekend day made a working day."""
    return bool(_checked(day, chinese_calendar.is_workday))


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself does not count); ``n`` may be negative
    (the ``n``-th working day before). ``n == 0``: ``start`` if it is a working day, else the next one."""
    day = start
    if n == 0:
        while not is_working_day(day):
            day += timedelta(days=1)
        return day
    step = 1 if n > 0 else -1
    left = abs(n)
    while left:
        day += timedelta(days=step)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days in (start, end]; negative when ``end`` is before ``start``."""
    if end < start:
        return -working_days_between(end, start)
    n, day = 0, start
    while day < end:
        day += timedelta(days=1)
        n += is_working_day(day)
    return n


def add_months(start: date, n: int) -> date:
    """Same day ``n`` months later, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    y, m = divmod(start.month - 1 + n, 12)
    year, month = start.year + y, m + 1
    return date(year, month, min(start.day, _cal.monthrange(year, month)[1]))


def due_date(start: date, amount: int, unit: str) -> date:
    """``start`` plus ``amount`` units: working_days (statutory calendar), days, weeks or months."""
    if unit == "working_days":
        return add_working_days(start, amount)
    if unit == "days":
        return start + timedelta(days=amount)
    if unit == "weeks":
        return start + timedelta(weeks=amount)
    if unit == "months":
        return add_months(start, amount)
    raise CalendarError("sla_unit_unknown", unit=unit)


def holiday_starts(start: date, end: date) -> list[tuple[date, str]]:
    """The first day of every statutory holiday period in [start, end]: (day, holiday id)."""
    for d in (start, end):
        _checked(d, chinese_calendar.is_workday)
    out = []
    day = start
    while day <= end:
        on, name = chinese_calendar.get_holiday_detail(day)
        if on and name:
            prev_on, prev_name = chinese_calendar.get_holiday_detail(day - timedelta(days=1))
            if not (prev_on and prev_name == name):
                out.append((day, HOLIDAY_IDS.get(name, name)))
        day += timedelta(days=1)
    return out


def holiday_name_zh(holiday_id: str) -> str:
    for en, hid in HOLIDAY_IDS.items():
        if hid == holiday_id:
            return HOLIDAYS_ZH[en]
    return holiday_id


def solar_terms(start: date, end: date) -> list[tuple[date, str]]:
    """The 24 solar terms (节气) in [start, end]: (day, Chinese name)."""
    return [(d, name) for d, name in chinese_calendar.get_solar_terms(start, end)]
