"""Suspensions and the awards' deadline on the console's approval pages (issue 19 §6), in Chinese and in English.

Seed 003 (维修部激励方案): "根据当月情况总监可以决定各组或全部门不执行此方案": the login acting as the 总监 (a login whose
``staff_id`` is the director's, its username another) suspends the month's maintenance bonuses with a reason after a
confirmation that shows the pay held back; the page shows who, when and why, the statements compute nothing from the
plan, and the audit log names the action. Any other role sees who may suspend and is refused before posting.

Seed 000 (电信运营商客户服务奖励制度): "评估周期结束后,奖励将在下季度开始前正式宣布和发放": the quarter's awards show
the date they must be published by ("须在 2024年4月1日 前发布"); from that day the confirmation shows the refusal
before anything is posted, and a posted decision is refused beside the form."""

from __future__ import annotations

import csv
import shutil
import warnings
from datetime import datetime, timezone

import pytest

from tests.console import crawl
from tests.console import operator as op
from tests.console.conftest import Console
from tests.console.test_incentive_pay_pages import DIRECTOR, LEADER, MAINTENANCE, month_dir_with_scorecard
from tests.integration.test_incentive_pay_statement import CS
from tests.integration.test_incentive_records import month_files
from weixi.api.app import create_app
from weixi.incentives import approvals, reports
from weixi.incentives import service as svc
from weixi.operations.staff import load_staff
from weixi.users import service as users

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")

SUSPEND_SEED = "根据当月情况总监可以决定各组或全部门不执行此方案"
DEADLINE_SEED = "评估周期结束后,奖励将在下季度开始前正式宣布和发放"
PLAN = "maintenance-scorecard"
CHAIN = "/incentives/approvals?month=2016-01"
CONFIRM = f"/incentives/2016-01/suspensions/{PLAN}/confirm"
POST = f"/incentives/2016-01/suspensions/{PLAN}"
ZHANG = "zhangzong"  # the director's login: its username is not the staff id, its staff_id is
QUARTER_END, COMMITTEE, LEADERSHIP = "2024-03", "D1", "G1"


