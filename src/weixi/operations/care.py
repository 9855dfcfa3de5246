"""The care calendar: which occasions fall on a day.

* Birthdays: the solar birthday (a 29 February birthday is kept on 28 February in other years), or, when the
  member gave one and the plan says ``lunar: true``, the lunar birthday instead (one greeting, not two). A
  birthday in a leap month (闰月) is kept in that leap month in a year that has it, else in the month of the same
  number (never both); a 30th in a 29-day month on the 29th. A solar birthday counts once per solar year, a
  lunar one once per lunar year (:func:`birthday_year`). Lunar dates come from :mod:`weixi.members.lunar`
  (astronomical, 1900-2100).
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
    # born in a leap month: kept here only when this lunar year has no leap month of this number
    kinds = (False,) if _has_leap_month(lunar_year_of(day), month) else (False, True)
    for dd in days:
        for is_leap in kinds:
            text = lunar.format_lunar(month, dd, is_leap)
            out += [text, text[2:]]
    return out


def lunar_year_of(day: date) -> int:
    return int(lunar.lunar_dates(np.array([day.toordinal() - _EPOCH]))[0][0])


def _has_leap_month(year: int, month: int) -> bool:
    _start, years, number, leap = lunar.month_table()
    return bool(np.any((years == year) & (number == month) & leap))


def birthday_year(day: date, lunar_birthday: bool) -> int:
    """The year a birthday kept on ``day`` counts for (the lunar year for a lunar birthday): once per year."""
    return lunar_year_of(day) if lunar_birthday else day.year


def birthday_filters(lunar_birthdays: bool, day: date) -> list[tuple[str, str, str]]:
    """(occasion id, name, SQL condition on ``birthday`` and ``lunar_birthday``) of the birthdays kept on ``day``."""
    solar = " OR ".join(f"(month(birthday) = {m} AND day(birthday) = {d})" for m, d in solar_birthday_days(day))
    if not lunar_birthdays:
        return [("birthday", "生日", solar)]
    texts = ", ".join("'" + t + "'" for t in lunar_birthday_texts(day))
    return [
        ("birthday", "生日", f"coalesce(lunar_birthday, '') = '' AND ({solar})"),
        ("lunar-birthday", "农历生日", f"lunar_birthday IN ({texts})"),
    ]


def keeps_birthday(day: date, birthday: date | None, lunar_birthday: str | None, lunar_birthdays: bool) -> bool:
    """Whether ``day`` is the birthday of a member born ``birthday`` (solar) / ``lunar_birthday`` (``农历三月初五``):
    the same rule as :func:`birthday_filters` — with ``lunar_birthdays`` and a lunar birthday given, that one only."""
    if lunar_birthdays and lunar_birthday:
        return lunar_birthday in lunar_birthday_texts(day)
    return birthday is not None and (birthday.month, birthday.day) in solar_birthday_days(day)


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
