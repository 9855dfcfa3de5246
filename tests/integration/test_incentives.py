"""Incentive statements end to end through the service layer: orders in DuckDB, publication and
recompute in the database, referral points in the ledger, the award workflow."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from tests.conftest import BACKENDS, ROOT
from weixi.incentives import lines, publication
from weixi.incentives import service as svc
from weixi.incentives.synthetic import generate
from weixi.ledger.queries import balance
from weixi.plans.service import apply_plan

EXAMPLES = ROOT / "plans" / "examples"
RETENTION = EXAMPLES / "retention-2016.yaml"
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


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def mobile(order_id, staff, customer, day, **kw):
    row = {
        "business": "phone_for_credit",
        "number": "13900000000",
        "card": "primary",
        "monthly_rent": "58",
        "network": "4G",
        "active": "true",
        "cancels_unexpired_subsidy": "false",
        **kw,
    }
    return [
        order_id,
        staff,
        row["business"],
        customer,
        row["number"],
        row["card"],
        row["monthly_rent"],
        row["network"],
        row["active"],
        row["cancels_unexpired_subsidy"],
        f"2016-01-{day:02d}T10:00:00+08:00",
        row.get("broadband_only", ""),
    ]


@pytest.fixture
def month(tmp_path):
    roster = write(
        tmp_path / "roster.csv",
        ["staff_id", "name", "role", "team", "shift", "hired_on", "left_on"],
        [
            ["S1", "王芳", "clerk", "东", "", "2014-01-01", ""],
            ["S2", "李强", "grid_manager", "东", "", "", ""],
            ["S3", "陈静", "intern", "西", "", "", ""],
        ],
    )
    targets = write(
        tmp_path / "targets.csv",
        ["customer_id", "month", "status"],
        [["C1", "2016-01", "expiring"], ["C2", "2016-01", "non_expiring"], ["C4", "2015-12", "expiring"]],
    )
    rows = [mobile(f"M{i}", "S1", f"C{i}", i) for i in range(1, 8)]  # 7 households for a clerk
    rows += [
        mobile("M8", "S1", "C8", 9, card="secondary"),  # excluded: 副卡
        mobile("M9", "S2", "C9", 9, monthly_rent="0"),  # excluded: 无月租
        mobile("M10", "S2", "C10", 9, cancels_unexpired_subsidy="true"),  # excluded: 中途取消补贴
        mobile("M11", "S2", "C11", 9, network="3G"),  # excluded: not 4G
        mobile("M12", "S2", "C12", 10),
        mobile("M13", "S2", "C13", 11),
        mobile("M14", "S2", "C14", 12),
        mobile("M15", "S9", "C15", 12),  # rejected: unknown staff
        mobile("M16", "S2", "C16", 12, monthly_rent="5x"),  # rejected: malformed
        mobile("M12", "S2", "C17", 13),
    ]  # rejected: duplicate id (both)
    rows += [
        ["B1", "S2", "broadband_prepay", "C1", "", "", "", "", "", "", "2016-01-20T09:00:00+08:00", "true"],
        ["F1", "S3", "fiber_migration", "C2", "", "", "", "", "", "", "2016-01-21T09:00:00+08:00", ""],
        ["B2", "S3", "broadband_prepay", "", "", "", "", "", "", "", "2016-01-21T09:00:00+08:00", "true"],
    ]
    orders = write(tmp_path / "orders.csv", HEADER, rows)
    return {"orders": orders, "targets": targets, "roster": roster}


def compute(month, orders=None):
    return svc.compute_month([RETENTION], "2016-01", orders or month["orders"], month["targets"], month["roster"])


def test_retention_month_seed_numbers(month):
    out = compute(month).to_json()
    s1 = out["staff"]["S1"]
    # C1 is an expiring target (1 unit), six non-expiring households (0.5 each); 营业员 5 x 20 + 2 x 40
    assert (s1["role"], s1["mobile_units"], s1["kpi_points"], s1["bonus_yuan"]) == ("clerk", "4", "4", "180.00")
    assert [l["yuan"] for l in s1["lines"]] == ["20.00"] * 5 + ["40.00"] * 2
    plan_reason = {"exclusion": "secondary-card", "reason": "副卡不纳入"}
    assert s1["excluded"] == [
        {
            "order_id": "M8",
            "reasons": [{"code": "incentive_excluded.plan", "params": plan_reason}],
            "reason": "secondary-card: 副卡不纳入",
        }
    ]
    s2 = out["staff"]["S2"]
    # grid manager: M13, M14 counted (M12 duplicated), 2 x 20; broadband prepay B1 for expiring C1: 1 unit, 20 yuan
    assert (s2["mobile_units"], s2["broadband_units"], s2["kpi_points"], s2["bonus_yuan"]) == ("1", "1", "2", "60.00")
    assert {e["order_id"]: e["reason"].split(":")[0] for e in s2["excluded"]} == {
        "M9": "no-monthly-rent",
        "M10": "redo-subsidy",
        "M11": "not-active-4g",
    }
    s3 = out["staff"]["S3"]
    # 光纤平移 is credited to 中心经理、网格经理、装维经理、营业员 only: the intern's F1 earns nothing
    assert (s3["broadband_units"], s3["bonus_yuan"], s3["lines"]) == ("0", "0.00", [])
    assert [e["order_id"] for e in s3["excluded"]] == ["F1"] and "credits only" in s3["excluded"][0]["reason"]
    rejected = {r["order_id"]: r["reason"] for r in out["rejected"]}
    assert set(rejected) == {"M15", "M16", "M12", "B2"}  # M12's two rows differ (customer, time): both rejected
    assert rejected["M15"] == "row 16: staff_id: unknown staff S9 (not in the roster)"
    assert "monthly_rent" in rejected["M16"] and "customer_id: missing" in rejected["B2"]
    assert sum(1 for r in out["rejected"] if r["order_id"] == "M12") == 2
    every_line = [l for s in out["staff"].values() for l in s["lines"]]
    assert all(l["order_id"] in l["text"] and l["rule"].startswith("retention-2016/") for l in every_line)
    # the English sentence said in the query is the catalogue's sentence of the line's code and params
    assert every_line and {l["code"] for l in every_line} <= set(lines.ORDER_CODES)
    assert all(l["text"] == lines.say(l["code"], l["params"]) for l in every_line)


def test_a_plan_not_in_force_is_refused(month):
    with pytest.raises(svc.IncentiveError, match="in force from 2016-01-01"):
        svc.compute_month([RETENTION], "2015-12", month["orders"])


def test_bad_roster_stops_with_every_bad_row(month, tmp_path):
    roster = write(tmp_path / "bad.csv", ["staff_id", "role"], [["S1", "clerk"], ["S2", "boss"], ["S1", "clerk"]])
    with pytest.raises(svc.IncentiveError) as err:
        svc.compute_month([RETENTION], "2016-01", month["orders"], roster=roster)
    assert "row 3: role: unknown role boss" in str(err.value) and "S1 is listed more than once" in str(err.value)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_publish_then_recompute_with_late_orders_shows_the_difference(month, engine, tmp_path):
    first = compute(month)
    assert publication.publish(engine, first, "张主任")["version"] == 1
    assert publication.publish(engine, first, "张主任")["new"] is False  # same content: nothing new
    late = write(
        tmp_path / "late.csv",
        HEADER,
        [r for r in csv.reader(open(month["orders"], encoding="utf-8"))][1:] + [mobile("M20", "S1", "C20", 28)],
    )
    again = compute(month, late)
    with pytest.raises(svc.IncentiveError, match="never changed silently"):
        publication.publish(engine, again, "张主任")
    delta = publication.diff(engine, again)
    change = delta["changes"]["S1"]
    assert change["bonus_yuan"] == {"published": "180.00", "recomputed": "220.00", "difference": "40.00"}
    assert [l["order_id"] for l in change["added"]] == ["M20"] and delta["unchanged"] == 2
    assert publication.published(engine, "2016-01")["statements"]["staff"]["S1"]["bonus_yuan"] == "180.00"
    with pytest.raises(svc.IncentiveError, match="needs --reason"):
        publication.publish(engine, again, "张主任", supersede=True)
    assert publication.publish(engine, again, "张主任", supersede=True, reason="late CRM orders")["version"] == 2
    assert publication.published(engine, "2016-01")["statements"]["staff"]["S1"]["bonus_yuan"] == "220.00"
    assert publication.published(engine, "2016-01", version=1)["published_by"] == "张主任"


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_award_workflow_records_who_and_when(engine, monkeypatch):
    from datetime import datetime

    # seed 000: "奖励将在下季度开始前正式宣布和发放": the 2024-Q1 awards are published by 31 March 2024
    monkeypatch.setattr(svc, "now", lambda: datetime.fromisoformat("2024-03-31T12:00:00+08:00"))
    nid = publication.nominate(engine, "2024-Q1", "S1", "excellent", "王经理", letter="服务热情, 投诉零")
    with pytest.raises(svc.IncentiveError, match="next step is committee_review"):
        publication.decide(engine, nid, "leadership_approval", "accept", "赵总")
    assert publication.decide(engine, nid, "committee_review", "accept", "评选委员会") == "reviewed"
    assert publication.decide(engine, nid, "leadership_approval", "accept", "赵总") == "approved"
    other = publication.nominate(engine, "2024-Q1", "S2", "good", "王经理", form={"reason": "满意度第一"})
    publication.decide(engine, other, "committee_review", "reject", "评选委员会", note="材料不足")
    assert publication.publish_awards(engine, "2024-Q1", "人事部") == [nid]
    rows = {n["nomination_id"]: n for n in publication.nominations(engine, "2024-Q1")}
    assert rows[nid]["status"] == "published" and rows[other]["status"] == "rejected"
    assert [(s["step"], s["by"]) for s in rows[nid]["steps"]] == [
        ("nomination", "王经理"),
        ("committee_review", "评选委员会"),
        ("leadership_approval", "赵总"),
        ("publication", "人事部"),
    ]
    assert all(s["at"] for s in rows[nid]["steps"]) and rows[other]["form"] == {"reason": "满意度第一"}


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_referral_points_posted_once_into_the_ledger(engine, tmp_path):
    apply_plan(engine, EXAMPLES / "service-points.yaml")
    refs = write(
        tmp_path / "refs.csv",
        ["referral_id", "referrer_type", "referrer_id", "new_customer_id", "converted", "approved_by", "occurred_on"]
        + ["yellow_card", "first_visit"],
        [
            ["R1", "customer", "M1", "N1", "true", "销售总监", "2016-01-10", "true", "true"],
            ["R2", "employee", "S1", "N2", "true", "销售总监", "2016-01-11", "true", "true"],
        ],
    )
    result = svc.compute_month([EXAMPLES / "referral-rewards.yaml"], "2016-01", referral_file=refs)
    assert result.to_json()["staff"]["S1"]["bonus_yuan"] == "200.00"
    first = svc.post_referral_points(engine, result.customer_awards, "referral-rewards")
    again = svc.post_referral_points(engine, result.customer_awards, "referral-rewards")
    assert first.posted == 1 and again.posted == 0 and again.duplicates == ["incentive-referral-R1"]
    assert balance(engine, "M1", __import__("datetime").date(2016, 1, 31))["balance"] == 300


def test_generated_month_is_deterministic_and_every_order_is_accounted_for(tmp_path):
    a = generate(tmp_path / "a", 40, 600, bad_rows=True)
    b = generate(tmp_path / "b", 40, 600, bad_rows=True)
    assert a["orders"].read_bytes() == b["orders"].read_bytes()
    out = svc.compute_month([RETENTION], "2016-01", a["orders"], a["targets"], a["roster"]).to_json()
    counted = sum(len(s["lines"]) for s in out["staff"].values())
    excluded = sum(len(s["excluded"]) for s in out["staff"].values())
    assert counted + excluded + len(out["rejected"]) == 603
    assert {r["order_id"] for r in out["rejected"]} == {"X1", "O0", "X2"}
    total = sum(Decimal(s["bonus_yuan"]) for s in out["staff"].values())
    assert total == sum(Decimal(l["yuan"]) for s in out["staff"].values() for l in s["lines"])


def test_the_day_of_an_order_is_taken_in_the_given_timezone(tmp_path):
    """An order at 2016-01-31 20:00 UTC is on 1 February in Shanghai (the default: not January's) and on
    31 January in UTC (an active points plan that names UTC)."""
    late = [mobile("M1", "S1", "C1", 5)[:-2] + ["2016-01-31T20:00:00+00:00", ""]]
    orders = write(tmp_path / "orders.csv", HEADER, late)
    roster = write(tmp_path / "roster.csv", ["staff_id", "role"], [["S1", "clerk"]])  # the plan credits roles
    shanghai = svc.compute_month([RETENTION], "2016-01", orders, roster=roster).to_json()
    assert [r["order_id"] for r in shanghai["rejected"]] == ["M1"]
    assert shanghai["rejected"][0]["reason"] == "row 2: created_at: 2016-02-01 is not in 2016-01"
    utc = svc.compute_month([RETENTION], "2016-01", orders, roster=roster, timezone="UTC").to_json()
    assert utc["rejected"] == [] and utc["staff"]["S1"]["lines"][0]["order_id"] == "M1"


def test_bad_roster_rows_are_coded_problems_with_file_row_and_column(month, tmp_path):
    roster = write(
        tmp_path / "bad.csv",
        ["staff_id", "role", "hired_on"],
        [["S1", "clerk", "2014-01-01"], ["S2", "boss", ""], ["S3", "clerk", "soon"]],
    )
    with pytest.raises(svc.IncentiveError) as err:
        svc.compute_month([RETENTION], "2016-01", month["orders"], roster=roster)
    assert (err.value.code, err.value.status, err.value.params["count"]) == ("incentive_roster_bad_rows", 422, 2)
    found = [(p.code, p.where.row, p.where.field, p.where.file) for p in err.value.problems]
    assert found == [
        ("incentive_unknown_role", 3, "role", str(roster)),
        ("incentive_field_not_a_date", 4, "hired_on", str(roster)),
    ]
    assert "row 4: hired_on: not a date YYYY-MM-DD: soon" in str(err.value)


def test_a_refusal_is_coded_and_speaks_chinese(month):
    from weixi.messages import render

    with pytest.raises(svc.IncentiveError) as err:
        svc.compute_month([RETENTION], "2015-12", month["orders"])
    assert (err.value.code, err.value.status) == ("incentive_plan_not_in_force", 409)
    assert render(err.value, "zh_CN") == "方案 retention-2016 自 2016-01-01 起生效,不覆盖 2015-12-01 至 2015-12-31。"
