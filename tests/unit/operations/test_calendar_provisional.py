"""The calendar past its package (issue 20 §2): a year ``chinese-calendar`` does not ship gets a provisional
calendar (statutory holidays by law, lunar festivals computed, weekends), said so on every answer, until the
operator declares the State Council's notice in a calendar file (checked like a plan)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from weixi.members import lunar
from weixi.operations import calendar, calendar_file, care, holidays
from weixi.operations.plan import load_operations_plan
from weixi.plans.loader import check_files

ROOT = Path(__file__).resolve().parents[3]
PLAN = ROOT / "plans" / "examples" / "retention-operations.yaml"

# A 2027 notice in the shape of the 2025 and 2026 ones (8-9 days of Spring Festival, 调休 Saturdays/Sundays).
NOTICE_2027 = """\
kind: calendar
year: 2027
notice: 国务院办公厅关于2027年部分节假日安排的通知
holidays:
  - {holiday: new_year, from: 2027-01-01, to: 2027-01-03}
  - {holiday: spring_festival, from: 2027-02-05, to: 2027-02-13}
  - {holiday: qingming, from: 2027-04-03, to: 2027-04-05}
  - {holiday: labour_day, from: 2027-05-01, to: 2027-05-05}
  - {holiday: dragon_boat, from: 2027-06-09, to: 2027-06-11}
  - {holiday: mid_autumn, from: 2027-09-15, to: 2027-09-17}
  - {holiday: national_day, from: 2027-10-01, to: 2027-10-07}
working_days: [2027-02-20, 2027-04-25, 2027-06-12, 2027-09-18, 2027-09-26]
"""


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data directory: no year declared."""
    monkeypatch.setenv("WEIXI_DATA", str(tmp_path))
    calendar.forget_declared()
    yield tmp_path
    calendar.forget_declared()


def test_the_package_ends_in_2026_and_2027_answers_provisionally(data_dir):
    assert calendar.PACKAGE_YEARS == (2004, 2026)
    assert calendar.source_of(2026) == "package" and calendar.source_of(2027) == "provisional"
    assert calendar.calendar_note(date(2026, 12, 1), date(2027, 1, 31)) == {
        "calendar": {"2026": "package", "2027": "provisional"},
        "provisional": True,
    }
    assert calendar.calendar_note(date(2026, 1, 1), date(2026, 12, 31))["provisional"] is False


def test_spring_festival_2027_is_february_6_and_the_provisional_holidays_follow_the_law(data_dir):
    assert lunar.spring_festival(2027) == date(2027, 2, 6)  # 正月初一
    starts = calendar.holiday_starts(date(2027, 1, 1), date(2027, 12, 31))
    assert starts == [
        (date(2027, 1, 1), "new_year"),
        (date(2027, 2, 5), "spring_festival"),  # 除夕 (Friday)
        (date(2027, 4, 3), "qingming"),  # 清明 on Monday 4-5: the weekend before joins it
        (date(2027, 5, 1), "labour_day"),
        (date(2027, 6, 9), "dragon_boat"),  # 五月初五
        (date(2027, 9, 15), "mid_autumn"),  # 八月十五
        (date(2027, 10, 1), "national_day"),
    ]
    # 春节: 除夕 Fri 2-5 and 初一-初三 Sat-Mon; Saturday's and Sunday's statutory days made up (补休) on Tue, Wed.
    rest = [d for d in (date(2027, 2, 1) + timedelta(days=i) for i in range(14)) if not calendar.is_working_day(d)]
    assert rest == [date(2027, 2, d) for d in (5, 6, 7, 8, 9, 10, 13, 14)]
    # 劳动节 5-1 Sat, 5-2 Sun -> made up Mon 5-3, Tue 5-4; 国庆节 10-1 Fri..10-3 Sun -> Mon 10-4, Tue 10-5.
    assert not calendar.is_working_day(date(2027, 5, 4)) and calendar.is_working_day(date(2027, 5, 5))
    assert not calendar.is_working_day(date(2027, 10, 5)) and calendar.is_working_day(date(2027, 10, 6))
    assert calendar.holiday_of(date(2027, 10, 5)) == "national_day"


def test_the_provisional_rules_agree_with_the_published_notices(data_dir):
    """The lunar and solar-term dates land on the package's holidays in every year it ships; under the 2024 law
    (2025, 2026) every statutory day is a holiday of the right name."""
    for year in range(2008, 2027):
        for day in (lunar.spring_festival(year), holidays.qingming(year), holidays.lunar_day(year, 5, 5)):
            assert not calendar.is_working_day(day), (year, day)
        assert not calendar.is_working_day(holidays.lunar_day(year, 8, 15)), year
    for year in (2025, 2026):
        for day, hid in holidays.statutory_days(year):
            assert calendar.holiday_of(day) == hid, (year, day, hid)


def test_the_sla_due_date_runs_from_2026_into_2027(data_dir):
    # 3 working days from Thu 2026-12-31: 2027-01-01 is 元旦, 1-2/1-3 the weekend -> Mon 1-4, Tue 1-5, Wed 1-6.
    assert calendar.due_date(date(2026, 12, 31), 3, "working_days") == date(2027, 1, 6)
    assert calendar.add_working_days(date(2027, 1, 6), -3) == date(2026, 12, 31)
    assert calendar.working_days_between(date(2026, 12, 25), date(2027, 1, 8)) == 9  # Dec 28-31, Jan 4-8


