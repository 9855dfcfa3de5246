"""The pure rules with the seeds' numbers: scorecards, awards, key accounts, splits, discipline, referrals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest

from weixi.incentives import discipline, keyaccount, lines, referrals, scorecard, split, workflow
from weixi.plans.loader import load_plan

EXAMPLES = Path(__file__).resolve().parents[3] / "plans" / "examples"
JAN = (date(2016, 1, 1), date(2016, 1, 31))


def plan(name):
    return load_plan(EXAMPLES / f"{name}.yaml")[0]


def test_maintenance_scorecard_weights_grades_and_bonus_by_role():
    p = plan("maintenance-scorecard")
    # 工作态度20% 维修技能40% 服从情况30% 部门协作10%: 9*0.2 + 9.5*0.4 + 9*0.3 + 8*0.1 = 9.1 -> 优
    leader = scorecard.score(
        p.scorecard,
        p.id,
        "L1",
        {"attitude": D(9), "skill": D("9.5"), "compliance": D(9), "cooperation": D(8)},
        role="team_leader",
    )
    assert leader.total == D("9.1") and leader.grade == "excellent" and leader.bonus_yuan == 500
    member = scorecard.score(
        p.scorecard,
        p.id,
        "W1",
        {"attitude": D(9), "skill": D("9.5"), "compliance": D(9), "cooperation": D(8)},
        role="maintenance_worker",
    )
    assert member.bonus_yuan == 300  # 组员 优300元
    fair = scorecard.score(
        p.scorecard,
        p.id,
        "W2",
        {"attitude": D(5), "skill": D(6), "compliance": D(5), "cooperation": D(5)},
        role="maintenance_worker",
    )
    assert fair.total == D("5.4") and fair.grade == "fair" and fair.bonus_yuan == 100  # 中100元
    gap = scorecard.score(
        p.scorecard,
        p.id,
        "W3",
        {"attitude": D("4.5"), "skill": D("4.5"), "compliance": D("4.5"), "cooperation": D("4.5")},
        role="team_leader",
    )
    assert gap.grade == "poor" and gap.bonus_yuan == 0  # the seed's 4-5 gap is poor here
    assert any("skill: 9.5 × 40%" in line for line in leader.lines)


def test_cs_scorecard_bonus_weight_goes_beyond_100():
    p = plan("cs-reward-scorecard")
    full = {
        "satisfaction": D(100),
        "target_completion": D(100),
        "complaint_response": D(100),
        "complaint_resolution": D(100),
    }
    assert scorecard.score(p.scorecard, p.id, "A", full).total == 100
    assert scorecard.score(p.scorecard, p.id, "A", {**full, "over_achievement": D(100)}).total == 120


def test_rank_awards_top_10_and_30_percent_improvement_and_encouragement():
    p = plan("cs-reward-scorecard")
    cards = [scorecard.score(p.scorecard, p.id, f"S{i:02d}", {"satisfaction": D(100 - i)}) for i in range(20)]
    cards[15].previous = D(0)  # S15 rose against last quarter: improvement award
    scorecard.apply_awards(p.scorecard.awards, cards)
    awards = [c.award for c in cards]
    assert awards[:2] == ["excellent"] * 2  # top 10% of 20
    assert awards[2:6] == ["good"] * 4  # top 30%
    assert awards[15] == "improvement"
    assert awards.count("encouragement") == 13


def test_team_awards_rank_teams_by_average():
    p = plan("cs-reward-scorecard")
    cards = [
        scorecard.score(p.scorecard, p.id, f"S{i}", {"satisfaction": D(s)}, team=t)
        for i, (t, s) in enumerate([("A", 90), ("A", 70), ("B", 60), ("B", 60), ("C", 100)])
    ]
    teams = {t.team: t for t in scorecard.team_awards(p.scorecard.awards, cards)}
    assert teams["C"].award == "excellent" and teams["A"].average == D(40)
    # 3 teams: top 10% and top 30% both round up to 1 team, so only C gets a rank award
    assert teams["A"].award == "encouragement" and teams["B"].award == "encouragement"
    assert (teams["C"].rank, teams["A"].rank, teams["B"].rank) == (1, 2, 3)


def test_postal_key_account_pro_rata():
    p = plan("postal-maintenance")
    # 信息量50分 贡献率50分; 一月不低于50户; 贡献率不低于70%; 超额按比例加分, 未完成按比例扣分
    met = keyaccount.score(p.key_account, p.id, "P1", {1: 10, 2: 15, 3: 12, 4: 13}, D(70))
    assert (met.customers, met.information_points, met.contribution_points, met.total) == (50, 50, 50, 100)
    more = keyaccount.score(p.key_account, p.id, "P2", {1: 20, 2: 20, 3: 20, 4: 15}, D("84"))
    assert more.information_points == 75 and more.contribution_points == 60
    short = keyaccount.score(p.key_account, p.id, "P3", {1: 10, 2: 5, 3: 10, 4: 0}, D(35))
    assert short.information_points == D(25) and short.contribution_points == D(25)
    assert short.short_weeks == [2, 4]  # 一周不低于10户


def test_member_maintenance_split():
    terms = plan("member-maintenance-split").split
    shares, why = split.split(terms, "p", "t1", "timed", D(300), "A", "B")
    assert why is None and [(s.staff_id, s.base_yuan) for s in shares] == [("A", 150), ("B", 150)]  # A、B共同提成
    shares, why = split.split(terms, "p", "t2", "stored_value", D(1000), "A", "B")
    assert [(s.staff_id, s.base_yuan) for s in shares] == [("A", 1000)]  # A提成B不提成
    shares, why = split.split(terms, "p", "t3", "stored_value", D(1000), "I", "B", maintainer_role="intern")
    assert shares == [] and "interns maintain only timed" in why  # 实习生只能记时卡
    assert (
        split.new_member_shift(terms, "timed") == "morning"
        and split.new_member_shift(terms, "stored_value") == "evening"
    )


def test_ob_discipline_one_kpi_point_per_violation():
    p = plan("ob-discipline")
    rows = [
        (2, {"record_id": "V1", "staff_id": "A1", "violation": "morning-meeting-absence", "occurred_on": "2016-01-04"}),
        (3, {"record_id": "V2", "staff_id": "A1", "violation": "private-calls", "occurred_on": "2016-01-05"}),
        (4, {"record_id": "V3", "staff_id": "A2", "violation": "sleeping", "occurred_on": "2016-01-05"}),
        (5, {"record_id": "V4", "staff_id": "A2", "violation": "loud-noise", "occurred_on": "2016-02-01"}),
    ]
    found, rejected = discipline.deduct(p, rows, *JAN)
    assert [(d.staff_id, d.kpi_points) for d in found] == [("A1", -1), ("A1", -1)]
    assert found[0].code == "incentive_line.violation" and "9:00-9:15" in found[0].params["violation_name"]
    assert lines.say(found[0].code, found[0].params, "zh_CN").startswith("违规 V1（2016-01-04）：")
    assert [(r.record_id, r.row) for r in rejected] == [("V3", 4), ("V4", 5)]
    assert "unknown violation sleeping" in rejected[0].reason


def test_referral_rewards_seed_numbers():
    p = plan("referral-rewards")
    base = {"converted": "true", "approved_by": "销售总监", "occurred_on": "2016-01-10"}
    base |= {"yellow_card": "true", "first_visit": "true"}  # on the 黄卡, a first visit
    rows = [
        (2, {**base, "referral_id": "R1", "referrer_type": "customer", "referrer_id": "M1", "new_customer_id": "N1"}),
        (3, {**base, "referral_id": "R2", "referrer_type": "employee", "referrer_id": "S1", "new_customer_id": "N2"}),
        (
            4,
            {
                **base,
                "referral_id": "R3",
                "referrer_type": "employee",
                "referrer_id": "S1",
                "new_customer_id": "N3",
                "kind": "lead",
            },
        ),
        (
            5,
            {
                **base,
                "referral_id": "R4",
                "referrer_type": "employee",
                "referrer_id": "S2",
                "new_customer_id": "N4",
                "fabricated": "true",
            },
        ),
        (6, {**base, "referral_id": "R5", "referrer_type": "employee", "referrer_id": "SC", "new_customer_id": "N5"}),
        (
            7,
            {
                **base,
                "referral_id": "R6",
                "referrer_type": "customer",
                "referrer_id": "M2",
                "new_customer_id": "N6",
                "approved_by": "",
            },
        ),
        (
            8,
            {
                **base,
                "referral_id": "R7",
                "referrer_type": "customer",
                "referrer_id": "M3",
                "new_customer_id": "N7",
                "reward": "gift",
            },
        ),
    ]
    roles = {"S1": "clerk", "S2": "clerk", "SC": "sales_consultant"}
    r = referrals.reward(p, rows, *JAN, roles)
    assert [(a.customer_id, a.points, a.gift) for a in r.customers] == [("M1", 300, None), ("M3", 0, "同等价值礼品")]
    assert [(s.staff_id, s.rule, s.yuan) for s in r.staff] == [
        ("S1", "employee_referral", 200),
        ("S1", "lead_converted", 100),
        ("S2", "fabricated_fine", -300),
    ]
    assert {rid: code for _, rid, code, _params in r.excluded} == {
        "R5": "incentive_excluded.no_referral_role",
        "R6": "incentive_excluded.not_approved",
    }
    r5 = next(params for _, rid, _code, params in r.excluded if rid == "R5")
    assert lines.say("incentive_excluded.no_referral_role", r5) == (
        "role Sales consultant does not earn referral rewards (excluded: Sales consultant)"
    )
    assert lines.say("incentive_excluded.no_referral_role", r5, "zh_CN").startswith("销售顾问不享受转介绍奖励")
    fine = r.staff[2]
    assert (fine.code, fine.params["yuan"]) == ("incentive_line.referral_fine", "300.00")
    assert r.customers[0].event_id == "incentive-referral-R1"


def test_workflow_steps_in_order():
    assert workflow.next_status("nominated", "committee_review", "accept") == "reviewed"
    assert workflow.next_status("reviewed", "leadership_approval", "reject") == "rejected"
    with pytest.raises(workflow.WorkflowError, match="next step is committee_review"):
        workflow.next_status("nominated", "leadership_approval", "accept")
    with pytest.raises(workflow.WorkflowError, match="no further step"):
        workflow.next_status("published", "publication", "accept")


def test_refusals_are_coded_with_their_kind_and_speak_chinese():
    from weixi.incentives.records import BadField, Rejected, number
    from weixi.messages import render

    with pytest.raises(workflow.WorkflowError) as err:
        workflow.next_status("nominated", "leadership_approval", "accept")
    assert (err.value.code, err.value.status) == ("incentive_step_out_of_order", 409)
    assert render(err.value, "zh_CN") == "该提名已提名,下一步应为评选委员会评审,而不是领导审批。"
    with pytest.raises(workflow.WorkflowError) as err:
        workflow.next_status("nominated", "committee_review", "maybe")
    assert (err.value.code, err.value.status) == ("incentive_bad_decision", 422)
    with pytest.raises(BadField) as bad:
        number({"amount": "12x"}, "amount")
    row = Rejected.of("T1", 7, bad.value, "payments.csv")
    assert row.to_json() == {
        "order_id": "T1",
        "reason": "row 7: amount: not a number: 12x",
        "code": "incentive_field_not_a_number",
        "params": {"field": "amount", "value": "12x"},
    }
    assert (row.problem.where.file, row.problem.where.row, row.problem.where.field) == ("payments.csv", 7, "amount")
    assert render(row.problem, "zh_CN") == "amount 列不是数字:12x"
