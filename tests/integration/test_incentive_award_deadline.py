"""Awards are published before the next quarter starts (issue 19 §6; seed 000, 电信运营商客户服务奖励制度:
"评估周期结束后,奖励将在下季度开始前正式宣布和发放"). From the first day of the next quarter (the operator's day), the
award plan's approval chain takes no decision for the month that pays the awards, the month is not published with new
or changed award lines, and the period's nominations are not published."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from tests.integration.test_incentive_pay_statement import CS, MAINTENANCE, write
from tests.integration.test_incentive_records import month_files
from weixi.incentives import approvals, deadlines, publication
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict
from weixi.incentives.months import period
from weixi.messages import render

SEED = "评估周期结束后,奖励将在下季度开始前正式宣布和发放"


def at(monkeypatch, moment: str) -> None:
    """The clock of the incentive area (UTC instant); the operator's day is Asia/Shanghai's."""
    instant = datetime.fromisoformat(moment).astimezone(timezone.utc)
    monkeypatch.setattr(svc, "now", lambda: instant)


@pytest.mark.parametrize(
    "given, deadline",
    [("2024-Q1", "2024-04-01"), ("2024-Q4", "2025-01-01"), ("2024-02", "2024-04-01"), ("2024-03", "2024-04-01"),
     ("2024", "2025-01-01"), ("9999-12", "9999-12-31"), ("9999", "9999-12-31")],
)  # fmt: skip
def test_the_deadline_is_the_first_day_of_the_quarter_after_the_period(given, deadline):
    assert SEED  # the awards of a period are announced and paid before the next quarter starts
    assert deadlines.next_quarter_start(period(given)) == date.fromisoformat(deadline)


def cs_month(tmp_path, extra_roster=()):
    records, scores, roster = month_files(tmp_path)
    if extra_roster:
        roster = write(tmp_path / "roster.csv", ["staff_id", "role"], [["A1", "agent"], ["A2", "agent"], *extra_roster])
    return svc.compute_month([CS], "2024-03", roster=roster, scores=scores, records=records)


def approve_all(engine, plan):
    approvals.decide(engine, "2024-03", plan, "committee", "approve", "张总监", "director")
    return approvals.decide(engine, "2024-03", plan, "leadership", "approve", "赵总", "general_manager")


def test_the_quarters_awards_are_paid_in_march_with_the_deadline_of_1_april(tmp_path):
    result = cs_month(tmp_path)
    assert result.deadlines == [{"plan": "cs-reward-scorecard", "period": "2024-Q1", "deadline": "2024-04-01"}]
    awarded = {s: r["award"] for s, v in result.to_json()["staff"].items() for r in v["scores"]}
    assert awarded == {"A1": "excellent", "A2": "encouragement"}  # announced on the statements of March
    plan = svc.load_incentive_plan(CS)
    assert deadlines.award_deadline(plan, "2024-02") is None  # a quarterly award is paid in the quarter's last month
    assert deadlines.award_deadline(svc.load_incentive_plan(MAINTENANCE), "2016-03") is None  # no awards: no deadline


def test_the_approval_chain_takes_no_decision_once_the_next_quarter_started(engine, monkeypatch):
    plan = svc.load_incentive_plan(CS)
    at(monkeypatch, "2024-03-31T23:59:00+08:00")  # the last minute of the quarter, in Shanghai
    state = approvals.decide(engine, "2024-03", plan, "committee", "approve", "张总监", "director")
    assert state["deadline"] == {"plan": "cs-reward-scorecard", "period": "2024-Q1", "deadline": "2024-04-01"}
    at(monkeypatch, "2024-04-01T00:01:00+08:00")  # still 31 March in UTC: the operator's day counts
    with pytest.raises(IncentiveConflict) as late:
        approvals.decide(engine, "2024-03", plan, "leadership", "approve", "赵总", "general_manager")
    assert late.value.code == "incentive_award_deadline_passed"
    assert late.value.params == {
        "plan": "cs-reward-scorecard",
        "period": "2024-Q1",
        "deadline": "2024-04-01",
        "today": "2024-04-01",
    }
    assert render(late.value, "zh_CN") == (
        "方案 cs-reward-scorecard 2024-Q1 的奖励须在下季度开始（2024-04-01）前正式宣布和发放，今天已是 2024-04-01，"
        "不能再审批或发布。"
    )
    assert approvals.state(engine, "2024-03", plan)["next"]["id"] == "leadership"  # nothing was recorded


def test_a_month_with_awards_is_published_before_the_next_quarter_and_never_after(engine, tmp_path, monkeypatch):
    plan = svc.load_incentive_plan(CS)
    result = cs_month(tmp_path)
    at(monkeypatch, "2024-03-30T10:00:00+08:00")
    approve_all(engine, plan)
    at(monkeypatch, "2024-04-02T09:00:00+08:00")  # approved in time, published too late
    with pytest.raises(IncentiveConflict) as late:
        publication.publish(engine, result, "人事部")
    assert late.value.code == "incentive_award_deadline_passed" and late.value.params["deadline"] == "2024-04-01"
    assert publication.published(engine, "2024-03") is None
    at(monkeypatch, "2024-03-31T18:00:00+08:00")
    assert publication.publish(engine, result, "人事部")["version"] == 1


def test_after_the_deadline_a_correction_may_not_change_the_awards(engine, tmp_path, monkeypatch):
    plan = svc.load_incentive_plan(CS)
    at(monkeypatch, "2024-03-31T18:00:00+08:00")
    approve_all(engine, plan)
    publication.publish(engine, cs_month(tmp_path), "人事部")
    at(monkeypatch, "2024-04-10T10:00:00+08:00")
    # a late roster row (a new agent without scores): the awards stay as published, the correction goes through
    corrected = cs_month(tmp_path, [["A3", "agent"]])
    out = publication.publish(engine, corrected, "人事部", supersede=True, reason="花名册补录 A3")
    assert out == {"month": "2024-03", "version": 2, "new": True}
    # a changed score would change the awards announced on time: refused
    records, scores, roster = month_files(tmp_path)
    write(tmp_path / "scores.csv", ["staff_id", "metric", "score", "plan"], [["A2", "satisfaction", "100", ""]])
    changed = svc.compute_month([CS], "2024-03", roster=roster, scores=scores, records=records)
    with pytest.raises(IncentiveConflict) as late:
        publication.publish(engine, changed, "人事部", supersede=True, reason="改分")
    assert late.value.code == "incentive_award_deadline_passed"


def test_a_months_pay_without_awards_has_no_deadline(engine, tmp_path, monkeypatch):
    roster = write(tmp_path / "r.csv", ["staff_id", "role"], [["T1", "team_leader"]])
    scores = write(
        tmp_path / "s.csv",
        ["staff_id", "metric", "score", "plan"],
        [["T1", m, "9.5", ""] for m in ("attitude", "skill", "compliance", "cooperation")],
    )
    result = svc.compute_month([MAINTENANCE], "2016-01", roster=roster, scores=scores)
    assert result.deadlines == []
    plan = svc.load_incentive_plan(MAINTENANCE)
    approvals.decide(engine, "2016-01", plan, "judged", "approve", "李强", "team_leader")
    approvals.decide(engine, "2016-01", plan, "director", "approve", "张总", "director")
    assert publication.publish(engine, result, "admin")["new"] is True  # years later: fine, no award in it


def test_nominations_are_published_before_the_next_quarter_starts(engine, monkeypatch):
    at(monkeypatch, "2024-03-20T10:00:00+08:00")
    nid = publication.nominate(engine, "2024-Q1", "S1", "excellent", "王经理", letter="服务热情, 投诉零")
    publication.decide(engine, nid, "committee_review", "accept", "评选委员会")
    publication.decide(engine, nid, "leadership_approval", "accept", "赵总")
    at(monkeypatch, "2024-04-01T08:00:00+08:00")
    with pytest.raises(IncentiveConflict) as late:
        publication.publish_awards(engine, "2024-Q1", "人事部")
    assert late.value.code == "incentive_nominations_deadline_passed"
    assert late.value.params == {"period": "2024-Q1", "deadline": "2024-04-01", "today": "2024-04-01"}
    assert render(late.value, "en").startswith("the award nominations of 2024-Q1 had to be published before")
    at(monkeypatch, "2024-03-31T20:00:00+08:00")
    assert publication.publish_awards(engine, "2024-Q1", "人事部") == [nid]


def test_weixi_incentives_publish_refuses_the_late_awards_with_the_deadline(tmp_path, monkeypatch):
    from tests.e2e.cli_helpers import weixi_json
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine

    db = tmp_path / "late.db"
    engine = make_engine(str(db))
    schema.upgrade(engine)
    at(monkeypatch, "2024-03-29T10:00:00+08:00")
    approve_all(engine, svc.load_incentive_plan(CS))
    engine.dispose()
    records, scores, roster = month_files(tmp_path)
    args = ["incentives", "publish", "--month", "2024-03", "--plan", CS, "--scores", scores, "--records", records]
    args += ["--roster", roster, "--by", "人事部"]
    at(monkeypatch, "2024-04-01T09:00:00+08:00")
    err = weixi_json(*args, db=db, expect=1)
    assert err["error"]["code"] == "incentive_award_deadline_passed"
    assert err["error"]["params"]["deadline"] == "2024-04-01"
    at(monkeypatch, "2024-03-31T09:00:00+08:00")
    assert weixi_json(*args, db=db) == {"month": "2024-03", "version": 1, "new": True}


def test_a_nomination_names_a_period_its_deadline_follows_from(engine):
    from weixi.incentives.months import BadPeriod

    with pytest.raises(BadPeriod):
        publication.nominate(engine, "Q1 2024", "S1", "excellent", "王经理", letter="服务热情")
