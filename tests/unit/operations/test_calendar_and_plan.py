"""The working-day calendar (statutory holidays and 调休) and the example operations plan with the seeds' numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from weixi.operations import calendar
from weixi.operations.plan import load_operations_plan, load_operations_text
from weixi.operations.tasks import rule_dates
from weixi.plans.loader import check_files

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "plans" / "examples" / "retention-operations.yaml"


def test_swapped_working_days_and_holidays_follow_the_statutory_calendar():
    assert calendar.is_working_day(date(2026, 10, 10))  # a Saturday made a working day (调休)
    assert not calendar.is_working_day(date(2026, 10, 5))  # National Day holiday on a Monday
    # 3 working days from the eve of National Day: Oct 8, 9 and the swapped Saturday Oct 10.
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert calendar.add_working_days(date(2026, 10, 12), -1) == date(2026, 10, 10)
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 12)) == 4


def test_a_year_no_calendar_covers_fails_loudly():
    # 2027-2099: a provisional calendar (tests/unit/operations/test_calendar_provisional.py); beyond, a refusal.
    with pytest.raises(calendar.CalendarError, match="covers 2004 to 2099; 2100 is outside it"):
        calendar.add_working_days(date(2100, 3, 1), 3)
    with pytest.raises(calendar.CalendarError) as err:
        calendar.is_working_day(date(2003, 12, 31))
    assert err.value.code == "calendar_year_out_of_range" and err.value.status == 422


def test_month_arithmetic_clamps_to_the_month_end():
    assert calendar.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert calendar.due_date(date(2026, 9, 1), 3, "weeks") == date(2026, 9, 22)


def test_example_plan_carries_the_seed_numbers():
    plan, diagnostics = load_operations_plan(EXAMPLE)
    assert plan is not None, [d.format() for d in diagnostics]
    assert {t.key: t.ratio for t in plan.tiers} == {
        "diamond": 200,
        "gold": 500,
        "silver": 1000,
        "stars-7": 200,  # 钻卡 (7★) 1:200, 金卡 (6★) 1:500, 银卡 (5★) 1:1000
        "stars-6": 500,
        "stars-5": 1000,
    }
    assert "intern" not in plan.ratio("diamond").holders and "intern" in plan.ratio("silver").holders
    assert plan.sla_target == Decimal("1")  # 100%
    rules = {r.id: r for r in plan.rules}
    assert (rules["bind-new-star"].amount, rules["bind-new-star"].unit) == (3, "working_days")
    assert (rules["visit-new-star"].amount, rules["visit-new-star"].unit) == (1, "months")
    assert rules["visit-new-star"].notice_days_before == 3
    assert (rules["first-contact-new-vip"].amount, rules["first-contact-new-vip"].unit) == (3, "weeks")
    assert (rules["coach-new-vip"].amount, rules["coach-new-vip"].unit) == (3, "months")
    assert (ROOT / "src" / "weixi" / "data" / "operations.yaml").read_text() == EXAMPLE.read_text()


def test_notice_sms_goes_three_working_days_before_the_call():
    plan, _ = load_operations_plan(EXAMPLE)
    rule = next(r for r in plan.rules if r.id == "visit-new-star")
    d = rule_dates(rule, start=date(2026, 9, 10), run_date=date(2026, 9, 30))
    assert d["notice"].not_before == date(2026, 9, 30)
    assert d["task"].not_before == calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert d["task"].due_on == date(2026, 10, 10)  # within 1 month of the upgrade on 2026-09-10


def test_plan_check_reports_template_and_rule_errors_at_their_lines(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace("{{ member.tier_name }}", "{{ member.nickname }}")
    text = text.replace(
        "{id: retention-call, on: target_list, task: retention_call,",
        "{id: retention-call, on: target_lists, task: retention_call,",
    )
    bad = tmp_path / "ops.yaml"
    bad.write_text(text, encoding="utf-8")
    found = [d for d in check_files([bad]) if d.is_error]
    lines = text.splitlines()
    nick = next(i for i, line in enumerate(lines, 1) if "member.nickname" in line)
    trig = next(i for i, line in enumerate(lines, 1) if "target_lists" in line)
    assert any(d.line == nick and "unknown field member.nickname" in d.message for d in found), found
    assert any(d.line == trig and "unknown trigger 'target_lists'" in d.message for d in found), found


def test_a_rule_naming_a_missing_template_is_an_error():
    text = EXAMPLE.read_text(encoding="utf-8").replace("template: monthly-care}", "template: monthly-car}")
    plan, diagnostics = load_operations_text(text, "x.yaml")
    assert plan is None
    assert any("no template 'monthly-car'" in d.message for d in diagnostics)


def test_the_plan_is_parsed_once_per_content_and_read_again_every_time(tmp_path, monkeypatch):
    """The care, team and work pages ask for the operations plan on every request: the same content is parsed
    once; an edited file is parsed again at once; a broken one is refused every time, with the same errors."""
    from weixi.operations import plan as ops_plan
    from weixi.operations import service
    from weixi.operations.errors import OperationsConflict

    parsed, parse = [], ops_plan.parse

    def counting(text, filename):
        parsed.append(filename)
        return parse(text, filename)

    monkeypatch.setattr(ops_plan, "parse", counting)
    ops_plan._load_text.cache_clear()  # contents parsed by other tests of this process
    path = tmp_path / "ops.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = service.plan_or_fail(str(path))
    assert service.plan_or_fail(str(path)) is first and len(parsed) == 1
    edited = text.replace("name: ", "name: 新", 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")  # same second, maybe the same size: the content decides
    second = service.plan_or_fail(str(path))
    assert second is not first and second.name.startswith("新") and len(parsed) == 2
    path.write_text("kind: operations\nteams: [", encoding="utf-8")
    refusals = []
    for _ in range(2):
        with pytest.raises(OperationsConflict) as refused:
            service.plan_or_fail(str(path))
        refusals.append(refused.value.params["errors"])
    assert refusals[0] == refusals[1] and refusals[0] and len(parsed) == 3
