"""Service refusals shown on console pages in the reader's language: the texts come from the services
themselves, so a changed service text that the catalogue no longer recognises fails here."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from weixi import i18n
from weixi.campaigns import service as campaigns
from weixi.campaigns.lifecycle import transition
from weixi.console.messages import say
from weixi.incentives import inputs, publication
from weixi.incentives import reports as incentive_reports
from weixi.incentives import service as incentives
from weixi.operations import calendar, outcomes
from weixi.operations import service as operations
from weixi.plans import service as plans

ZH = i18n.translations("zh_CN").ugettext
EN = i18n.translations("en").ugettext


def _raised(fn, *args) -> str:
    with pytest.raises(Exception) as info:
        fn(*args)
    return str(info.value)


def test_campaign_refusals_in_chinese_with_their_values():
    c = SimpleNamespace(id="spring-2027", window=SimpleNamespace(start=date(2027, 1, 20), end=date(2027, 2, 28)))
    draft = _raised(campaigns.require_running, c, {"status": "draft"}, date(2027, 1, 25), "draw")
    assert say(draft, ZH) == "活动 spring-2027 不在进行中。"
    early = _raised(campaigns.require_running, c, {"status": "running"}, date(2027, 1, 5), "draw")
    assert say(early, ZH) == "活动 spring-2027 于 2027-01-20 开始(今天是 2027-01-05)。"
    own = _raised(transition, "approve", "submitted", "wang", "wang", "wang", date(2027, 1, 1), date(2027, 1, 20),
                  date(2027, 2, 28))
    assert say(own, ZH) == "wang 创建或提交了该活动:须由另一人审批。"
    assert say(own, EN) == "wang created or submitted this campaign: another person must approve it."


def test_task_outcome_refusals_speak_of_the_form_not_of_command_line_flags():
    declined = "task T-9: " + _raised(outcomes.check, outcomes.Outcome("declined", None, None, None))
    assert say(declined, ZH) == "任务 T-9:请选择客户拒绝的原因。"
    assert "--reason" not in say(declined, EN)
    other = "task T-9: " + _raised(outcomes.check, outcomes.Outcome("declined", "other", None, None))
    assert say(other, ZH) == "任务 T-9:原因为“其他”时,请记下客户的原话。"


def test_a_text_no_pattern_knows_is_shown_as_it_is():
    assert say("the sum of squared spends overflows SQLite's integers", ZH) == \
        "the sum of squared spends overflows SQLite's integers"
    assert say(None, ZH) == ""


# -- the rarer refusals: plan files, incentive files and statements, the operations plan and calendar ------------

EXAMPLES = Path(__file__).resolve().parents[2] / "plans" / "examples"
UPLOAD = "console upload by admin: "  # how the plans page names an uploaded file (console/plans.py)


def test_plan_file_refusals_on_the_plans_page_name_the_uploaded_file():
    incentive = EXAMPLES / "retention-2016.yaml"
    other_kind = _raised(plans.check_text, incentive.read_text(encoding="utf-8"), UPLOAD + "bonus.yaml")
    assert say(other_kind, ZH) == "bonus.yaml 不是积分方案(其 kind 不是 points):这里只能应用积分方案。"
    broken = _raised(plans.check_text, "plan: broken\nearning: 7\n", UPLOAD + "broken.yaml")
    n = re.search(r": (\d+) error\(s\)", broken).group(1)
    assert say(broken, ZH) == f"方案 broken.yaml 有 {n} 处错误:请重新检查。"


def test_incentive_statement_refusals_name_the_manager_and_the_teams():
    people = {"S000010": {"team": "T1"}}
    other_team = _raised(incentive_reports.scope, SimpleNamespace(username="S000010", role="manager"), people, "T0")
    assert say(other_team, ZH) == "S000010 管理的是团队 T1,不是团队 T0。"
    no_team = _raised(incentive_reports.scope, SimpleNamespace(username="S000099", role="manager"), people, None)
    assert say(no_team, ZH) == "S000099 不在名册中或没有所属团队:经理只能查看本团队的考核结果。"


def test_recomputing_a_month_explains_missing_plans_and_input_files(tmp_path, monkeypatch):
    nothing = _raised(incentive_reports.recompute, tmp_path, "2016-01")
    folder = tmp_path / "incentives" / "2016-01"
    assert say(nothing, ZH) == ("2016-01 没有考核激励方案:请把方案文件(*.yaml)和输入文件(orders、targets、roster、"
                                f"violations、referrals,.csv 或 .parquet 格式)放在 {folder}。")
    for plan, zh in (("retention-2016", "方案 retention-2016 按 CRM 订单计算:本月缺少订单文件(orders.csv 或 orders.parquet)。"),
                     ("ob-discipline", "方案 ob-discipline 按违规记录扣减:本月缺少违规文件(violations.csv 或 violations.parquet)。"),
                     ("referral-rewards", "方案 referral-rewards 奖励推荐:本月缺少推荐文件(referrals.csv 或 referrals.parquet)。")):
        assert say(_raised(incentives.compute_month, [EXAMPLES / f"{plan}.yaml"], "2016-01"), ZH) == zh
    early = _raised(incentives.compute_month, [EXAMPLES / "retention-2016.yaml"], "2015-12")
    assert say(early, ZH) == "方案 retention-2016 自 2016-01-01 起生效,不覆盖 2015-12-01 至 2015-12-31。"
    ended = SimpleNamespace(id="summer", valid=SimpleNamespace(start=date(2016, 1, 1), end=date(2016, 6, 30)))
    late = _raised(incentives._in_force, ended, date(2016, 7, 1), date(2016, 7, 31))
    assert say(late, ZH) == "方案 summer 的有效期为 2016-01-01 至 2016-06-30,不覆盖 2016-07-01 至 2016-07-31。"
    points = EXAMPLES / "telecom-points.yaml"
    assert say(_raised(incentives.load_incentive_plan, points, incentives.MONTHLY_KINDS), ZH) == \
        f"{points} 是积分方案,不是考核激励方案(没有 kind 字段)。"
    scorecard = EXAMPLES / "cs-reward-scorecard.yaml"
    assert say(_raised(incentives.load_incentive_plan, scorecard, incentives.MONTHLY_KINDS), ZH) == \
        f"{scorecard} 是 scorecard 方案;月度考核结果只接受 incentive、discipline 或 referral 方案。"
    bad = tmp_path / "bad.yaml"
    bad.write_text("plan: bad\nkind: incentive\n", encoding="utf-8")
    text = _raised(incentives.load_incentive_plan, bad, incentives.MONTHLY_KINDS)
    n = re.search(r": (\d+) error\(s\)", text).group(1)
    assert say(text, ZH) == f"方案文件 {bad} 有 {n} 处错误:请在“方案”页面检查。"
    monkeypatch.setattr(publication, "published", lambda engine, month, version=None: None)
    unpublished = _raised(publication.diff, None, incentives.MonthResult("2016-01", [], {}, []))
    assert say(unpublished, ZH) == "2016-01 的考核结果尚未发布,没有可比较的内容。"


def test_input_file_errors_keep_the_file_the_rows_and_the_columns(tmp_path):
    def scan(path):
        return _raised(inputs.scan, path, "orders", inputs.ORDER_COLUMNS, inputs.ORDER_REQUIRED)

    assert say(scan(tmp_path / "orders.csv"), ZH) == f"orders 文件 {tmp_path / 'orders.csv'} 不存在。"
    (tmp_path / "folder.csv").mkdir()
    assert say(scan(tmp_path / "folder.csv"), ZH) == f"orders 文件 {tmp_path / 'folder.csv'} 是一个目录,不是文件。"
    broken = tmp_path / "orders.parquet"
    broken.write_text("not parquet", encoding="utf-8")
    unreadable = scan(broken)
    detail = re.search(r"cannot read it \((.*)\)$", unreadable).group(1)
    assert say(unreadable, ZH) == f"无法读取 orders 文件 {broken}({detail})。"
    short = tmp_path / "short.csv"
    short.write_text("order_id,staff_id\nO1,S1\n", encoding="utf-8")
    optional = ", ".join(c for c in inputs.ORDER_COLUMNS if c not in inputs.ORDER_REQUIRED)
    assert say(scan(short), ZH) == (f"orders 文件 {short} 缺少列 business, customer_id, created_at(必需的列:"
                                    f"{', '.join(inputs.ORDER_REQUIRED)};可选的列:{optional})。")
    roster = tmp_path / "roster.csv"
    roster.write_text("staff_id,role\n,clerk\n", encoding="utf-8")
    assert say(_raised(inputs.load_roster, inputs.connect(), roster), ZH) == \
        f"名册文件 {roster} 有 1 行有误:row 2: staff_id: missing。请修正名册后重试;未计算任何结果。"
    roster.write_text("staff_id,role\n" + "".join(f"S{i},clerk\n" for i in range(1, 23)) + ",clerk\n" * 22,
                      encoding="utf-8")
    many = say(_raised(inputs.load_roster, inputs.connect(), roster), ZH)
    assert many.startswith(f"名册文件 {roster} 有 22 行有误:row 24: staff_id: missing; row 25:")
    assert many.endswith("(另有 2 行)。请修正名册后重试;未计算任何结果。")
    targets = tmp_path / "targets.csv"
    targets.write_text("customer_id,month,status\nC1,2016-13,expiring\n", encoding="utf-8")
    assert say(_raised(inputs.load_targets, inputs.connect(), targets, "2016-01"), ZH) == \
        (f"目标客户文件 {targets} 有 1 行有误:row 2: month: expected YYYY-MM, got 2016-13。"
         "请修正目标客户清单后重试;未计算任何结果。")


def test_operations_plan_calendar_and_try_refusals(tmp_path):
    plan = tmp_path / "operations.yaml"
    plan.write_text("kind: operations\nplan: broken\n", encoding="utf-8")
    errors = _raised(operations.plan_or_fail, str(plan))
    assert say(errors, ZH) == "运营方案有错误:" + errors.split("\n", 1)[1]
    assert f"{plan}:1:1: error:" in say(errors, ZH)
    year = 2999  # beyond any chinese-calendar's statutory holidays
    beyond = _raised(calendar.is_working_day, date(year, 1, 4))
    version, detail = re.search(r"\(chinese-calendar ([^)]+)\) has no statutory holidays for \d+ \((.*)\); ",
                                beyond).groups()
    assert say(beyond, ZH) == (f"工作日历(chinese-calendar {version})还没有 {year} 年的法定节假日({detail}):"
                               f"国务院公布 {year} 年放假安排后,请安装新版 chinese-calendar。")
    done = {"task_id": "2026-09/retention/M1", "attempts": 1, "status": "done", "outcome": "reached",
            "closed_by": "agent"}
    recorded = _raised(operations._repeated_try, None, done, "declined", 1)
    assert say(recorded, ZH) == "任务 2026-09/retention/M1:第 1 次尝试已有记录(agent 记录为 reached),本次未记录。"
    ahead = _raised(operations._repeated_try, None, done, "reached", 3)
    assert say(ahead, ZH) == "任务 2026-09/retention/M1:第 3 次尝试的次序不对(该任务已尝试 1 次),请刷新页面。本次未记录。"
    # record_outcome's wording around an outcome error (operations/service.py)
    dance = f"task T-9: {_raised(outcomes.check, outcomes.Outcome('dance'))}; nothing was recorded"
    assert say(dance, ZH) == "任务 T-9:没有 dance 这种结果,本次未记录。"
    bored = f"task T-9: {_raised(outcomes.check, outcomes.Outcome('declined', 'bored'))}; nothing was recorded"
    assert say(bored, ZH) == "任务 T-9:没有 bored 这个拒绝原因,本次未记录。"
