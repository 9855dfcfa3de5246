"""The one pay statement and the approval chains in the console (issue 19 §5, §6): a team leader's statement shows the
maintenance bonus beside the orders, with the scores and the KPI against its quota; the approval page lets the login
whose roster role the next step names approve it after a confirmation that shows the pay it lets through; any other
login sees whose step it is; a return needs a reason; every decision is recorded with who and when."""

from __future__ import annotations

import csv
import re
import shutil
import warnings

import pytest

from tests.console import operator as op
from tests.console import staff_data as sd
from tests.console.conftest import Console
from weixi.api.app import create_app
from weixi.incentives import approvals, publication
from weixi.incentives import reports as incentive_reports
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict
from weixi.users import service as users

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")

MAINTENANCE = sd.ROOT / "plans" / "examples" / "maintenance-scorecard.yaml"
LEADER, DIRECTOR = "S000100", "S000200"


def month_dir_with_scorecard(data_dir):
    """The month of the incentive page tests plus the maintenance scorecard: a team leader (优, 500 yuan), a
    director, their scores, and a mobile quota for the clerk."""
    month_dir = sd.incentives(data_dir)
    shutil.copy(MAINTENANCE, month_dir / MAINTENANCE.name)
    with open(month_dir / "roster.csv", "a", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([LEADER, "李强", "team_leader", "维修一组", "morning", "2014-01-01", ""])
        w.writerow([DIRECTOR, "张总", "director", "维修一组", "morning", "2014-01-01", ""])
    with open(month_dir / "scores.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["staff_id", "metric", "score", "plan"])
        for metric, score in (("attitude", 9), ("skill", 9.5), ("compliance", 9), ("cooperation", 9)):
            w.writerow([LEADER, metric, score, "maintenance-scorecard"])
    with open(month_dir / "quotas.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows([["staff_id", "measure", "quota"], [sd.CLERK, "mobile", "4"]])
    return month_dir


@pytest.fixture(scope="module")
def site(base_operator, tmp_path_factory):
    target = base_operator.copy_to(tmp_path_factory.mktemp("incentive-pay-pages"))
    month_dir_with_scorecard(target.data)
    hasher, users._hasher = users._hasher, op.cheap_hasher()
    app = create_app(str(target.db), str(target.data), secure_cookies=False)
    try:
        for username, role in ((sd.CLERK, "clerk"), (LEADER, "clerk"), (DIRECTOR, "manager"), ("ana", "analyst")):
            users.create_user(app.state.engine, username, op.PASSWORD, role)
    finally:
        users._hasher = hasher
    app.data = target.data
    yield app
    app.state.engine.dispose()


def login(app, username: str) -> Console:
    c = Console(app)
    r = c.post_form("/login", "/login", {"username": username, "password": op.PASSWORD, "next": ""})
    assert r.status_code == 303, r.text
    return c


def test_the_director_approves_after_the_team_leader_and_the_published_statement_shows_the_bonus(site):
    chain = "/incentives/approvals?month=2016-01"
    leader = login(site, LEADER)
    page = leader.get(chain)
    assert page.status_code == 200 and 'data-plan="maintenance-scorecard"' in page.text
    assert "组长或主管判定" in page.text and "总监审核批准" in page.text
    confirm = leader.get("/incentives/2016-01/approvals/maintenance-scorecard/confirm?decision=approve")
    assert confirm.status_code == 200
    # what the decision lets through: the 500 yuan of the team leader's 优 (seed 003: "组长优500元")
    assert re.search(r'id="confirm-pay" data-yuan="500.00"', confirm.text)
    r = leader.post_form(
        "/incentives/2016-01/approvals/maintenance-scorecard/confirm?decision=approve",
        "/incentives/2016-01/approvals/maintenance-scorecard",
        {"step": "judged", "decision": "approve", "note": ""},
    )
    assert r.status_code == 303
    # the team leader cannot also decide the director's step: the confirmation says whose step it is
    refused = leader.get("/incentives/2016-01/approvals/maintenance-scorecard/confirm?decision=approve")
    assert 'id="confirm-refusal"' in refused.text and "总监" in refused.text and "confirm-decide" not in refused.text
    with pytest.raises(IncentiveConflict):  # publishing waits for the director ("上报总监审核,批准执行")
        publication.publish(site.state.engine, incentive_reports.recompute(site.data, sd.MONTH), "payroll office")
    director = login(site, DIRECTOR)
    r = director.post_form(
        "/incentives/2016-01/approvals/maintenance-scorecard/confirm?decision=approve",
        "/incentives/2016-01/approvals/maintenance-scorecard",
        {"step": "director", "decision": "approve", "note": "同意"},
    )
    assert r.status_code == 303
    state = approvals.state(site.state.engine, "2016-01", svc.load_incentive_plan(MAINTENANCE))
    assert state["complete"] and [s["approved"]["by"] for s in state["steps"]] == [LEADER, DIRECTOR]
    page = director.get(chain)
    assert 'data-complete="true"' in page.text and "北京时间" in page.text  # when, in the operator's timezone
    assert [e["action"] for e in users.audit_entries(site.state.engine, 10, username=DIRECTOR)][0] == (
        "incentives.approval.approve"
    )
    published = publication.publish(
        site.state.engine, incentive_reports.recompute(site.data, sd.MONTH), "payroll office"
    )
    assert published["new"]
    # the published statement shows the scorecard bonus, the scores and the KPI against its quota
    leader = login(site, LEADER).get(f"/incentives/{sd.MONTH}/staff/{LEADER}")
    assert leader.status_code == 200
    assert 'id="scores"' in leader.text and "维修部激励方案" in leader.text and "优" in leader.text
    assert 'data-code="incentive_line.scorecard"' in leader.text and 'data-yuan="500.00"' in leader.text
    clerk = login(site, sd.CLERK).get(f"/incentives/{sd.MONTH}/staff/{sd.CLERK}")
    assert 'id="kpi"' in clerk.text and re.search(r'<tr data-measure="mobile">.*?<td class="n">4</td>', clerk.text)
    assert (
        "只计入月度KPI的效能不计入超量奖" in clerk.text
    )  # seed 003: "折算效能只列入计算月度KPI考核得分,不列入计算移动超量奖"


def test_a_login_the_step_does_not_name_gets_no_buttons_and_an_unknown_plan_is_not_found(site):
    clerk = login(site, sd.CLERK)
    page = clerk.get("/incentives/approvals?month=2016-01")
    assert page.status_code == 200 and "confirm?decision" not in page.text
    refused = clerk.get("/incentives/2016-01/approvals/maintenance-scorecard/confirm?decision=return")
    assert 'id="confirm-refusal"' in refused.text
    assert clerk.get("/incentives/2016-01/approvals/no-such-plan/confirm").status_code == 404
