"""A calendar file: one year's State Council holiday notice (国务院办公厅关于某年部分节假日安排的通知), declared by the
operator for a year ``chinese-calendar`` does not know yet.

::

    kind: calendar
    year: 2027
    notice: 国办发明电〔2026〕号        # where it comes from (optional)
    holidays:
      - holiday: spring_festival       # new_year, spring_festival, qingming, labour_day, dragon_boat,
        from: 2027-02-05               # mid_autumn, national_day
        to: 2027-02-12
    working_days: [2027-02-07, 2027-02-20]   # the weekend days worked (调休)

It is checked like a plan (every problem as file:line:col with a code), registered as ``kind: calendar`` so
``weixi plan check`` checks it too, and declared with ``weixi care declare FILE``, which keeps a copy in the data
directory's ``calendars/<year>.yaml`` (:func:`declare`). A declared year replaces the provisional calendar
(:mod:`weixi.operations.holidays`) and the package's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from weixi.operations.errors import OperationsError
from weixi.operations.holidays import ORDER, YearCalendar, statutory_days
from weixi.plans import values as v
from weixi.plans.diagnostics import Diagnostic, Pos, Report
from weixi.plans.kinds import PlanKind, register
from weixi.plans.spec import Field, ListOf, Shape, Spec, read
from weixi.plans.yaml_source import Mapping, parse

FIRST_YEAR, LAST_YEAR = 2004, 2099  # the lunar calendar and the solar terms cover these

PERIOD = Shape(
    "holiday period",
    {
        "holiday": Field(v.choice(ORDER, "holiday"), required=True),
        "from": Field(v.day, required=True),
        "to": Field(v.day, required=True),
    },
)
SCHEMA = Shape(
    "calendar file",
    {
        "kind": Field(v.choice(("calendar",), "kind"), required=True),
        "year": Field(v.int_between(FIRST_YEAR, LAST_YEAR, "year"), required=True),
        "notice": Field(v.text),
        "holidays": Field(ListOf(PERIOD), required=True),
        "working_days": Field(ListOf(v.day)),
    },
)


class CalendarFileInvalid(OperationsError):
    """A calendar file with errors: nothing was declared; ``diagnostics`` locates each problem."""

    def __init__(self, filename: str, diagnostics: list[Diagnostic]) -> None:
        errors = [d for d in diagnostics if d.is_error]
        super().__init__("calendar_file_invalid", file=filename, errors=len(errors))
        self.diagnostics = diagnostics
        self.details = [d.to_json() for d in diagnostics]


@dataclass(frozen=True)
class CalendarFile:
    """A checked calendar file: the year's calendar and where it came from."""

    year: int
    notice: str | None
    calendar: YearCalendar


def load_calendar(node: Mapping, filename: str) -> tuple[CalendarFile | None, list[Diagnostic]]:
    """Check a parsed calendar file; the file, or None and every problem found."""
    report = Report(filename)
    val = read(node, SCHEMA, report)
    spec: Spec | None = val.value if val is not None else None
    year = spec.get("year") if spec is not None else None
    if spec is None or year is None:
        return None, report.items
    holidays: dict[date, str] = {}
    seen: dict[str, Pos] = {}
    for item in spec.items("holidays"):
        p: Spec = item.value
        hid, first, last = p.get("holiday"), p.get("from"), p.get("to")
        if hid is None or first is None or last is None:  # reported by the schema
            continue
        if hid in seen:
            report.error(p.at("holiday"), "calendar_file_holiday_twice", holiday=hid, line=seen[hid].line)
        seen.setdefault(hid, p.pos)
        if last < first:
            report.error(p.at("to"), "calendar_file_range_reversed", holiday=hid, start=first, end=last)
            continue
        for day, key in ((first, "from"), (last, "to")):
            if day.year != year:
                report.error(p.at(key), "calendar_file_date_outside_year", day=day, year=year)
        day = first
        while day <= last:
            if day in holidays:
                report.error(p.at("from"), "calendar_file_holiday_overlap", holiday=hid, other=holidays[day], day=day)
                break
            holidays[day] = hid
            day += timedelta(days=1)
    worked = set()
    for item in spec.items("working_days"):
        day = item.value
        if day.year != year:
            report.error(item.pos, "calendar_file_date_outside_year", day=day, year=year)
        elif day.weekday() < 5:
            report.error(item.pos, "calendar_file_working_day_not_weekend", day=day)
        elif day in holidays:
            report.error(item.pos, "calendar_file_working_day_in_holiday", day=day, holiday=holidays[day])
        worked.add(day)
    if report.has_errors:
        return None, report.items
    _warn_statutory(report, spec, year, holidays)
    cal = YearCalendar(year, "declared", dict(sorted(holidays.items())), frozenset(worked), filename)
    return CalendarFile(year, spec.get("notice"), cal), report.items


