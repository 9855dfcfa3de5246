"""Who is paid, and for what, under the 2016 retention notice (seed 003, 关于下发客户维系考核激励方案的通知) as the
shipped plan ``plans/examples/retention-2016.yaml`` reads it, and how repeated CRM order rows are counted.

Each test quotes the seed's words it checks."""

from __future__ import annotations

import csv

import pytest

from tests.conftest import ROOT
from weixi.incentives import service as svc
from weixi.messages import render
from weixi.plans.retention import load_retention_plan

RETENTION = ROOT / "plans" / "examples" / "retention-2016.yaml"
HEADER = [
    "order_id",
    "staff_id",
    "business",
    "customer_id",
    "number",
    "card",
    "monthly_rent",
    "network",
    "active",
    "cancels_unexpired_subsidy",
    "created_at",
    "broadband_only",
]
ROSTER = [
    ["A1", "agent"],  # 外呼坐席
    ["I1", "intern"],  # 实习生
    ["K1", "customer_manager"],  # 客户经理
    ["W1", "maintenance_manager"],  # 装维经理
    ["G1", "grid_staff"],  # 网格人员
    ["N1", "grid_manager"],  # 网格经理
    ["Z1", "center_manager"],  # 中心经理
    ["C1", "clerk"],  # 营业员
]


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def order(order_id, staff, business, customer, day, **kw):
    row = {
        "order_id": order_id,
        "staff_id": staff,
        "business": business,
        "customer_id": customer,
        "created_at": f"2016-01-{day:02d}T10:00:00+08:00",
    }
    if business == "phone_for_credit":
        row |= {"number": "13900000000", "card": "primary", "monthly_rent": "58", "network": "4G", "active": "true"}
        row["cancels_unexpired_subsidy"] = "false"
    if business == "broadband_prepay":
        row["broadband_only"] = "true"
    row |= kw
    return [row.get(c, "") for c in HEADER]


def month(tmp_path, rows, targets=()):
    orders = write(tmp_path / "orders.csv", HEADER, rows)
    roster = write(tmp_path / "roster.csv", ["staff_id", "role"], ROSTER)
    target_file = write(
        tmp_path / "targets.csv", ["customer_id", "month", "status"], [[c, "2016-01", "expiring"] for c in targets]
    )
    return svc.compute_month([RETENTION], "2016-01", orders, target_file, roster).to_json()


def totals(statement):
    return (statement["mobile_units"], statement["broadband_units"], statement["bonus_yuan"])


# --- 1. eligible roles ----------------------------------------------------------------------------------


def test_phone_for_credit_and_fiber_credit_only_the_four_roles_the_notice_names(tmp_path):
    """ "中心经理、网格经理、装维经理、营业员办理购机送费优惠 … 到期目标客户 … 按每户折算1个移动效能" and
    "中心经理、网格经理、装维经理、营业员办理宽带老客户光纤平移折算0.5个宽带效能": an outbound agent (外呼坐席), an intern
    (实习生) and a customer manager (客户经理) are not on the list, so they get 0 units and 0 yuan for these deals."""
    rows = []
    for n, staff in enumerate(("A1", "I1", "K1"), start=1):
        rows.append(order(f"M{n}", staff, "phone_for_credit", f"X{n}", n))  # X1..X3 are expiring targets
        rows.append(order(f"F{n}", staff, "fiber_migration", f"Y{n}", n))
    out = month(tmp_path, rows, targets=("X1", "X2", "X3"))
    for staff in ("A1", "I1", "K1"):
        s = out["staff"][staff]
        assert (totals(s), s["kpi_points"], s["lines"]) == (("0", "0", "0.00"), "0", [])
        assert sorted(e["order_id"][0] for e in s["excluded"]) == ["F", "M"]
        role = dict(ROSTER)[staff]
        assert all(e["reason"].endswith(f"this staff member is {role}") for e in s["excluded"])
    assert out["rejected"] == []


