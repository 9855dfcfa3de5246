"""Staff attribution (issue 19 §8): surveys and complaints carry the staff id of who served, so the satisfaction and
complaint metrics of the customer-service scorecard are computed from the records, not typed in by hand. Seed 000:
"客户满意度得分占总奖励得分的50%", "及时响应客户投诉并解决问题:占总奖励得分的10%", "出色的客户投诉解决率:占总奖励得分的10%"."""

from __future__ import annotations

import pytest

from tests.integration.test_incentive_pay_statement import CS, write
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict
from weixi.plans.loader import load_plan

RECORDS = ["record_id", "kind", "staff_id", "occurred_on", "score", "resolved", "resolution_hours"]


def month_files(tmp_path):
    records = write(
        tmp_path / "records.csv",
        RECORDS,
        [
            ["Q1", "survey", "A1", "2024-01-15", "9", "", ""],
            ["Q2", "survey", "A1", "2024-02-15", "8", "", ""],  # mean 8.5 of 10 -> 85 of 100
            ["Q3", "survey", "A2", "2024-03-01", "6", "", ""],
            ["Q4", "survey", "A1", "2023-12-31", "1", "", ""],  # the previous quarter: not counted
            ["C1", "complaint", "A1", "2024-01-20", "", "true", "5"],
            ["C2", "complaint", "A1", "2024-02-20", "", "true", "30"],  # resolved, not within 24 hours
            ["C3", "complaint", "A2", "2024-03-02", "", "false", ""],
            ["C4", "mail", "A2", "2024-03-03", "", "", ""],  # rejected: neither survey nor complaint
        ],
    )
    scores = write(
        tmp_path / "scores.csv",
        ["staff_id", "metric", "score", "plan"],
        [[s, m, "100", ""] for s in ("A1", "A2") for m in ("target_completion", "over_achievement")]
        + [["A1", "satisfaction", "100", ""]],  # typed in by hand: the records' 85 replaces it
    )
    roster = write(tmp_path / "roster.csv", ["staff_id", "role"], [["A1", "agent"], ["A2", "agent"]])
    return records, scores, roster


def test_satisfaction_and_complaint_metrics_come_from_the_records_of_the_quarter(tmp_path):
    records, scores, roster = month_files(tmp_path)
    out = svc.compute_month([CS], "2024-03", roster=roster, scores=scores, records=records).to_json()
    a1 = out["staff"]["A1"]["scores"][0]
    assert a1["scores"]["satisfaction"] == "85"  # mean 8.5 on a 10-point survey, on the 100 scale
    assert a1["scores"]["complaint_resolution"] == "100"  # both complaints resolved
    assert a1["scores"]["complaint_response"] == "50"  # one of two within 24 hours
    assert a1["from_records"] == ["satisfaction", "complaint_resolution", "complaint_response"]
    # 85×50% + 100×30% + 50×10% + 100×10% + 100×20% (bonus weight)
    assert a1["total"] == "107.5"
    a2 = out["staff"]["A2"]["scores"][0]["scores"]
    assert (a2["satisfaction"], a2["complaint_resolution"], a2["complaint_response"]) == ("60", "0", "0")
    assert [r["order_id"] for r in out["rejected"]] == ["C4"]


def test_a_plan_computing_from_records_needs_them(tmp_path):
    _, scores, roster = month_files(tmp_path)
    with pytest.raises(IncentiveConflict) as caught:
        svc.compute_month([CS], "2024-03", roster=roster, scores=scores)
    assert caught.value.code == "incentive_records_missing"


def test_a_record_metric_must_be_a_weighted_metric_and_a_deadline_needs_hours(tmp_path):
    bad = tmp_path / "bad.yaml"
    text = CS.read_text(encoding="utf-8")
    text = text.replace(
        "{metric: complaint_resolution, measure: resolved_share}", "{metric: nps, measure: resolved_share}"
    )
    text = text.replace(", hours: 24}", "}")
    bad.write_text(text, encoding="utf-8")
    plan, diagnostics = load_plan(bad)
    codes = sorted(d.code for d in diagnostics if d.is_error)
    assert plan is None and codes == ["incentive_record_measure_needs_hours", "incentive_record_metric_unknown"]
