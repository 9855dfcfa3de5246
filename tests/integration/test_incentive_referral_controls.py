"""Referral controls of seed 003 (转介绍奖励方案, issue 19 §10): the referrer must be on the new customer's yellow card
(黄卡), the new customer must be on a first visit, and a fabricated referral is fined 300 yuan — and, like every
reward of the plan, that fine reaches pay only through the plan's approval chain."""

from __future__ import annotations

import csv

import pytest

from tests.integration.test_incentive_pay_statement import REFERRAL
from weixi.incentives import approvals, lines, publication
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict

HEADER = ["referral_id", "referrer_type", "referrer_id", "new_customer_id", "kind", "converted", "fabricated"]
HEADER += ["approved_by", "recorded_by", "occurred_on", "yellow_card", "first_visit"]


def referrals(tmp_path, rows):
    path = tmp_path / "referrals.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(rows)
    return path


def month(path):
    return svc.compute_month([REFERRAL], "2016-01", referral_file=path)


def test_no_reward_without_the_yellow_card_or_for_a_returning_customer(tmp_path):
    # "必须在新建黄卡上填写介绍人的姓名与电话 ... 如未填写,将取消奖励"; "(必须为首次到店客户)"
    path = referrals(
        tmp_path,
        [
            ["R1", "employee", "E1", "N1", "referral", "true", "false", "王总监", "", "2016-01-05", "true", "true"],
            ["R2", "employee", "E1", "N2", "referral", "true", "false", "王总监", "", "2016-01-06", "false", "true"],
            ["R3", "employee", "E1", "N3", "referral", "true", "false", "王总监", "", "2016-01-07", "true", "false"],
            ["R4", "employee", "E1", "N4", "referral", "true", "false", "王总监", "", "2016-01-08", "", ""],
        ],
    )
    e1 = month(path).to_json()["staff"]["E1"]
    assert e1["bonus_yuan"] == "200.00"  # R1 only: "奖励当事人200元现金"
    why = {e["order_id"]: e["reasons"][0]["code"] for e in e1["excluded"]}
    assert why == {
        "R2": "incentive_excluded.not_on_yellow_card",
        "R3": "incentive_excluded.not_first_visit",
        "R4": "incentive_excluded.not_first_visit",  # nothing recorded: not shown to be a first visit
    }
    said = lines.say_excluded(next(e for e in e1["excluded"] if e["order_id"] == "R2"), "zh_CN")
    assert said == "转介绍 R2：新客户 N2 的黄卡上未填写介绍人，取消奖励［方案：转介绍奖励方案］"


def test_a_fabricated_referral_is_fined_300_yuan_through_the_approval_chain(engine, tmp_path):
    # "本公司员工应秉承真实的原则进行介绍,一经发现弄虚造假每次给予300元处罚"
    path = referrals(
        tmp_path, [["R9", "employee", "E2", "N9", "referral", "false", "true", "", "", "2016-01-09", "", ""]]
    )
    result = month(path)
    (line,) = result.to_json()["staff"]["E2"]["lines"]
    assert (line["code"], line["yuan"]) == ("incentive_line.referral_fine", "-300.00")
    with pytest.raises(IncentiveConflict):  # not on anyone's pay until the four signatures
        publication.publish(engine, result, "payroll office")
    plan = svc.load_incentive_plan(REFERRAL)
    for step, by, role in (
        ("information-officer", "小刘", "information_officer"),
        ("sales-director", "王总监", "sales_director"),
        ("customer-service", "客服", "customer_service"),
        ("general-manager", "赵总", "general_manager"),
    ):
        approvals.decide(engine, "2016-01", plan, step, "approve", by, role)
    assert publication.publish(engine, result, "payroll office")["new"]
    assert publication.published(engine, "2016-01")["statements"]["staff"]["E2"]["bonus_yuan"] == "-300.00"


def test_the_ob_groups_administrative_rules_and_the_equipment_price_table(tmp_path):
    # seed 002, 外呼运营处ob组现场管理规章制度及考核办法: "违规考核绩效1分/次,并直接纳入该月kpi考核中";
    # 行政管理制度 "9)进入办公区域必须佩戴工号牌"; "16)损坏和遗失的鼠标、耳机等固定设备,需照价赔偿 ... 附件价格赔偿表"
    discipline = tmp_path.parent / "ob.csv"
    with open(discipline, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["record_id", "staff_id", "violation", "occurred_on", "note"])
        w.writerows(
            [
                ["V1", "A1", "no-badge", "2016-01-04", ""],
                ["V2", "A1", "lost-headset", "2016-01-05", "耳机线断"],
                ["V3", "A1", "morning-meeting-absence", "2016-01-06", ""],
            ]
        )
    plan = REFERRAL.parent / "ob-discipline.yaml"
    a1 = svc.compute_month([plan], "2016-01", violations=discipline).to_json()["staff"]["A1"]
    assert (a1["kpi_points"], a1["bonus_yuan"]) == ("-2", "-120.00")  # 2 rules broken, one headset paid for
    headset = next(l for l in a1["lines"] if l["order_id"] == "V2")
    assert headset["code"] == "incentive_line.compensation_note" and headset["kpi_points"] == "0"
    assert lines.say_line(headset, "zh_CN") == (
        "记录 V2（2016-01-05）：损坏或遗失耳机（耳机线断）：照价赔偿 -120.00 元［方案：外呼运营处OB组现场管理考核办法］"
    )


def test_a_violation_that_costs_nothing_is_a_plan_error(tmp_path):
    from weixi.plans.loader import load_plan

    plan = tmp_path / "free.yaml"
    plan.write_text(
        (REFERRAL.parent / "ob-discipline.yaml").read_text(encoding="utf-8") + "  - {id: free, name: 免费}\n",
        encoding="utf-8",
    )
    found, diagnostics = load_plan(plan)
    assert found is None and [d.code for d in diagnostics if d.is_error] == ["incentive_violation_costs_nothing"]


def test_the_prepay_offer_goes_to_the_broadband_only_customers_the_plan_pays_for():
    # seed 003: "办理单宽带老客户预存网费送费优惠" — the offer and the incentive plan name the same customers
    import duckdb

    from weixi.plans.retention import load_retention_plan
    from weixi.targets.build import eligibility_sql

    retention, _ = load_retention_plan()
    offers = {o.id: o for o in retention.offers}
    where = eligibility_sql(offers["prepay_credit"].eligible)
    members = """SELECT * FROM (VALUES ('BB', true, NULL, 'primary'), ('BB2', true, '', NULL),
                 ('MIX', true, '4G', 'primary'), ('MOB', false, '5G', 'primary'))
                 AS m(member_id, broadband, network, card_role)"""
    chosen = [r[0] for r in duckdb.sql(f"SELECT member_id FROM ({members}) WHERE {where} ORDER BY 1").fetchall()]
    assert chosen == ["BB", "BB2"]
    plan = svc.load_incentive_plan(REFERRAL.parent / "retention-2016.yaml")
    (exclusion,) = plan.rule("broadband-prepay").exclusions
    assert exclusion.unless and exclusion.conditions[0].field == "broadband_only"
