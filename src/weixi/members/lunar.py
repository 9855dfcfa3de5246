"""Chinese lunisolar calendar from astronomy (no lookup table).

New moons use Meeus' mean lunation with the main periodic corrections and the
Sun's apparent longitude uses Meeus' low-accuracy series; both are good to well
under an hour for 1900-2100, which is enough to place month starts on the right
day (China Standard Time, UTC+8) except in rare near-midnight cases.  Rules:
a month starts on the day of a new moon; month 11 contains the winter solstice;
in a year with 13 months the first month without a principal term (中气) is
the leap month.  The tests check Spring Festival dates and leap months against
the published calendar.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import numpy as np

from weixi.errors import Invalid


class LunarError(Invalid, ValueError):
    """Not a lunar date, or a year outside the lunar table."""


_EPOCH_JD = 2440587.5  # 1970-01-01T00:00 UTC
_CST = 8.0 / 24.0

MONTH_NAMES = ["正月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "冬月", "腊月"]
DAY_NAMES = (
    ["初一", "初二", "初三", "初四", "初五", "初六", "初七", "初八", "初九", "初十"]
    + ["十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十"]
    + ["廿一", "廿二", "廿三", "廿四", "廿五", "廿六", "廿七", "廿八", "廿九", "三十"]
)


def _new_moon_jde(k: np.ndarray) -> np.ndarray:
    k = k.astype(np.float64)
    t = k / 1236.85
    jde = 2451550.09766 + 29.530588861 * k + 0.00015437 * t**2
    e = 1.0 - 0.002516 * t
    m = np.radians(2.5534 + 29.1053567 * k)
    mp = np.radians(201.5643 + 385.81693528 * k + 0.0107582 * t**2)
    f = np.radians(160.7108 + 390.67050284 * k - 0.0016118 * t**2)
    om = np.radians(124.7746 - 1.56375588 * k + 0.0020672 * t**2)
    corr = (
        -0.40720 * np.sin(mp)
        + 0.17241 * e * np.sin(m)
        + 0.01608 * np.sin(2 * mp)
        + 0.01039 * np.sin(2 * f)
        + 0.00739 * e * np.sin(mp - m)
        - 0.00514 * e * np.sin(mp + m)
        + 0.00208 * e * e * np.sin(2 * m)
        - 0.00111 * np.sin(mp - 2 * f)
        - 0.00057 * np.sin(mp + 2 * f)
        + 0.00056 * e * np.sin(2 * mp + m)
        - 0.00042 * np.sin(3 * mp)
        + 0.00042 * e * np.sin(m + 2 * f)
        + 0.00038 * e * np.sin(m - 2 * f)
        - 0.00024 * e * np.sin(2 * mp - m)
        - 0.00017 * np.sin(om)
    )
    return jde + corr - 69.0 / 86400.0  # TT -> UT (delta T ~ 69 s)


def _sun_longitude(jd: np.ndarray) -> np.ndarray:
    t = (jd - 2451545.0) / 36525.0
    l0 = 280.46646 + 36000.76983 * t + 0.0003032 * t**2
    m = np.radians(357.52911 + 35999.05029 * t - 0.0001537 * t**2)
    c = (1.914602 - 0.004817 * t) * np.sin(m) + (0.019993 - 0.000101 * t) * np.sin(2 * m) + 0.000289 * np.sin(3 * m)
    om = np.radians(125.04 - 1934.136 * t)
    return np.mod(l0 + c - 0.00569 - 0.00478 * np.sin(om), 360.0)


def _day_start_jd(day: np.ndarray) -> np.ndarray:
    """JD of 00:00 China time of a day number (days since 1970-01-01)."""
    return day.astype(np.float64) + _EPOCH_JD - _CST


@lru_cache(maxsize=1)
def month_table() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lunar months 1899-2101: (start day, lunar year, month number, leap flag).

    Day numbers count days since 1970-01-01 (China dates).
    """
    k = np.arange(-1250, 1265)  # new moons from ~1899 to ~2102
    start = np.floor(_new_moon_jde(k) - _EPOCH_JD + _CST).astype(np.int64)
    lon0 = _sun_longitude(_day_start_jd(start[:-1]))
    lon1 = _sun_longitude(_day_start_jd(start[1:]))
    term0 = np.floor(lon0 / 30.0).astype(np.int64)
    term1 = np.floor(lon1 / 30.0).astype(np.int64)
    has_term = term0 != term1
    # month 11: contains the winter solstice (longitude 270 degrees)
    contains_solstice = np.mod(lon1 - 270.0, 360.0) < np.mod(lon1 - lon0, 360.0)
    start = start[:-1]
    n = len(start)
    number = np.zeros(n, dtype=np.int64)
    leap = np.zeros(n, dtype=bool)
    eleven = np.flatnonzero(contains_solstice)
    for a, b in zip(eleven[:-1], eleven[1:]):
        months = b - a  # months from month 11 (inclusive) to next month 11 (exclusive)
        leap_at = -1
        if months == 13:
            for j in range(a + 1, b):
                if not has_term[j]:
                    leap_at = j
                    break
        num = 11
        for j in range(a, b):
            if j == a:
                num = 11
            elif j == leap_at:
                leap[j] = True
            else:
                num = num % 12 + 1
            number[j] = num
    valid = np.zeros(n, dtype=bool)
    valid[eleven[0] : eleven[-1]] = True
    start, number, leap = start[valid], number[valid], leap[valid]
    # lunar year: a month belongs to the year whose month 1 started on or before it
    first = (number == 1) & ~leap
    year_start_days = start[first]
    years = np.array([date.fromordinal(date(1970, 1, 1).toordinal() + int(d)).year for d in year_start_days])
    idx = np.searchsorted(year_start_days, start, side="right") - 1
    lunar_year = np.where(idx >= 0, years[np.clip(idx, 0, None)], years[0] - 1)
    return start, lunar_year, number, leap


def spring_festival(year: int) -> date:
    """Gregorian date of 正月初一 of the lunar year starting in ``year``."""
    start, lunar_year, number, leap = month_table()
    hit = np.flatnonzero((number == 1) & ~leap & (lunar_year == year))
    if not len(hit):
        raise LunarError("lunar_year_out_of_range", year=year)
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(start[hit[0]]))


def lunar_dates(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lunar (year, month, day, leap) of day numbers (days since 1970-01-01)."""
    start, lunar_year, number, leap = month_table()
    idx = np.searchsorted(start, days, side="right") - 1
    return lunar_year[idx], number[idx], (days - start[idx] + 1), leap[idx]


def format_lunar(month: int, day: int, leap: bool) -> str:
    """The way a CRM clerk writes a lunar birthday: ``农历三月初五``, ``农历闰四月十二``."""
    return "农历" + ("闰" if leap else "") + MONTH_NAMES[month - 1] + DAY_NAMES[day - 1]


def parse_lunar(text: str) -> tuple[int, int, bool]:
    """Inverse of :func:`format_lunar`: ``(month, day, leap)``; ValueError if malformed."""
    s = text.strip()
    if s.startswith("农历"):
        s = s[2:]
    leap = s.startswith("闰")
    if leap:
        s = s[1:]
    for m, name in enumerate(MONTH_NAMES, start=1):
        if s.startswith(name):
            rest = s[len(name) :]
            if rest in DAY_NAMES:
                return m, DAY_NAMES.index(rest) + 1, leap
    raise LunarError("not_a_lunar_date", text=text)
