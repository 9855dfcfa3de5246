"""Approval chains per plan and suspended months (issue 19 §6): each step decided by the roles the plan names, recorded
with who and when; a month's pay is published only when every chain approved it; a suspended plan computes nothing
that month and the statements say why. Each test quotes the seed's words it checks."""

from __future__ import annotations

import pytest

from tests.integration.test_incentive_pay_statement import MAINTENANCE, REFERRAL, RETENTION, compute
from tests.integration.test_incentive_pay_statement import files as files  # noqa: F401 - the fixture
from weixi.incentives import approvals, publication
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict, IncentiveInvalid, NotVisible
from weixi.messages import render


def month(files, plans):
    return svc.compute_month(
        plans, "2016-01", files["orders"], None, files["roster"], files["violations"], files["referrals"],
        scores=files["scores"],
    )  # fmt: skip


def test_the_referral_chain_is_the_seeds_four_signatures():
    # seed 003, 转介绍奖励方案: "需经信息员签字再经销售总监或零售经理签字方可领取奖励, ... 若领取现金的,需在客服部签
    # 字后再由总经理再签字确认"
    plan = svc.load_incentive_plan(REFERRAL)
    assert [(s.name, s.roles) for s in plan.approval] == [
        ("信息员签字", ("information_officer",)),
        ("销售总监或零售经理签字", ("sales_director", "retail_manager")),
        ("客服部签字确认并备案", ("customer_service",)),
        ("总经理签字（现金奖励）", ("general_manager",)),
    ]


def test_maintenance_bonuses_are_published_only_after_the_directors_approval(engine, files):
    # seed 003, 维修部激励方案: "根据各项目执行情况有组长或主管判定奖励情况,上报总监审核,批准执行"
    plan = svc.load_incentive_plan(MAINTENANCE)
    result = month(files, [RETENTION, MAINTENANCE])
    assert result.chains == {"maintenance-scorecard": plan.approval}
    with pytest.raises(IncentiveConflict) as caught:
        publication.publish(engine, result, "admin")
    assert caught.value.code == "incentive_approval_pending"
    assert render(caught.value, "zh_CN") == (
        "方案 maintenance-scorecard 2016-01 的薪酬尚未审批完成：下一步为「组长或主管判定」（组长、主管）。"
    )
    approvals.decide(engine, "2016-01", plan, "judged", "approve", "李强", "team_leader")
    with pytest.raises(IncentiveConflict):  # the director has not approved yet
        publication.publish(engine, result, "admin")
    with pytest.raises(NotVisible) as wrong:  # a team leader cannot stand in for the director
        approvals.decide(engine, "2016-01", plan, "director", "approve", "李强", "team_leader")
    assert render(wrong.value, "zh_CN") == "审批步骤「总监审核批准」须由总监审批，组长无权审批。"
    state = approvals.decide(engine, "2016-01", plan, "director", "approve", "张总", "director")
    assert state["complete"] and [s["approved"]["by"] for s in state["steps"]] == ["李强", "张总"]
    assert all(s["approved"]["at"] for s in state["steps"])  # when, recorded
    assert publication.publish(engine, result, "admin")["new"] is True


def test_a_returned_step_restarts_the_chain_and_keeps_its_reason(engine):
    plan = svc.load_incentive_plan(REFERRAL)
    approvals.decide(engine, "2016-01", plan, "information-officer", "approve", "小刘", "information_officer")
    with pytest.raises(IncentiveConflict) as order:  # steps in the plan's order
        approvals.decide(engine, "2016-01", plan, "customer-service", "approve", "客服", "customer_service")
    assert order.value.code == "incentive_approval_out_of_order"
    with pytest.raises(IncentiveInvalid):  # a return says why
        approvals.decide(engine, "2016-01", plan, "sales-director", "return", "王总监", "sales_director")
    state = approvals.decide(engine, "2016-01", plan, "sales-director", "return", "王总监", "sales_director", "缺黄卡")
    assert state["next"]["id"] == "information-officer" and state["returned"]["note"] == "缺黄卡"
    assert [h["decision"] for h in state["history"]] == ["approve", "return"]  # nothing is erased
    for step, by, role in (
        ("information-officer", "小刘", "information_officer"),
        ("sales-director", "李经理", "retail_manager"),  # 销售总监 or 零售经理
        ("customer-service", "客服", "customer_service"),
        ("general-manager", "赵总", "general_manager"),
    ):
        state = approvals.decide(engine, "2016-01", plan, step, "approve", by, role)
    assert state["complete"]
    with pytest.raises(IncentiveConflict):
        approvals.decide(engine, "2016-01", plan, "general-manager", "approve", "赵总", "general_manager")
    assert approvals.state(engine, "2016-02", plan)["next"]["id"] == "information-officer"  # each month its own


def test_a_suspended_plan_computes_no_pay_that_month_and_says_why(tmp_path, files):
    # seed 003, 维修部激励方案: "根据当月情况总监可以决定各组或全部门不执行此方案 ①发生重大事故(人为故意)"
    text = MAINTENANCE.read_text(encoding="utf-8")
    plan = tmp_path / "suspended.yaml"
    plan.write_text(text + "suspended:\n  - {month: 2016-01, reason: 发生重大事故（人为故意）}\n", encoding="utf-8")
    out = compute(files, [RETENTION, plan])
    assert out["suspended"] == [
        {"plan": "maintenance-scorecard", "plan_name": "维修部激励方案", "reason": "发生重大事故（人为故意）"}
    ]
    assert out["staff"]["T1"]["bonus_yuan"] == "20.00"  # the prepay order only: no 500 yuan this month
    assert not any(l["code"] == "incentive_line.scorecard" for s in out["staff"].values() for l in s["lines"])
    assert out["staff"]["T1"]["scores"] == []


def test_a_month_suspended_twice_is_a_plan_error(tmp_path):
    from weixi.plans.loader import load_plan

    plan = tmp_path / "twice.yaml"
    twice = "suspended:\n  - {month: 2016-01, reason: a}\n  - {month: 2016-01, reason: b}\n"
    plan.write_text(MAINTENANCE.read_text(encoding="utf-8") + twice, encoding="utf-8")
    found, diagnostics = load_plan(plan)
    assert found is None and [d.code for d in diagnostics if d.is_error] == ["plan_duplicate_id"]