def build(base, tmp_path_factory):
    """An app over a copy of ``base`` (the tiny operator) with the 2016-01 maintenance month, the 2024-03 month of the
    customer-service awards, the director on the staff roster and the logins of the tests."""
    target = base.copy_to(tmp_path_factory.mktemp("incentive-suspend"))
    month_dir_with_scorecard(target.data)
    quarter = target.data / "incentives" / QUARTER_END  # the customer-service awards of 2024-Q1, paid in March
    quarter.mkdir(parents=True)
    shutil.copy(CS, quarter / CS.name)
    month_files(quarter)
    with open(quarter / "roster.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["staff_id", "name", "role"])
        w.writerows([["A1", "小王", "agent"], ["A2", "小李", "agent"], [COMMITTEE, "王总监", "director"]])
        w.writerow([LEADERSHIP, "赵总", "general_manager"])
    hasher, users._hasher = users._hasher, op.cheap_hasher()
    app = create_app(str(target.db), str(target.data), secure_cookies=False)
    try:
        staff = tmp_path_factory.mktemp("staff") / "staff.csv"
        staff.write_text(f"staff_id,name,role,team\n{DIRECTOR},张总,director,维修一组\n", encoding="utf-8")
        load_staff(app.state.engine, staff)  # the one roster: a login's staff id must be on it
        users.create_user(app.state.engine, ZHANG, op.PASSWORD, "manager", staff_id=DIRECTOR)
        for username, role in ((LEADER, "clerk"), (COMMITTEE, "manager")):
            users.create_user(app.state.engine, username, op.PASSWORD, role)
    finally:
        users._hasher = hasher
    app.data = target.data
    return app


@pytest.fixture(scope="module")
def site(base_operator, tmp_path_factory):
    app = build(base_operator, tmp_path_factory)
    yield app
    app.state.engine.dispose()


def login(app, username: str, lang: str = "zh_CN") -> Console:
    c = Console(app)
    c.http.cookies.set("weixi_lang", lang)
    r = c.post_form("/login", "/login", {"username": username, "password": op.PASSWORD, "next": ""})
    assert r.status_code == 303, r.text
    return c


def at(monkeypatch, moment: str) -> None:
    instant = datetime.fromisoformat(moment).astimezone(timezone.utc)
    monkeypatch.setattr(svc, "now", lambda: instant)


def suspended(app) -> dict:
    return {p["plan"]: p["reason"] for p in reports.recompute(app.data, "2016-01", engine=app.state.engine).suspended}


def test_the_director_suspends_the_months_bonuses_by_staff_id_and_every_page_says_so(site, monkeypatch):
    assert SUSPEND_SEED  # the director may decide that a group or the whole department does not run the plan
    at(monkeypatch, "2016-02-03T10:00:00+08:00")
    leader = login(site, LEADER)
    page = leader.get(CHAIN).text
    assert f'id="suspend-{PLAN}"' not in page and "本方案当月可由以下角色决定暂停执行：总监" in page
    refused = leader.get(CONFIRM + "?decision=suspend")
    assert 'id="confirm-refusal"' in refused.text and "confirm-suspend" not in refused.text
    assert "暂停执行须由总监决定" in refused.text  # the catalogue's sentence, with the role's name
    posted = leader.post_form(CHAIN, POST, {"decision": "suspend", "reason": "我想暂停"})
    assert posted.status_code == 403 and PLAN not in suspended(site)

    zhang = login(site, ZHANG)
    page = zhang.get(CHAIN).text
    assert "您在花名册中的岗位：总监。" in page  # the roster role of the login's staff_id, not of its username
    assert f'href="{CONFIRM}?decision=suspend"' in page
    confirm = zhang.get(CONFIRM + "?decision=suspend")
    assert confirm.status_code == 200 and 'id="confirm-pay" data-yuan="500.00"' in confirm.text  # 组长优500元 held back
    empty = zhang.post_form(CONFIRM + "?decision=suspend", POST, {"decision": "suspend", "reason": "  "})
    assert empty.status_code == 422 and 'id="suspension-error"' in empty.text
    assert "暂停执行须注明原因" in empty.text and 'aria-invalid="true"' in empty.text and PLAN not in suspended(site)
    reason = "发生重大事故（人为故意）"
    done = zhang.post_form(CONFIRM + "?decision=suspend", POST, {"decision": "suspend", "reason": reason})
    assert done.status_code == 303 and done.headers["location"].endswith(f"done=suspend&plan={PLAN}")
    page = zhang.get(done.headers["location"]).text
    assert "方案 维修部激励方案 2016-01 已暂停执行" in page and f'data-suspended data-by="{DIRECTOR}"' in page
    assert f"已由 张总 ({DIRECTOR}) 于 2016-02-03 10:00 北京时间 暂停执行。原因：{reason}" in page
    assert f'href="{CONFIRM}?decision=resume"' in page
    assert crawl.zh_findings(crawl.visible_text(page)) == []  # no code, no English on the Chinese page
    assert suspended(site) == {PLAN: reason}  # no pay computed from the plan this month, and why
    entry = users.audit_entries(site.state.engine, 5, "incentives.suspend")[0]
    assert (entry["username"], entry["subject"], entry["detail"]) == (ZHANG, f"2016-01/{PLAN}", {"reason": reason})
    again = zhang.get(CONFIRM + "?decision=suspend")
    assert 'id="confirm-refusal"' in again.text and "本月已由 S000200 暂停执行" in again.text

    admin = Console(site).login("admin")
    audit = admin.get("/audit?action=incentives.suspend").text
    assert "暂停激励方案当月执行" in audit and reason in audit
    assert "恢复激励方案当月执行" in admin.get("/audit").text  # the filter names the lifting too
    users.audit(site.state.engine, None, "user.staff_id", ZHANG, {"staff_id": DIRECTOR, "via": "cli"})
    linked = crawl.visible_text(admin.get("/audit?action=user.staff_id").text)
    assert "为登录账号关联工号" in linked and f"工号: {DIRECTOR}" in linked  # the action and its field by name

    resume = zhang.get(CONFIRM + "?decision=resume")
    assert 'id="confirm-suspended"' in resume.text and reason in resume.text
    assert crawl.zh_findings(crawl.visible_text(resume.text)) == []
    done = zhang.post_form(CONFIRM + "?decision=resume", POST, {"decision": "resume", "reason": ""})
    assert done.status_code == 303 and suspended(site) == {}
    assert "data-suspended " not in zhang.get(CHAIN).text
    assert users.audit_entries(site.state.engine, 5, "incentives.resume")[0]["subject"] == f"2016-01/{PLAN}"


def test_in_english_the_refusal_beside_the_form_and_the_suspension_are_in_english(site, monkeypatch):
    at(monkeypatch, "2016-02-04T09:30:00+08:00")
    zhang = login(site, ZHANG, "en")
    page = zhang.get(CHAIN).text
    assert "Suspend this month's pay" in page
    empty = zhang.post_form(CONFIRM + "?decision=suspend", POST, {"decision": "suspend", "reason": ""})
    assert empty.status_code == 422 and 'id="suspension-error"' in empty.text
    assert (
        "a suspension says why (e.g. a serious accident this month)" in empty.text
        and "暂停执行须注明原因" not in empty.text
    )
    reason = "equipment in very poor condition"
    assert zhang.post_form(CONFIRM, POST, {"decision": "suspend", "reason": reason}).status_code == 303
    page = zhang.get(CHAIN).text
    assert f"Pay suspended for 2016-01 by 张总 ({DIRECTOR}) at 2016-02-04 09:30" in page and reason in page
    assert "No pay is computed from this plan this month" in page
    data = {"维修部激励方案", "组长或主管判定", "总监审核批准", "张总"}  # the plan's and the roster's own words
    assert crawl.en_findings(crawl.visible_text(page), data) == []  # no Chinese label on the English page
    admin = login(site, "admin", "en")
    assert "Suspended an incentive plan's pay for a month" in admin.get("/audit?action=incentives.suspend").text
    assert zhang.post_form(CONFIRM, POST, {"decision": "resume", "reason": ""}).status_code == 303


def test_a_decision_is_recorded_as_the_logins_staff_id_and_a_refused_one_is_shown_beside_the_form(site):
    leader = login(site, LEADER)
    back = "/incentives/2016-01/approvals/maintenance-scorecard/confirm?decision=return"
    r = leader.post_form(back, f"/incentives/2016-01/approvals/{PLAN}", {"step": "judged", "decision": "return"})
    assert r.status_code == 422 and 'id="decide-error"' in r.text  # a return needs a reason: beside the form
    approve = back.replace("return", "approve")
    data = {"step": "judged", "decision": "approve", "note": ""}
    assert leader.post_form(approve, f"/incentives/2016-01/approvals/{PLAN}", data).status_code == 303
    zhang = login(site, ZHANG)
    data = {"step": "director", "decision": "approve", "note": "同意"}
    assert zhang.post_form(approve, f"/incentives/2016-01/approvals/{PLAN}", data).status_code == 303
    state = approvals.state(site.state.engine, "2016-01", svc.load_incentive_plan(MAINTENANCE))
    assert [s["approved"]["by"] for s in state["steps"]] == [LEADER, DIRECTOR]  # the staff id, not "zhangzong"
    assert f"张总 ({DIRECTOR})" in zhang.get(CHAIN).text


@pytest.mark.parametrize(
    "lang, before, refused",
    [
        ("zh_CN", "2024-Q1 的奖励须在 2024年4月1日 前发布", "须在下季度开始（2024-04-01）前正式宣布和发放"),
        (
            "en",
            "The awards of 2024-Q1 must be published before April 1, 2024",
            "before the next quarter started on 2024-04-01",
        ),
    ],
)
def test_the_awards_deadline_is_shown_and_refused_before_the_post(site, monkeypatch, lang, before, refused):
    assert DEADLINE_SEED  # the awards are announced and paid before the next quarter starts
    chain = f"/incentives/approvals?month={QUARTER_END}"
    confirm = f"/incentives/{QUARTER_END}/approvals/cs-reward-scorecard/confirm?decision=approve"
    committee = login(site, COMMITTEE, lang)
    at(monkeypatch, "2024-03-31T23:00:00+08:00")  # the quarter's last evening, in Shanghai
    page = committee.get(chain).text
    assert 'data-deadline="2024-04-01"' in page and before in page
    assert 'href="' + confirm + '"' in page  # the committee's step is open
    ok = committee.get(confirm).text
    assert 'id="confirm-deadline"' in ok and 'id="confirm-refusal"' not in ok and "confirm-decide" in ok
    at(monkeypatch, "2024-04-01T00:01:00+08:00")  # still 31 March in UTC: the operator's day counts
    late = committee.get(confirm)
    assert late.status_code == 200 and 'id="confirm-refusal"' in late.text and refused in late.text
    assert "confirm-decide" not in late.text  # nothing to post
    page = committee.get(chain).text
    assert 'href="' + confirm + '"' not in page and refused in page
    data = {"step": "committee", "decision": "approve", "note": ""}
    posted = committee.post_form(chain, f"/incentives/{QUARTER_END}/approvals/cs-reward-scorecard", data)
    assert posted.status_code == 409 and refused in posted.text
    plan = svc.load_incentive_plan(CS)
    assert approvals.state(site.state.engine, QUARTER_END, plan)["next"]["id"] == "committee"  # nothing recorded