def _warn_statutory(report: Report, spec: Spec, year: int, holidays: dict[date, str]) -> None:
    """A warning for a statutory day (by law) that the file does not give its holiday: a holiday left out, or a
    period on the wrong dates."""
    for day, hid in statutory_days(year):
        if holidays.get(day) != hid and not (day in holidays and day.weekday() >= 5):
            report.warning(spec.at("holidays"), "calendar_file_statutory_day_missing", holiday=hid, day=day)


def load_calendar_text(text: str, filename: str) -> tuple[CalendarFile | None, list[Diagnostic]]:
    node, diagnostics = parse(text, filename)
    if node is None:
        return None, diagnostics
    if not isinstance(node, Mapping):
        report = Report(filename)
        report.error(Pos(1, 1), "plan_root_expected_mapping", noun="calendar_file", got="text", got_value="")
        return None, report.items
    return load_calendar(node, filename)


def load_calendar_file(path: str | os.PathLike) -> tuple[CalendarFile | None, list[Diagnostic]]:
    filename = str(path)
    try:
        text = Path(filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "no_such_file" if isinstance(exc, FileNotFoundError) else str(exc)
        return None, [Diagnostic(filename, 1, 1, "error", "calendar_file_unreadable", {"reason": reason})]
    return load_calendar_text(text, filename)


def directory(data_dir: str | os.PathLike) -> Path:
    """Where declared calendar files are kept: ``<data dir>/calendars``."""
    return Path(data_dir) / "calendars"


def declare(path: str | os.PathLike, data_dir: str | os.PathLike) -> tuple[dict, list[Diagnostic]]:
    """Check the file and, without errors, keep it as the declared calendar of its year (replacing an earlier
    declaration of that year). Returns what was declared and the warnings; :class:`CalendarFileInvalid` (nothing
    declared) when the file has errors."""
    loaded, diagnostics = load_calendar_file(path)
    if loaded is None:
        raise CalendarFileInvalid(str(path), diagnostics)
    target = directory(data_dir) / f"{loaded.year}.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    replaced = target.exists()
    tmp = target.with_suffix(".tmp")
    tmp.write_text(Path(path).read_text(encoding="utf-8"), encoding="utf-8")
    os.replace(tmp, target)
    from weixi.operations import calendar

    calendar.forget_declared()
    cal = loaded.calendar
    return {
        "year": loaded.year,
        "notice": loaded.notice,
        "file": str(target),
        "replaced": replaced,
        "holiday_days": len(cal.holidays),
        "working_days": sorted(d.isoformat() for d in cal.working_days),
        "holidays": _periods(cal),
    }, diagnostics


def _periods(cal: YearCalendar) -> list[dict]:
    out: list[dict] = []
    for day, hid in cal.holidays.items():
        if out and out[-1]["holiday"] == hid and date.fromisoformat(out[-1]["to"]) == day - timedelta(days=1):
            out[-1]["to"] = day.isoformat()
        else:
            out.append({"holiday": hid, "from": day.isoformat(), "to": day.isoformat()})
    return out


def read_declared(data_dir: str | os.PathLike) -> dict[int, YearCalendar]:
    """The declared years in ``data_dir`` (a file that no longer checks is left out: ``weixi care years`` shows it)."""
    out = {}
    folder = directory(data_dir)
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.yaml")):
        loaded, _diagnostics = load_calendar_file(path)
        if loaded is not None and path.stem == str(loaded.year):
            out[loaded.year] = loaded.calendar
    return out


register(PlanKind(("calendar",), load_calendar, CalendarFile))
