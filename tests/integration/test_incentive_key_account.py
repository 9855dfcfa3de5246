"""Post-office key-account maintenance (seed 003, 邮政大客户维护方案, issue 19 §9): "客户维护按月考核,月底汇总、评比、通报" —
the month's scores ranked (评比) and the notice (通报) by rank; the rank is on each pay statement too."""

from __future__ import annotations

import csv

from tests.integration.test_incentive_pay_statement import POSTAL
from weixi.incentives import scoring
from weixi.incentives import service as svc


def scores(tmp_path, by_staff):
    path = tmp_path / "scores.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["staff_id", "metric", "score"])
        for staff_id, (weeks, share) in by_staff.items():
            w.writerows([staff_id, f"week{n}", c] for n, c in enumerate(weeks, start=1))
            w.writerow([staff_id, "contribution_pct", share])
    return path


def test_the_month_is_ranked_and_the_notice_lists_everyone_by_rank(tmp_path):
    # "信息量50分、贡献率50分,达到标准得基本分,超额完成按比例加分,未完成按比列扣分";
    # "客户信息收集一周不低于10户、一月不低于50户"; "贡献率不低本月单位业绩的70%"
    path = scores(
        tmp_path,
        {
            "P1": ((15, 15, 15, 15), 84),  # 60 customers: 60 points; 84%: 60 points -> 120
            "P2": ((10, 10, 10, 10, 10), 70),  # the standard exactly: 50 + 50 = 100
            "P3": ((12, 12, 12, 9), 70),  # 45 customers, week 4 short: 45 + 50 = 95
            "P4": ((10, 10, 10, 10, 10), 70),  # ties with P2
        },
    )
    out = scoring.score_period(POSTAL, "2016-01", path)
    assert {s: (v["total"], v["rank"], v["of"]) for s, v in out["staff"].items()} == {
        "P1": ("120", 1, 4),
        "P2": ("100", 2, 4),
        "P4": ("100", 2, 4),
        "P3": ("95", 4, 4),
    }
    assert [(n["rank"], n["staff_id"], n["met_monthly_standard"], n["short_weeks"]) for n in out["notice"]] == [
        (1, "P1", True, []),
        (2, "P2", True, []),
        (2, "P4", True, []),
        (4, "P3", False, [4]),
    ]
    statement = svc.compute_month([POSTAL], "2016-01", scores=path).to_json()["staff"]["P3"]
    (score,) = statement["scores"]
    assert (score["total"], score["rank"], score["of"]) == ("95", 4, 4)
