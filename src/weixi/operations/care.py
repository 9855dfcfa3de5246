"""The care calendar: which occasions fall on a day.

* Birthdays: the solar birthday (a 29 February birthday is kept on 28 February in other years), or, when the
  member gave one and the plan says ``lunar: true``, the lunar birthday instead (one greeting, not two). A
  birthday in a leap month is kept in the month of the same number; a 30th in a 29-day month on the 29th.
  Lunar dates come from :mod:`weixi.members.lunar` (astronomical, 1900-2100).
* Holidays: the first day of each statutory holiday period (:mod:`weixi.operations.calendar`: the package, a
  declared calendar file, or the provisional calendar of a year whose notice is not out); Spring Festival and
  National Day are sent centrally (to every member), the others locally (members of the plan's ``local_cities``).
* Solar terms (节气) from ``chinese-calendar``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from weixi.members import lunar
from weixi.operations import calendar
from weixi.operations.plan import OperationsPlan

_EPOCH = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class Occasion:
    kind: str  # holiday | solar_term
    id: str
    name: str
    scope: str  # central | local | all


def lunar_of(day: date) -> tuple[int, int, bool]:
    y, m, d, leap = lunar.lunar_dates(np.array([day.toordinal() - _EPOCH]))
    return int(m[0]), int(d[0]), bool(leap[0])


def lunar_birthday_texts(day: date) -> list[str]:
    """Every way a lunar birthday kept on ``day`` is written (with and without 农历 / 闰)."""
    month, d, leap = lunar_of(day)
    days = [d]
    if lunar_of(day + timedelta(days=1))[1] == 1 and d == 29:
        days.append(30)  # a 30th kept on the last day of a short month
    out = []
    if leap:  # in a leap month only those born in the leap month keep it
        for dd in days:
            text = lunar.format_lunar(month, dd, True)
            out += [text, text[2:]]
        return out
    for dd in days:
        for is_leap in (False, True):
            text = lunar.format_lunar(month, dd, is_leap)
            out += [text, text[2:]]
    return out


def solar_birthday_days(day: date) -> list[tuple[int, int]]:
    """(month, day) of solar birthdays kept on ``day``."""
    out = [(day.month, day.day)]
    if day.month == 2 and day.day == 28 and not _leap(day.year):
        out.append((2, 29))
    return out


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def occasions(plan: OperationsPlan, day: date) -> list[Occasion]:
    out = []
    care = plan.care
    if care.holiday_template:
        for _start, hid in calendar.holiday_starts(day, day):
            if hid in care.central_holidays:
                out.append(Occasion("holiday", hid, calendar.holiday_name_zh(hid), "central"))
            elif hid in care.local_holidays:
                out.append(Occasion("holiday", hid, calendar.holiday_name_zh(hid), "local"))
    if care.solar_term_template:
        for _day, name in calendar.solar_terms(day, day):
            out.append(Occasion("solar_term", name, name, "all"))
    return out


def month_calendar(plan: OperationsPlan, first: date, last: date) -> list[dict]:
    """Every day of [first, last] with its occasions, whether it is a working day, and where that comes from
    (``calendar``: package, declared or provisional; ``provisional``: true until the year's notice is declared)."""
    out, day = [], first
    while day <= last:
        source = calendar.source_of(day.year)
        out.append(
            {
                "date": day.isoformat(),
                "working_day": calendar.is_working_day(day),
                "calendar": source,
                "provisional": source == "provisional",
                "occasions": [o.__dict__ for o in occasions(plan, day)],
                "lunar": lunar.format_lunar(*lunar_of(day)),
            }
        )
        day += timedelta(days=1)
    return out