def test_the_four_roles_are_paid_by_the_notice_numbers(tmp_path):
    """ "营业员揽装在5户内按每户奖励20元 … 其它人员揽装2户内按每户奖励20元,超出2户部分每户奖励40元": the 装维经理,
    网格经理 and 中心经理 are the 其它人员 (20, 20, then 40 yuan); an expiring target is 1 移动效能, a non-expiring 0.5."""
    rows = [order(f"W{i}", "W1", "phone_for_credit", f"WC{i}", i) for i in (1, 2, 3)]
    rows += [order("N1", "N1", "phone_for_credit", "NC1", 4), order("Z1", "Z1", "phone_for_credit", "ZC1", 5)]
    rows += [order("CF", "C1", "fiber_migration", "CC1", 6)]
    out = month(tmp_path, rows, targets=("WC1",))
    w = out["staff"]["W1"]
    assert (w["mobile_units"], w["bonus_yuan"]) == ("2", "80.00")  # 1 + 0.5 + 0.5; 20 + 20 + 40
    assert [line["yuan"] for line in w["lines"]] == ["20.00", "20.00", "40.00"]
    assert totals(out["staff"]["N1"]) == ("0.5", "0", "20.00")
    assert totals(out["staff"]["Z1"]) == ("0.5", "0", "20.00")
    assert totals(out["staff"]["C1"]) == ("0", "0.5", "0.00")  # 光纤平移 0.5 宽带效能; cash "参照相关激励文件"


def test_prepay_units_only_for_center_grid_and_clerk_but_20_yuan_for_every_employee(tmp_path):
    """ "中心经理、网格人员、营业员办理单宽带老客户预存网费送费优惠,非到期目标客户可折算0.5个宽带效能 …
    所有员工办理预存网费送费优惠奖励20元/户": a 装维经理 (and an agent) gets no prepay unit, but the 20 yuan."""
    rows = [
        order("B1", "W1", "broadband_prepay", "P1", 1),
        order("B2", "A1", "broadband_prepay", "P2", 2),
        order("B3", "G1", "broadband_prepay", "P3", 3),
        order("B4", "Z1", "broadband_prepay", "P4", 4),
        order("B5", "C1", "broadband_prepay", "P5", 5),
        order("B6", "N1", "broadband_prepay", "P6", 6),
    ]
    out = month(tmp_path, rows, targets=("P5",))
    for staff in ("W1", "A1"):
        s = out["staff"][staff]
        assert (totals(s), s["kpi_points"]) == (("0", "0", "20.00"), "0")
        assert "no units: rule broadband-prepay credits broadband units only to" in s["lines"][0]["text"]
    assert totals(out["staff"]["G1"]) == ("0", "0.5", "20.00")  # 网格人员
    assert totals(out["staff"]["N1"]) == ("0", "0.5", "20.00")  # the grid manager is one of the 网格人员
    assert totals(out["staff"]["Z1"]) == ("0", "0.5", "20.00")
    assert totals(out["staff"]["C1"]) == ("0", "1", "20.00")  # 到期目标客户 1个宽带效能


# --- 2. 单宽带 ---------------------------------------------------------------------------------------------


def test_prepay_counts_only_for_broadband_only_customers(tmp_path):
    """ "办理单宽带老客户预存网费送费优惠": a customer who is not broadband-only (单宽带) earns nothing; an order whose
    ``broadband_only`` is empty cannot be judged and is rejected with its row."""
    rows = [
        order("B1", "C1", "broadband_prepay", "P1", 1),
        order("B2", "C1", "broadband_prepay", "P2", 2, broadband_only="false"),
        order("B3", "C1", "broadband_prepay", "P3", 3, broadband_only=""),
        order("B4", "C1", "broadband_prepay", "P4", 4, broadband_only="maybe"),
    ]
    out = month(tmp_path, rows)
    c = out["staff"]["C1"]
    assert (totals(c), [line["order_id"] for line in c["lines"]]) == (("0", "0.5", "20.00"), ["B1"])
    assert c["excluded"] == [
        {"order_id": "B2", "reason": "not-broadband-only: 仅限单宽带老客户 (not a broadband-only customer)"}
    ]
    rejected = {r["order_id"]: r for r in out["rejected"]}
    assert rejected["B3"]["code"] == "incentive_order_field_needed"
    assert rejected["B3"]["params"]["field"] == "broadband_only"
    assert rejected["B4"]["code"] == "incentive_field_not_boolean"


# --- 3. 4G or newer ---------------------------------------------------------------------------------------