def test_the_care_calendar_of_2027_02_marks_every_day_provisional(data_dir):
    plan, _ = load_operations_plan(PLAN)
    days = care.month_calendar(plan, date(2027, 2, 1), date(2027, 2, 28))
    assert all(d["provisional"] and d["calendar"] == "provisional" for d in days)
    eve = days[4]
    assert eve["date"] == "2027-02-05" and eve["lunar"] == "农历腊月廿九"  # 2027's 腊月 has 29 days: 除夕
    assert [(o["id"], o["scope"]) for o in eve["occasions"]] == [("spring_festival", "central")]
    assert days[5]["lunar"] == "农历正月初一"


def test_a_declared_notice_replaces_the_provisional_calendar(data_dir, tmp_path):
    source = tmp_path / "notice-2027.yaml"
    source.write_text(NOTICE_2027, encoding="utf-8")
    result, warnings = calendar_file.declare(source, data_dir)
    assert warnings == [] and result["year"] == 2027 and not result["replaced"]
    assert Path(result["file"]) == data_dir / "calendars" / "2027.yaml"
    assert calendar.source_of(2027) == "declared"
    assert calendar.is_working_day(date(2027, 2, 20))  # a Saturday worked (调休)
    assert not calendar.is_working_day(date(2027, 2, 12))  # Friday of the 9-day Spring Festival
    assert calendar.due_date(date(2026, 12, 31), 3, "working_days") == date(2027, 1, 6)
    assert calendar.calendar_note(date(2027, 2, 1), date(2027, 2, 28)) == {
        "calendar": {"2027": "declared"},
        "provisional": False,
    }
    plan, _ = load_operations_plan(PLAN)
    assert not any(d["provisional"] for d in care.month_calendar(plan, date(2027, 2, 1), date(2027, 2, 28)))
    again, _ = calendar_file.declare(source, data_dir)
    assert again["replaced"]


def test_a_declared_file_wins_over_the_package(data_dir, tmp_path):
    source = tmp_path / "2026.yaml"
    source.write_text(
        "kind: calendar\nyear: 2026\nholidays:\n  - {holiday: national_day, from: 2026-10-01, to: 2026-10-09}\n",
        encoding="utf-8",
    )
    _, warnings = calendar_file.declare(source, data_dir)
    assert calendar.source_of(2026) == "declared" and not calendar.is_working_day(date(2026, 10, 9))
    # The file leaves out six holidays: a warning for each statutory day it does not give.
    assert {d.params["holiday"] for d in warnings} == {
        "new_year",
        "spring_festival",
        "qingming",
        "labour_day",
        "dragon_boat",
        "mid_autumn",
    }
    assert {d.code for d in warnings} == {"calendar_file_statutory_day_missing"}


def test_a_bad_calendar_file_gives_located_coded_errors_and_declares_nothing(data_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: calendar\n"
        "year: 2027\n"
        "holidays:\n"
        "  - {holiday: spring_festval, from: 2027-02-05, to: 2027-02-13}\n"
        "  - {holiday: national_day, from: 2027-10-07, to: 2027-10-01}\n"
        "  - {holiday: labour_day, from: 2028-05-01, to: 2028-05-05}\n"
        "  - {holiday: mid_autumn, from: 2027-09-15, to: 2027-09-19}\n"
        "  - {holiday: dragon_boat, from: 2027-09-17, to: 2027-09-18}\n"
        "working_days: [2027-02-10, 2027-09-18, 2028-01-01]\n",
        encoding="utf-8",
    )
    with pytest.raises(calendar_file.CalendarFileInvalid) as err:
        calendar_file.declare(bad, data_dir)
    assert err.value.code == "calendar_file_invalid" and err.value.status == 422
    found = [(d.line, d.column, d.code) for d in err.value.diagnostics]
    assert found == [
        (4, 15, "plan_unknown_choice_suggest"),  # did you mean spring_festival?
        (5, 51, "calendar_file_range_reversed"),
        (6, 33, "calendar_file_date_outside_year"),
        (6, 49, "calendar_file_date_outside_year"),
        (8, 34, "calendar_file_holiday_overlap"),
        (9, 16, "calendar_file_working_day_not_weekend"),
        (9, 28, "calendar_file_working_day_in_holiday"),
        (9, 40, "calendar_file_date_outside_year"),
    ]
    assert err.value.diagnostics[0].format().startswith(f"{bad}:4:15: error: holiday: unknown holiday")
    assert not (data_dir / "calendars").exists() and calendar.source_of(2027) == "provisional"
    assert check_files([bad]) == err.value.diagnostics  # kind: calendar is checked like any plan file


def test_a_year_without_any_calendar_is_refused(data_dir):
    with pytest.raises(calendar.CalendarError) as err:
        calendar.source_of(2100)
    assert err.value.code == "calendar_year_out_of_range" and err.value.params["last"] == 2099
