"""The astronomical lunisolar calendar against published dates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from weixi.generator.window import Window, day_number
from weixi.members import lunar

SPRING_FESTIVAL = {
    1949: "1949-01-29", 1970: "1970-02-06", 1980: "1980-02-16", 1984: "1984-02-02", 1985: "1985-02-20",
    1990: "1990-01-27", 2000: "2000-02-05", 2015: "2015-02-19", 2016: "2016-02-08", 2017: "2017-01-28",
    2018: "2018-02-16", 2019: "2019-02-05", 2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01",
    2023: "2023-01-22", 2024: "2024-02-10", 2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06",
    2028: "2028-01-26", 2029: "2029-02-13", 2030: "2030-02-03", 2033: "2033-01-31",
}  # fmt: skip
LEAP_MONTHS = {1984: 10, 1987: 6, 1990: 5, 1995: 8, 2001: 4, 2004: 2, 2006: 7, 2009: 5, 2012: 4, 2014: 9,
               2017: 6, 2020: 4, 2023: 2, 2025: 6, 2028: 5, 2033: 11}  # fmt: skip


@pytest.mark.parametrize("year", sorted(SPRING_FESTIVAL))
def test_spring_festival(year):
    assert lunar.spring_festival(year).isoformat() == SPRING_FESTIVAL[year]


def test_leap_months():
    start, year, number, leap = lunar.month_table()
    found = {int(y): int(m) for y, m in zip(year[leap], number[leap]) if 1980 <= y <= 2035}
    assert found == {y: m for y, m in LEAP_MONTHS.items()} | {1982: 4, 1993: 3, 1998: 5, 2031: 3}


def test_lunar_dates_and_text():
    d = np.array([day_number(date(2026, 2, 17)), day_number(date(2025, 7, 25)), day_number(date(2026, 2, 16))])
    y, m, dd, leap = lunar.lunar_dates(d)
    assert list(zip(y, m, dd, leap)) == [(2026, 1, 1, False), (2025, 6, 1, True), (2025, 12, 29, False)]
    assert lunar.format_lunar(1, 1, False) == "农历正月初一"
    assert lunar.format_lunar(6, 1, True) == "农历闰六月初一"
    assert lunar.parse_lunar("农历腊月廿三") == (12, 23, False)
    assert lunar.parse_lunar(lunar.format_lunar(4, 30, True)) == (4, 30, True)
    with pytest.raises(ValueError):
        lunar.parse_lunar("农历十三月初一")


def test_window_marks_the_spring_festival_month():
    w = Window.ending("2026-03", 6)
    assert w.labels == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert w.spring_festival_month.tolist() == [False, False, False, False, True, False]
    assert w.spring_festival_dates == ["2026-02-17"]
    assert w.days_in_month.tolist() == [31, 30, 31, 31, 28, 31]
