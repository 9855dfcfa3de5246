"""A posted birthday is a real birthday. Seed 000 (积分活动方案): "生日积分:会员生日当天获得额外积分奖励" — the bonus
is for the member's birthday itself. A ``birthday`` event from outside (``weixi events post``, the API, an upload:
the posting time rules) is checked against the member archive, solar or lunar as the operations plan's
``care: birthday: lunar:`` says (the care run's own rule); other days and members without a birthday on file are
refused like other rejections, the good rows post."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.cli_helpers import events_csv, weixi_json
from tests.integration.helpers import event
from tests.integration.ops_fixtures import write_members
from weixi.ledger import birthday_check, queries
from weixi.ledger.posting import post_events
from weixi.operations import care
from weixi.plans.service import apply_plan_text

ROOT = Path(__file__).resolve().parents[2]
PLAN = """\
plan: birthday-check
name: 生日积分
expiry: {months_after: 24}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 1}
  - {id: bday, type: birthday, points: 88}
"""
DAY = date(2026, 10, 1)  # 农历八月廿一


@pytest.fixture
def archive(tmp_path, monkeypatch):
    data = tmp_path / "data"
    write_members(
        data,
        [
            {"member_id": "solar", "name": "王芳", "birthday": date(1990, 10, 1)},
            {"member_id": "lunar", "name": "李雷", "birthday": date(1985, 3, 3), "lunar_birthday": "农历八月廿一"},
            {"member_id": "leap", "name": "张三", "birthday": date(1992, 2, 29)},
            {"member_id": "none", "name": "赵四"},  # no birthday on file
        ],
    )
    monkeypatch.setenv("WEIXI_DATA", str(data))
    monkeypatch.delenv("WEIXI_OPS_PLAN", raising=False)  # the packaged plan: lunar: true
    birthday_check.register(None)
    return data


def _balance(engine, member: str, day: date) -> int:
    found = queries.balance(engine, member, day)
    return found["balance"] if found else 0


def test_a_birthday_event_posts_on_the_birthday_only(engine, archive):
    apply_plan_text(engine, PLAN, "points.yaml")
    result = post_events(
        engine,
        [
            event("bd-solar", "solar", "birthday", DAY),  # 10-01: the solar birthday
            event("bd-lunar", "lunar", "birthday", DAY),  # 八月廿一: the lunar birthday counts (lunar: true)
            event("bd-lunar-solar", "lunar", "birthday", "2026-03-03"),  # its solar date does not
            event("bd-wrong", "solar", "birthday", "2026-09-30"),  # the day before
            event("bd-leap", "leap", "birthday", "2026-02-28"),  # born 29 February: 28 February this year
            event("bd-none", "none", "birthday", DAY),  # no birthday in the archive
            event("bd-stranger", "stranger", "birthday", DAY),  # not in the archive at all
        ],
        time_rules=True,
    )
    assert result.posted == 3
    codes = {r.event_id: (r.code, r.params, r.field) for r in result.rejected}
    assert codes == {
        "bd-lunar-solar": ("not_birthday", {"day": "2026-03-03"}, "occurred_at"),
        "bd-wrong": ("not_birthday", {"day": "2026-09-30"}, "occurred_at"),
        "bd-none": ("birthday_unknown", {"member": "none"}, None),
        "bd-stranger": ("birthday_unknown", {"member": "stranger"}, None),
    }
    assert _balance(engine, "solar", DAY) == 88 and _balance(engine, "lunar", DAY) == 88
    assert _balance(engine, "leap", DAY) == 88 and _balance(engine, "none", DAY) == 0
    # an event id keeps its outcome: the same refused id stays refused
    again = post_events(engine, [event("bd-wrong", "solar", "birthday", "2026-09-30")], time_rules=True)
    assert [r.code for r in again.rejected] == ["not_birthday"] and _balance(engine, "solar", DAY) == 88


def test_a_plan_without_lunar_birthdays_keeps_the_solar_one(engine, archive, tmp_path, monkeypatch):
    text = (ROOT / "src" / "weixi" / "data" / "operations.yaml").read_text(encoding="utf-8")
    assert "    lunar: true\n" in text
    solar_only = tmp_path / "ops.yaml"
    solar_only.write_text(text.replace("    lunar: true\n", "    lunar: false\n"), encoding="utf-8")
    monkeypatch.setenv("WEIXI_OPS_PLAN", str(solar_only))
    apply_plan_text(engine, PLAN, "points.yaml")
    result = post_events(
        engine,
        [event("l1", "lunar", "birthday", DAY), event("l2", "lunar", "birthday", "2026-03-03")],
        time_rules=True,
    )
    assert result.posted == 1 and [(r.event_id, r.code) for r in result.rejected] == [("l1", "not_birthday")]


def test_an_operations_plan_with_errors_refuses_the_event_not_the_batch(engine, archive, tmp_path, monkeypatch):
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: operations\ncare: {birthday: {lunar: maybe}}\n", encoding="utf-8")
    monkeypatch.setenv("WEIXI_OPS_PLAN", str(broken))
    apply_plan_text(engine, PLAN, "points.yaml")
    result = post_events(
        engine, [event("b1", "solar", "bill", DAY, 1000), event("bd", "solar", "birthday", DAY)], time_rules=True
    )
    assert result.posted == 1 and [r.code for r in result.rejected] == ["operations_plan_invalid"]


def test_the_ledgers_own_postings_and_simulations_are_not_checked(engine, archive):
    """Without the time rules (a simulation, the system's credits) the day is not checked: the archive is for
    events from outside."""
    apply_plan_text(engine, PLAN, "points.yaml")
    result = post_events(engine, [event("sim", "stranger", "birthday", "2026-09-30")])
    assert result.posted == 1 and not result.rejected


def test_the_ledger_asks_the_keeper_put_in_place(engine, archive):
    asked = []

    def keeper(member_id, day):
        asked.append((member_id, day))
        return None

    before = birthday_check.register(keeper)
    try:
        apply_plan_text(engine, PLAN, "points.yaml")
        result = post_events(engine, [event("k", "stranger", "birthday", "2026-09-30")], time_rules=True)
    finally:
        birthday_check.register(before)
    assert result.posted == 1 and asked == [("stranger", date(2026, 9, 30))]


def test_weixi_events_post_quarantines_the_days_that_are_not_birthdays(tmp_path, archive):
    db = tmp_path / "cli.db"
    weixi_json("init", db=db)
    plan = tmp_path / "points.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    weixi_json("plan", "apply", plan, db=db)
    src = tmp_path / "events.csv"
    events_csv(
        src,
        [
            ("e1", "solar", "birthday", "2026-10-01", None, None, None),
            ("e2", "solar", "birthday", "2026-10-02", None, None, None),
            ("e3", "none", "birthday", "2026-10-01", None, None, None),
            ("e4", "solar", "bill", "2026-10-01", "12.00", None, None),
        ],
    )
    out = weixi_json("events", "post", src, db=db)
    assert (out["posted"], out["rejected"]) == (2, 2)
    assert {r["event_id"]: r["code"] for r in out["rejections"]} == {"e2": "not_birthday", "e3": "birthday_unknown"}
    with open(tmp_path / "events.csv.rejected.csv", encoding="utf-8") as fh:
        rows = {r["event_id"]: r["reason"] for r in csv.DictReader(fh)}
    assert rows["e2"].startswith("occurred_at: 2026-10-02 is not the member's birthday")
    assert weixi_json("balance", "solar", db=db)["balance"] == 88 + 12


@pytest.mark.parametrize(
    ("day", "birthday", "lunar_birthday", "lunar", "kept"),
    [
        (date(2026, 10, 1), date(1990, 10, 1), None, True, True),
        (date(2026, 10, 1), date(1990, 10, 1), "农历正月初一", True, False),  # the lunar one counts instead
        (date(2026, 10, 1), date(1990, 10, 1), "农历正月初一", False, True),  # lunar: false: the solar one
        (date(2026, 10, 1), None, "八月廿一", True, True),  # written without 农历
        (date(2026, 2, 28), date(1992, 2, 29), None, True, True),
        (date(2028, 2, 28), date(1992, 2, 29), None, True, False),  # 2028 has a 29 February
        (date(2026, 10, 1), None, None, True, False),
    ],
)
def test_keeps_birthday_is_the_care_runs_rule(day, birthday, lunar_birthday, lunar, kept):
    assert care.keeps_birthday(day, birthday, lunar_birthday, lunar) is kept


def test_the_care_run_greets_and_gifts_the_corrected_birthday(engine, tmp_path):
    """Seed 002: "生日关怀…客户经理需在关怀过程中对生日日期错误得客户重新进行资料录入" — once an agent corrects a birthday
    (member_archive_edits), the care run greets and gifts on the corrected day, not on the archive's wrong one."""
    from tests.integration.ops_fixtures import write_snapshot
    from weixi.members import archive as member_archive
    from weixi.operations import care_run
    from weixi.operations import service as ops

    data = tmp_path / "care-data"
    ids = write_snapshot(data, "2026-09", {"diamond": 3})
    write_members(
        data,
        [
            {"member_id": ids[0], "name": "王芳", "birthday": date(1990, 5, 5), "phone": "138"},  # wrong on file
            {"member_id": ids[1], "name": "李雷", "birthday": date(1990, 10, 1), "phone": "139"},  # wrong on file
            {"member_id": ids[2], "name": "张三", "birthday": date(1991, 10, 1), "phone": "137"},  # right
        ],
    )
    member_archive.correct(engine, None, ids[0], {"birthday": "1990-05-05"}, {"birthday": "1990-10-01"}, DAY, "task")
    member_archive.correct(engine, None, ids[1], {"birthday": "1990-10-01"}, {"birthday": "1990-06-06"}, DAY, "task")
    plan = ops.plan_or_fail(None)  # the packaged plan: diamond birthdays bring 500 points
    apply_plan_text(engine, PLAN, "points.yaml")
    r = care_run.run_day(engine, data, plan, DAY)
    assert r["by_occasion"]["生日"] == 2
    assert r["birthdays"]["members"] == 2 and r["birthdays"]["points_granted"] == 2
    assert _balance(engine, ids[0], DAY) == 500 and _balance(engine, ids[1], DAY) == 0
    assert _balance(engine, ids[2], DAY) == 500
