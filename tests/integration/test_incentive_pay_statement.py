"""One monthly pay statement per employee across every plan kind (issue 19 §5): order incentives, scorecard bonuses by
grade and role, key-account scores, referral rewards, discipline deductions, awards with their money, and the KPI
against its quota with the over-quota bonus (超量奖). Each test quotes the seed's words it checks."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from tests.conftest import ROOT
from weixi.incentives import lines
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict

EXAMPLES = ROOT / "plans" / "examples"
RETENTION = EXAMPLES / "retention-2016.yaml"
MAINTENANCE = EXAMPLES / "maintenance-scorecard.yaml"
DISCIPLINE = EXAMPLES / "ob-discipline.yaml"
REFERRAL = EXAMPLES / "referral-rewards.yaml"
POSTAL = EXAMPLES / "postal-maintenance.yaml"
CS = EXAMPLES / "cs-reward-scorecard.yaml"
FROM_RECORDS = CS.read_text(encoding="utf-8")[CS.read_text(encoding="utf-8").index("from_records:") :]
ORDER_HEADER = [
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
    ["C1", "王丽", "clerk", "前台"],
    ["T1", "李强", "team_leader", "维修一组"],  # 组长
    ["M1", "赵敏", "maintenance_worker", "维修一组"],  # 组员
    ["M2", "钱多", "maintenance_worker", "维修一组"],
    ["M3", "孙亮", "maintenance_worker", "维修一组"],
]


def write(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def phone_for_credit(order_id, staff, customer, day):
    row = dict(order_id=order_id, staff_id=staff, business="phone_for_credit", customer_id=customer, number="139")
    row |= dict(card="primary", monthly_rent="58", network="4G", active="true", cancels_unexpired_subsidy="false")
    row["created_at"] = f"2016-01-{day:02d}T10:00:00+08:00"
    return [row.get(c, "") for c in ORDER_HEADER]


def maintenance_scores(staff, attitude, skill, compliance, cooperation):
    metrics = dict(attitude=attitude, skill=skill, compliance=compliance, cooperation=cooperation)
    return [[staff, k, v, "maintenance-scorecard"] for k, v in metrics.items()]


@pytest.fixture
def files(tmp_path):
    f = {"roster": write(tmp_path / "roster.csv", ["staff_id", "name", "role", "team"], ROSTER)}
    f["orders"] = write(
        tmp_path / "orders.csv",
        ORDER_HEADER,
        [
            phone_for_credit("O1", "C1", "K1", 4),
            ["P1", "T1", "broadband_prepay", "K2", "", "", "", "", "", "", "2016-01-06T10:00:00+08:00", "true"],
        ],
    )
    f["scores"] = write(
        tmp_path / "scores.csv",
        ["staff_id", "metric", "score", "plan"],
        maintenance_scores("T1", 9, 9.5, 9, 9)  # 9.2: 优
        + maintenance_scores("M1", 7, 7, 7, 7)  # 7: 良
        + maintenance_scores("M2", 5, 5, 5, 5)  # 5: 中
        + maintenance_scores("M3", 4, 4, 4, 4)  # 4: 差
        + [["T1", f"week{w}", n, "postal-maintenance"] for w, n in ((1, 12), (2, 12), (3, 12), (4, 9))]
        + [["T1", "contribution_pct", 70, "postal-maintenance"]],
    )
    f["violations"] = write(
        tmp_path / "violations.csv",
        ["record_id", "staff_id", "violation", "occurred_on", "note"],
        [["V1", "T1", "morning-meeting-absence", "2016-01-11", ""]],
    )
    f["referrals"] = write(
        tmp_path / "referrals.csv",
        ["referral_id", "referrer_type", "referrer_id", "new_customer_id", "kind", "converted", "fabricated"]
        + ["reward", "recorded_by", "approved_by", "occurred_on", "yellow_card", "first_visit"],
        [["R1", "employee", "T1", "K9", "referral", "true", "false", "", "", "张总监", "2016-01-12", "true", "true"]],
    )
    return f


def compute(files, plans, month="2016-01", **extra):
    return svc.compute_month(
        plans,
        month,
        files.get("orders"),
        None,
        files["roster"],
        files.get("violations"),
        files.get("referrals"),
        scores=files.get("scores"),
        **extra,
    ).to_json()


def test_maintenance_bonuses_of_500_300_200_reach_the_pay_statement(files):
    # seed 003, 维修部激励方案: "奖金为:组长优500元良300元中200元差无奖励 组员优300元良200元中100元差无奖励 ...
    # 每月月底评定,后公布结果,随工资发放奖金" — the bonus is paid with the wages: it is on the month's statement.
    staff = compute(files, [MAINTENANCE])["staff"]
    assert staff["T1"]["bonus_yuan"] == "500.00"  # 组长 优
    assert staff["M1"]["bonus_yuan"] == "200.00"  # 组员 良
    assert staff["M2"]["bonus_yuan"] == "100.00"  # 组员 中
    assert staff["M3"]["bonus_yuan"] == "0.00"  # 差无奖励
    (line,) = staff["T1"]["lines"]
    assert line["code"] == "incentive_line.scorecard" and line["yuan"] == "500.00"
    assert line["params"]["scores"] == {"attitude": "9", "compliance": "9", "cooperation": "9", "skill": "9.5"}
    assert line["params"]["grade"] == "excellent" and line["params"]["plan"] == "maintenance-scorecard"
    said = lines.say_line(line, "zh_CN")
    assert "总分 9.2（满分 10）" in said and "等级 优" in said and "组长奖金 +500.00 元" in said
    (score,) = staff["T1"]["scores"]
    assert (score["total"], score["grade_name"], score["rank"], score["of"]) == ("9.2", "优", 1, 4)


def test_one_statement_adds_orders_scorecard_discipline_referral_and_key_account(files):
    plans = [RETENTION, MAINTENANCE, DISCIPLINE, REFERRAL, POSTAL]
    t1 = compute(files, plans)["staff"]["T1"]
    # 500 (组长 优) + 20 ("所有员工办理预存网费送费优惠奖励20元/户") + 200 ("奖励当事人200元现金")
    assert t1["bonus_yuan"] == "720.00"
    # seed 002: "违规考核绩效1分/次,并直接纳入该月kpi考核中"
    assert t1["kpi_points"] == "-1"
    codes = [l["code"] for l in t1["lines"]]
    assert set(codes) == {
        "incentive_line.scorecard",
        "incentive_line.key_account_short_weeks",
        "incentive_line.order_role_no_units",
        "incentive_line.violation",
        "incentive_line.referral_approved",
    }
    # every yuan links to its source (order, record, score period) and the rule
    assert sum(Decimal(l["yuan"]) for l in t1["lines"]) == Decimal(t1["bonus_yuan"])
    assert {l["order_id"] for l in t1["lines"]} == {"2016-01", "P1", "V1", "R1"}
    assert all(l["rule"] and l["text"] for l in t1["lines"])
    # seed 003, 邮政大客户维护方案: "信息量50分、贡献率50分,达到标准得基本分,超额完成按比例加分,未完成按比列扣分";
    # "客户信息收集一周不低于10户、一月不低于50户": 45 customers = 45 points, week 4 (9) under the weekly minimum
    key = next(s for s in t1["scores"] if s["kind"] == "key_account")
    assert (key["total"], key["customers"], key["short_weeks"]) == ("95", 45, [4])
    said = lines.say_line(next(l for l in t1["lines"] if l["code"].startswith("incentive_line.key")), "zh_CN")
    assert "信息量 45 分 + 贡献率 50 分 = 95 分" in said and "第 4 周" in said


def test_a_scorecard_plan_needs_the_scores(files):
    with pytest.raises(IncentiveConflict) as caught:
        compute(dict(files, scores=None), [MAINTENANCE])
    assert caught.value.code == "incentive_scores_missing"


def _plan(tmp_path, source, name, extra, replace=()):
    text = source.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_retention_units_count_against_the_kpi_quota_but_never_into_the_over_quota_bonus(tmp_path, files):
    # seed 003: "折算效能只列入计算月度KPI考核得分,不列入计算移动超量奖" (the quota and the rate are ours)
    plan = _plan(tmp_path, RETENTION, "quota.yaml", "kpi: {quota: {mobile: 2}, over_quota_yuan: {mobile: 30}}\n")
    orders = [phone_for_credit(f"O{n}", "C1", f"K{n}", n) for n in range(1, 5)]
    files["orders"] = write(tmp_path / "orders4.csv", ORDER_HEADER, orders)
    c1 = compute(files, [plan])["staff"]["C1"]
    assert c1["kpi"]["mobile"] == {
        "units": "2",  # 4 non-expiring households × 0.5
        "quota": "2",
        "completion_pct": "100",
        "over_quota_counted_units": "0",
        "over_quota_units": "0",
        "over_quota_yuan": "0.00",
    }
    over = [l for l in c1["lines"] if l["code"] == "incentive_line.over_quota"]
    assert [l["yuan"] for l in over] == ["0.00"]
    assert c1["bonus_yuan"] == "80.00"  # 营业员 "5户内按每户奖励20元": the household cash only
    # the same orders under a rule whose units do count into the over-quota bonus: (2 - 1) × 30 yuan
    counted = _plan(
        tmp_path,
        RETENTION,
        "counted.yaml",
        "kpi: {quota: {mobile: 1}, over_quota_yuan: {mobile: 30}}\n",
        [
            (
                "units: {measure: mobile, expiring: 1, non_expiring: 0.5, kpi_only: true}",
                "units: {measure: mobile, expiring: 1, non_expiring: 0.5}",
            )
        ],
    )
    c1 = compute(files, [counted])["staff"]["C1"]
    assert c1["kpi"]["mobile"]["over_quota_units"] == "1" and c1["kpi"]["mobile"]["over_quota_yuan"] == "30.00"
    assert c1["bonus_yuan"] == "110.00"
    (line,) = [l for l in c1["lines"] if l["code"] == "incentive_line.over_quota"]
    assert "超出任务量 1 个 × 30.00 元 = +30.00 元" in lines.say_line(line, "zh_CN")


def test_a_quotas_file_gives_each_employee_a_quota(tmp_path, files):
    files["quotas"] = write(tmp_path / "quotas.csv", ["staff_id", "measure", "quota"], [["C1", "mobile", "4"]])
    c1 = compute(files, [RETENTION], quotas=files["quotas"])["staff"]["C1"]
    assert c1["kpi"]["mobile"]["quota"] == "4" and c1["kpi"]["mobile"]["completion_pct"] == "12.5"


def test_quarterly_awards_with_their_money_are_paid_in_the_quarters_last_month(tmp_path, files):
    # seed 000: "我们将每季度评估员工的客户服务绩效。评估周期结束后,奖励将在下季度开始前正式宣布和发放";
    # "优秀奖:个人业绩在全体员工中排名前10%的员工" ... "奖金:根据员工的表现,我们将发放一定金额的客户服务奖金"
    # (the amounts are ours: the seed names none)
    plan = _plan(
        tmp_path,
        CS,
        "cs.yaml",
        "",
        [
            ("{id: excellent, name: 优秀奖, top: 10%}", "{id: excellent, name: 优秀奖, top: 10%, yuan: 800}"),
            ("{id: good, name: 良好奖, top: 30%}", "{id: good, name: 良好奖, top: 30%, yuan: 300}"),
            (FROM_RECORDS, ""),  # typed scores here (the records: test_incentive_records.py)
        ],
    )
    roster = [[f"S{n}", "", "agent", "外呼一组"] for n in range(1, 11)]
    files["roster"] = write(tmp_path / "roster10.csv", ["staff_id", "name", "role", "team"], roster)
    metrics = ("satisfaction", "target_completion", "complaint_response", "complaint_resolution", "over_achievement")
    rows = [[f"S{n}", m, 100 - 5 * n, ""] for n in range(1, 11) for m in metrics]
    files["scores"] = write(tmp_path / "cs.csv", ["staff_id", "metric", "score", "plan"], rows)
    files.update(orders=None, violations=None, referrals=None)
    assert compute(files, [plan], "2024-02")["staff"]["S1"]["lines"] == []  # mid-quarter: nothing yet
    staff = compute(files, [plan], "2024-03")["staff"]
    assert staff["S1"]["bonus_yuan"] == "800.00"  # rank 1 of 10: the top 10%
    assert staff["S2"]["bonus_yuan"] == staff["S3"]["bonus_yuan"] == "300.00"  # the top 30%
    assert staff["S4"]["bonus_yuan"] == "0.00"  # 鼓励奖: no money in this plan
    (line,) = staff["S1"]["lines"]
    assert line["code"] == "incentive_line.award" and line["params"]["period"] == "2024-Q1"
    assert lines.say_line(line, "zh_CN") == "2024-Q1 优秀奖（第 1 名，共 10 人）：+800.00 元［方案：客户服务奖励制度］"
    assert staff["S4"]["scores"][0]["award_name"] == "鼓励奖"


def test_the_payroll_xlsx_has_one_row_per_employee_and_a_sheet_of_every_line_in_chinese(tmp_path, files):
    from openpyxl import load_workbook

    data = compute(files, [RETENTION, MAINTENANCE, DISCIPLINE, REFERRAL, POSTAL])
    out = tmp_path / "pay.xlsx"
    assert svc.export_statements(data, out) == 5
    book = load_workbook(out)
    rows = list(book["statements"].iter_rows(values_only=True))
    assert rows[0][:7] == ("月份", "员工编号", "岗位", "移动效能", "宽带效能", "KPI分", "奖金（元）")
    assert rows[0][-2:] == ("其中超量奖（元）", "考核评分")
    t1 = next(r for r in rows if r[1] == "T1")
    assert (t1[2], t1[5], t1[6]) == ("组长", -1, 720)
    assert t1[-1] == "维修部激励方案 2016-01：9.2/10 优；邮政大客户维护考核 2016-01：95/100"
    lines_sheet = [r for r in book["lines"].iter_rows(values_only=True) if r[0] == "T1"]
    assert len(lines_sheet) == 5 and sum(r[6] for r in lines_sheet) == 720
    by_source = {r[1]: r for r in lines_sheet}
    assert by_source["V1"][2] == "无故缺席早例会 (周一至周五 9:00-9:15)"  # the rule by its name, not its id
    assert any(r[1] == "2016-01" and r[7].startswith("2016-01 考核：总分 9.2") for r in lines_sheet)
