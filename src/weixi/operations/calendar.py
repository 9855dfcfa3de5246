"""The Chinese working-day calendar (statutory holidays and swapped working days, 调休), holidays and solar terms.

Each year's calendar has one source (:func:`source_of`):

* ``declared`` - the operator declared the year's State Council notice in a calendar file
  (:mod:`weixi.operations.calendar_file`, ``weixi care declare FILE``); it wins over the others;
* ``package`` - the ``chinese-calendar`` package ships the notice (2004 to its last year);
* ``provisional`` - neither: the statutory holidays computed by law, weekends, no swapped working days
  (:mod:`weixi.operations.holidays`). Every answer built on such a year says so (:func:`provisional_years`).

Declared files are read from ``<data dir>/calendars`` ($WEIXI_DATA, or the directory a command named with
:func:`using_data_dir`), re-read when a file changes.
"""

from __future__ import annotations

import calendar as _cal
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
from chinese_calendar import constants as _constants

from weixi import settings
from weixi.errors import Invalid
from weixi.operations.holidays import YearCalendar, provisional

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


PACKAGE_YEARS = (min(d.year for d in _constants.holidays), max(d.year for d in _constants.holidays))
PROVISIONAL_YEARS = (2004, 2099)  # the lunar calendar and the solar terms cover these
RESCAN_SECONDS = 2.0

_data_dir: Path | None = None
_declared: dict = {"key": None, "dir": None, "at": 0.0, "stamp": None, "years": {}}


@contextmanager
def using_data_dir(path: str | os.PathLike | None) -> Iterator[None]:
    """Read declared calendar files from ``path``/calendars (a command's ``--data-dir``) while the block runs;
    None: $WEIXI_DATA."""
    global _data_dir
    before = _data_dir
    _data_dir = Path(path) if path is not None else None
    forget_declared()
    try:
        yield
    finally:
        _data_dir = before
        forget_declared()


def forget_declared() -> None:
    """Re-read the declared files at the next question (after a declaration)."""
    _declared["at"] = 0.0
    _declared["stamp"] = None


def declared_dir() -> Path:
    from weixi.operations.calendar_file import directory

    return directory(_data_dir or settings.DATA.value())


def declared_years() -> dict[int, YearCalendar]:
    """The declared years, re-read when the directory's files change (looked at at most every 2 seconds)."""
    now = time.monotonic()
    key = (_data_dir, settings.DATA.raw())
    if _declared["key"] == key and now - _declared["at"] < RESCAN_SECONDS:
        return _declared["years"]
    folder = declared_dir()
    try:
        stamp = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.yaml")))
    except OSError:
        stamp = ()
    if _declared["dir"] != folder or stamp != _declared["stamp"]:
        from weixi.operations.calendar_file import read_declared

        _declared["years"] = read_declared(folder.parent) if stamp else {}
    _declared.update(key=key, dir=folder, at=now, stamp=stamp)
    return _declared["years"]


def source_of(year: int) -> str:
    """Where the calendar of ``year`` comes from: declared, package or provisional."""
    if year in declared_years():
        return "declared"
    if PACKAGE_YEARS[0] <= year <= PACKAGE_YEARS[1]:
        return "package"
    if PROVISIONAL_YEARS[0] <= year <= PROVISIONAL_YEARS[1]:
        return "provisional"
    raise CalendarError("calendar_year_out_of_range", year=year, first=PROVISIONAL_YEARS[0], last=PROVISIONAL_YEARS[1])


def year_calendar(year: int) -> YearCalendar | None:
    """The declared or provisional calendar of ``year``; None for a year the package answers."""
    source = source_of(year)
    if source == "declared":
        return declared_years()[year]
    return provisional(year) if source == "provisional" else None


def provisional_years(start: date, end: date) -> list[int]:
    """The years of [start, end] whose calendar is provisional."""
    return [y for y in range(start.year, end.year + 1) if source_of(y) == "provisional"]


def calendar_note(start: date, end: date) -> dict:
    """What every answer built on the calendar of [start, end] says about it: each year's source, and whether any
    of them is provisional (the State Council's notice not declared yet)."""
    sources = {str(y): source_of(y) for y in range(start.year, end.year + 1)}
    return {"calendar": sources, "provisional": "provisional" in sources.values()}


def is_working_day(day: date) -> bool:
    """A working day: Monday-Friday that is not a statutory holiday, or a weekend day made a working day."""
    cal = year_calendar(day.year)
    if cal is not None:
        return cal.is_working_day(day)
    return bool(chinese_calendar.is_workday(day))


def holiday_of(day: date) -> str | None:
    """The holiday id of the holiday period ``day`` is in, or None."""
    cal = year_calendar(day.year)
    if cal is not None:
        return cal.holiday_of(day)
    on, name = chinese_calendar.get_holiday_detail(day)
    return HOLIDAY_IDS.get(name, name) if on and name else None


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
    out = []
    day = start
    try:
        before = holiday_of(day - timedelta(days=1))
    except CalendarError:  # the day before the first year covered
        before = None
    while day <= end:
        hid = holiday_of(day)
        if hid and hid != before:
            out.append((day, hid))
        before = hid
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
