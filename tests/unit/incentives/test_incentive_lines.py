"""Statement lines as values (issue 18 §2, issue 19 §5): a code and params, said in the reader's language."""

from __future__ import annotations

import pytest

from tests.console import crawl
from weixi.incentives import lines

RULE = ("retention-2016", "mobile-phone-for-credit", "移动老客户维系 (购机送费)")


def line(**kw):
    args = dict(
        order_id="M6",
        business="phone_for_credit",
        customer_id="C6",
        expiring=False,
        measure="mobile",
        units="0.5",
        kpi_only=False,
        unit_roles=None,
        role="clerk",
        got_units=True,
        household=6,
        yuan="40.00",
        plan_id=RULE[0],
        rule_id=RULE[1],
        rule_name=RULE[2],
    )
    args.update(kw)
    return lines.order_line(**args)


def test_an_order_line_links_its_yuan_to_order_customer_and_rule_in_both_languages():
    """Seed 003: "非到期目标客户按每户折算0.5个移动效能 … 营业员揽装在5户内按每户奖励20元,超出5户部分每户奖励40元":
    the sixth household of a clerk earns 0.5 mobile unit and 40 yuan."""
    code, params = line()
    assert code == "incentive_line.order"
    assert params == {
        "order": "M6",
        "business": "phone_for_credit",
        "customer": "C6",
        "target": "non_expiring",
        "household": 6,
        "yuan": "40.00",
        "plan": "retention-2016",
        "rule": "mobile-phone-for-credit",
        "rule_name": "移动老客户维系 (购机送费)",
        "measure": "mobile",
        "units": "0.5",
    }
    assert lines.say(code, params) == (
        "order M6 (phone for credit, customer C6, non-expiring): +0.5 mobile unit; household 6 of the month:"
        " +40.00 yuan [rule mobile-phone-for-credit: 移动老客户维系 (购机送费)]"
    )
    assert lines.say(code, params, "zh_CN") == (
        "订单 M6（购机送费业务，客户 C6，非到期客户）：+0.5 个移动单位；本月第 6 户：+40.00 元［规则：移动老客户维系 (购机送费)］"
    )


@pytest.mark.parametrize(
    ("kw", "code", "zh"),
    [
        ({"kpi_only": True}, "incentive_line.order_kpi_only", "只计月度KPI，不计超量奖"),
        ({"measure": None}, "incentive_line.order_no_units", "不计单位；"),
        (
            {"measure": "broadband", "got_units": False, "unit_roles": ("center_manager", "grid_staff", "clerk")},
            "incentive_line.order_role_no_units",
            "宽带单位只计给中心经理、网格人员、营业员，此员工为",
        ),
    ],
)
def test_every_kind_of_order_line_speaks_chinese_with_roles_by_name(kw, code, zh):
    """Seed 003: "中心经理、网格人员、营业员办理单宽带老客户预存网费送费优惠 … 可折算1个宽带效能": the roles are named as
    the notice names them, not by their codes."""
    said_code, params = line(role="maintenance_manager", **kw)
    said = lines.say(said_code, params, "zh_CN")
    assert said_code == code and zh in said
    assert crawl.zh_findings(said.replace(RULE[2], "")) == []  # no English and no code on a Chinese page


def test_excluded_reasons_are_values_and_a_plans_own_reason_stays_as_written():
    entry = lines.excluded(
        "M8",
        [
            {"code": "incentive_excluded.plan", "exclusion": "secondary-card", "reason": "副卡不纳入"},
            {
                "code": "incentive_excluded.role",
                "rule": "r",
                "rule_name": "购机送费",
                "roles": "clerk,agent",
                "role": "intern",
            },
            {"code": "incentive_excluded.household", "customer": "C1", "business": "broadband_prepay", "first": "B1"},
        ],
    )
    assert [r["code"] for r in entry["reasons"]] == [
        "incentive_excluded.plan",
        "incentive_excluded.role",
        "incentive_excluded.household",
    ]
    assert entry["reasons"][1]["params"]["roles"] == ["clerk", "agent"]
    assert entry["reason"].startswith(
        "secondary-card: 副卡不纳入; roles: rule r credits only Store clerk, Outbound agent;"
    )
    zh = lines.say_excluded(entry, "zh_CN")
    assert zh.startswith("副卡不纳入；规则「购机送费」只计给营业员、")
    assert "每户只计一次：客户 C1 本月的预存网费送费业务已计入订单 B1" in zh and crawl.zh_findings(zh) == []


def test_a_line_published_before_codes_shows_its_text():
    assert lines.say_line({"text": "order M1 (...)"}, "zh_CN") == "order M1 (...)"
    assert lines.say_excluded({"reason": "x: y"}, "zh_CN") == "x: y"


@pytest.mark.parametrize(
    "kw", [{}, {"kpi_only": True}, {"measure": None}, {"got_units": False, "unit_roles": ("clerk",)}]
)
def test_the_sentence_said_in_sql_is_the_catalogues(kw):
    """A month's lines are said in the query (set-based); it must say what the catalogue says."""
    import duckdb

    code, params = line(role="intern", **kw)
    exprs = {k: "p_" + k for k in ("order", "business", "customer", "target", "household", "yuan", "rule", "measure")}
    exprs.update(
        plan="'retention-2016'", rule_name=f"'{RULE[2]}'", units="p_units", role="p_role", unit_roles="p_unit_roles"
    )
    con = duckdb.connect()
    values = {**params, "role": "intern", "unit_roles": "Store clerk", "units": params.get("units", "0")}
    con.execute("CREATE TABLE t AS SELECT " + ", ".join(f"$${v}$$ AS p_{k}" for k, v in values.items()))
    sql = lines.sql_text(code, exprs, frozenset({"unit_roles"}))
    assert con.execute(f"SELECT {sql} FROM t").fetchone()[0] == lines.say(code, params)


def test_a_recompute_that_only_words_a_line_differently_changes_nothing():
    """A month published before lines had codes: the recompute pays the same, so the difference page is empty."""
    from weixi.incentives.workflow import changes

    pay = {"order_id": "M6", "rule": "r/x", "measure": "mobile", "units": "0.5", "kpi_points": "0.5", "yuan": "40.00"}
    totals = {"role": "clerk", "mobile_units": "0.5", "broadband_units": "0", "kpi_points": "0.5", "bonus_yuan": "40"}
    old = {
        "staff": {"S1": {**totals, "excluded": [{"order_id": "M8", "reason": "x"}], "lines": [{**pay, "text": "a"}]}}
    }
    code, params = line()
    said = {**pay, "code": code, "params": params, "text": lines.say(code, params)}
    reasons = [{"code": "incentive_excluded.plan", "params": {"exclusion": "x", "reason": "y"}}]
    new = {
        "staff": {
            "S1": {**totals, "excluded": [{"order_id": "M8", "reason": "x: y", "reasons": reasons}], "lines": [said]}
        }
    }
    assert changes(old, new) == {"changes": {}, "unchanged": 1}
    more = {"staff": {"S1": {**new["staff"]["S1"], "bonus_yuan": "60", "lines": [{**said, "yuan": "60.00"}]}}}
    found = changes(old, more)["changes"]["S1"]
    assert found["bonus_yuan"]["recomputed"] == "60" and found["changed"][0]["recomputed"]["yuan"] == "60.00"
