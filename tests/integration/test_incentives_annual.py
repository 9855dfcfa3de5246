"""`period: year`: the annual satisfaction survey and the annual best-service award (seed 000: "每年进行客户满意度调查,
并根据调查结果评定员工的客户满意度得分" and "员工月度、季度或年度最佳客户服务奖"; seed 001: "月度、季度和年度的客户满意度奖")."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import ROOT
from weixi.incentives import scoring
from weixi.incentives.errors import IncentiveInvalid
from weixi.incentives.months import BadPeriod, Month, Quarter, Year, period
from weixi.messages import render
from weixi.plans.loader import load_plan

ANNUAL = ROOT / "plans" / "examples" / "cs-annual-award.yaml"


def test_a_year_is_a_period_from_1_january_to_31_december():
    year = period("2024")
    assert isinstance(year, Year) and (year.first, year.last) == (date(2024, 1, 1), date(2024, 12, 31))
    assert str(year) == "2024" and str(year.previous()) == "2023"
    assert isinstance(period("2024-Q1"), Quarter) and isinstance(period("2024-01"), Month)
    with pytest.raises(BadPeriod) as err:
        Year.parse("24")
    assert err.value.code == "incentive_bad_year" and "不是年份" in render(err.value, "zh_CN")


def test_the_annual_award_plan_is_yearly_and_checks_clean():
    plan, found = load_plan(ANNUAL)
    assert found == [] and plan.period == "year"
    (rank,) = plan.scorecard.awards.ranks
    assert (rank.name, [m.id for m in plan.scorecard.metrics]) == ("年度最佳客户服务奖", ["satisfaction"])


def test_the_year_is_scored_from_its_survey_and_the_best_get_the_annual_award(tmp_path):
    """Ten staff scored on the year's satisfaction survey: the best 10% (one) gets 年度最佳客户服务奖."""
    scores = tmp_path / "scores.csv"
    scores.write_text(
        "staff_id,metric,score\n" + "".join(f"S{i},satisfaction,{80 + i}\n" for i in range(10)), encoding="utf-8"
    )
    out = scoring.score_period(ANNUAL, "2024", scores)
    assert out["period"] == "2024" and out["rejected"] == []
    assert [s for s, v in out["staff"].items() if v["award"] == "best_service"] == ["S9"]
    assert out["staff"]["S9"]["total"] == "89"


@pytest.mark.parametrize("given", ["2024-Q4", "2024-12"])
def test_a_yearly_plan_refuses_a_quarter_or_a_month(tmp_path, given):
    scores = tmp_path / "scores.csv"
    scores.write_text("staff_id,metric,score\nS1,satisfaction,90\n", encoding="utf-8")
    with pytest.raises(IncentiveInvalid) as err:
        scoring.score_period(ANNUAL, given, scores)
    assert err.value.code == "incentive_period_yearly"
    assert render(err.value, "en") == "plan cs-annual-award is scored by year: give --period as YYYY"


def test_a_quarterly_plan_refuses_a_year(tmp_path):
    scores = tmp_path / "scores.csv"
    scores.write_text("staff_id,metric,score\nS1,satisfaction,90\n", encoding="utf-8")
    with pytest.raises(IncentiveInvalid) as err:
        scoring.score_period(ROOT / "plans" / "examples" / "cs-reward-scorecard.yaml", "2024", scores)
    assert err.value.code == "incentive_period_quarterly"