def test_an_active_5g_phone_for_credit_order_pays_the_clerk(tmp_path):
    """ "办理购机送费优惠用户必须为有效使用4G卡用户" read as 4G or newer and active: the clerk who closes a 5G
    member's 购机送费 gets 0.5 移动效能 and 20 yuan ("营业员揽装在5户内按每户奖励20元"); 3G or an inactive 5G does not."""
    rows = [
        order("M1", "C1", "phone_for_credit", "G5", 1, network="5G"),
        order("M2", "C1", "phone_for_credit", "G3", 2, network="3G"),
        order("M3", "C1", "phone_for_credit", "G6", 3, network="5G", active="false"),
    ]
    out = month(tmp_path, rows)
    c = out["staff"]["C1"]
    assert (totals(c), [line["order_id"] for line in c["lines"]]) == (("0.5", "0", "20.00"), ["M1"])
    assert {e["order_id"] for e in c["excluded"]} == {"M2", "M3"}
    assert all(e["reason"].startswith("not-active-4g:") for e in c["excluded"])


def test_the_offers_recommend_phone_for_credit_to_the_networks_the_plan_pays_for():
    """The retention offers (src/weixi/data/retention.yaml) and the incentive rule agree on "4G卡用户": both are
    4G or newer, so a recommended 5G deal is never an unpaid one."""
    offers, _ = load_retention_plan()
    offer = next(o for o in offers.offers if o.id == "phone_for_credit")
    plan = svc.load_incentive_plan(RETENTION)
    rule = next(r for r in plan.orders if r.business == "phone_for_credit")
    exclusion = next(e for e in rule.exclusions if e.id == "not-active-4g")
    paid = next(c.values for c in exclusion.conditions if c.field == "network")
    assert exclusion.unless and set(paid) == set(offer.eligible.network) == {"4G", "5G"}


# --- 4. duplicate order rows ------------------------------------------------------------------------------


def test_identical_copies_of_an_order_count_once_and_are_reported(tmp_path):
    """A CRM export that repeats a row must not cost the employee the deal: the order counts once (营业员: 20 yuan)
    and each extra copy is reported as a duplicate of the first row, as the ledger reports a repeated event id."""
    m1 = order("M1", "C1", "phone_for_credit", "D1", 1)
    out = month(tmp_path, [m1, m1, order("M2", "C1", "phone_for_credit", "D2", 2), m1])
    c = out["staff"]["C1"]
    assert (totals(c), [line["order_id"] for line in c["lines"]]) == (("1", "0", "40.00"), ["M1", "M2"])
    assert out["rejected"] == [] and c["excluded"] == []
    assert [(d["order_id"], d["code"], d["params"]["row"], d["params"]["first"]) for d in out["duplicates"]] == [
        ("M1", "incentive_order_duplicate_copy", 3, 2),
        ("M1", "incentive_order_duplicate_copy", 5, 2),
    ]
    assert out["duplicates"][0]["reason"].startswith("row 3: order_id: M1 on row 3 is an identical copy of row 2")


def test_copies_that_differ_are_all_rejected_with_both_rows_and_the_differing_columns(tmp_path):
    """Copies of one order id that disagree (another customer, another time) cannot be told apart: every copy is
    rejected, each naming all the rows and the columns that differ; an identical third copy does not rescue them."""
    first = order("M1", "C1", "phone_for_credit", "D1", 1)
    other = order("M1", "C1", "phone_for_credit", "D9", 2)
    out = month(tmp_path, [first, other, first, order("M2", "C1", "phone_for_credit", "D2", 3)])
    assert [line["order_id"] for line in out["staff"]["C1"]["lines"]] == ["M2"]
    rejected = [r for r in out["rejected"] if r["order_id"] == "M1"]
    assert len(rejected) == 3 and out["duplicates"] == []
    for r in rejected:
        assert r["code"] == "incentive_order_copies_differ"
        assert r["params"]["rows"] == "2, 3, 4" and r["params"]["fields"] == ["customer_id", "created_at"]
    assert "order_id: M1 appears on rows 2, 3, 4 with different customer_id, created_at" in rejected[0]["reason"]


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_duplicate_reasons_have_sentences_in_both_languages(tmp_path, locale):
    from weixi.errors import Problem

    m1 = order("M1", "C1", "phone_for_credit", "D1", 1)
    out = month(tmp_path, [m1, m1, order("M2", "C1", "phone_for_credit", "D1", 2), order("M2", "C1", "x", "D1", 2)])
    for entry in (out["duplicates"][0], out["rejected"][0]):
        text = render(Problem(entry["code"], entry["params"]), locale)
        assert entry["params"]["order"] in text and "{" not in text
