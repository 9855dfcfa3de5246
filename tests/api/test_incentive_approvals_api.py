"""The approval chains of a month's incentive pay over the API (issue 19 §6), as in the console: the month's chains
with who approved each step and when; the login whose roster role the next step names approves or returns it; errors
are codes. Seed 003, 维修部激励方案: "根据各项目执行情况有组长或主管判定奖励情况,上报总监审核,批准执行"."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_envelope, make_api
from tests.console.test_incentive_pay_pages import DIRECTOR, LEADER, month_dir_with_scorecard
from weixi.operations.staff import load_staff
from weixi.users import service as users

MONTH = "2016-01"
URL = f"/api/incentives/{MONTH}/approvals"
PLAN = "maintenance-scorecard"


@pytest.fixture
def chain_api(tmp_path):
    api = make_api(tmp_path)
    month_dir = month_dir_with_scorecard(api.data_dir)
    load_staff(api.engine, month_dir / "roster.csv")  # the one staff roster: a login's staff id is checked on it
    # the team leader's login is named as its staff id; the director's login "zhang" is linked to S000200
    for username, role, staff_id in ((LEADER, "clerk", None), ("zhang", "manager", DIRECTOR)):
        user = users.create_user(api.engine, username, "correct horse 1", role, staff_id=staff_id)
        api.tokens[username] = users.issue_token(api.engine, user, "tests")
    yield api
    for c in api.clients:
        c.close()
    api.engine.dispose()


def test_the_months_chains_say_whose_step_is_next(chain_api):
    leader = chain_api.client(LEADER).get(URL)
    assert leader.status_code == 200, leader.text
    body = leader.json()
    assert (body["month"], body["staff_id"], body["my_role"]) == (MONTH, LEADER, "team_leader")
    [chain] = body["plans"]
    assert (chain["plan"], chain["plan_name"], chain["next"]["id"], chain["mine"]) == (
        PLAN,
        "维修部激励方案",
        "judged",
        True,
    )
    assert [s["roles"] for s in chain["steps"]] == [["team_leader", "supervisor"], ["director"]]
    assert chain["deadline"] is None and chain["history"] == []  # no awards in this plan: no deadline
    director = chain_api.client("zhang").get(URL).json()
    assert (director["staff_id"], director["my_role"]) == (DIRECTOR, "director")  # its staff id, not its username
    assert director["plans"][0]["mine"] is False
    assert chain_api.client("clerk").get(URL).json()["my_role"] is None  # not on the roster: no step is theirs


def test_each_step_is_recorded_by_the_role_it_names_and_then_the_month_is_published(chain_api):
    leader, director, admin = chain_api.client(LEADER), chain_api.client("zhang"), chain_api.client("admin")
    judged = {"plan": PLAN, "step": "judged", "decision": "approve"}
    assert_envelope(director.post(URL, json=judged), 403, "incentive_approval_wrong_role")
    assert_envelope(leader.post(URL, json={**judged, "step": "director"}), 409, "incentive_approval_out_of_order")
    assert_envelope(admin.post(f"/api/incentives/{MONTH}/publish"), 409, "incentive_approval_pending")
    r = leader.post(URL, json=judged)
    assert r.status_code == 201, r.text
    step = r.json()["steps"][0]["approved"]
    assert (step["by"], step["role"], step["decision"]) == (LEADER, "team_leader", "approve") and step["at"]
    returned = {"plan": PLAN, "step": "director", "decision": "return"}
    assert_envelope(director.post(URL, json=returned), 422, "incentive_approval_return_needs_reason")
    back = director.post(URL, json={**returned, "note": "技能分需复核"}).json()
    assert back["next"]["id"] == "judged" and back["returned"]["note"] == "技能分需复核"
    leader.post(URL, json=judged)
    done = director.post(URL, json={"plan": PLAN, "step": "director", "decision": "approve"}).json()
    assert done["complete"] and [h["decision"] for h in done["history"]] == ["approve", "return", "approve", "approve"]
    assert_envelope(director.post(URL, json={**judged, "step": "director"}), 409, "incentive_approval_complete")
    assert admin.post(f"/api/incentives/{MONTH}/publish").status_code == 201
    entries = users.audit_entries(chain_api.engine, action="incentives.approval.approve")
    assert [(e["username"], e["subject"]) for e in entries][-1] == (LEADER, f"{MONTH}/{PLAN}")


def test_a_login_acts_as_its_staff_id(chain_api):
    # one staff id for a login (issue 19 §12): the login "zhang" is the roster's director S000200
    chain_api.client(LEADER).post(URL, json={"plan": PLAN, "step": "judged", "decision": "approve"})
    r = chain_api.client("zhang").post(URL, json={"plan": PLAN, "step": "director", "decision": "approve"})
    assert r.status_code == 201, r.text
    assert r.json()["steps"][1]["approved"]["by"] == DIRECTOR  # recorded under the staff id
    users.set_staff_id(chain_api.engine, "zhang", None)  # unlinked: "zhang" is on no roster, no step is its
    chain_api.app.state.auth_cache.clear()  # (logins are cached for a few seconds)
    assert chain_api.client("zhang").get(URL).json()["my_role"] is None


def test_unknown_plan_and_bad_body_are_coded_errors(chain_api):
    leader = chain_api.client(LEADER)
    missing = leader.post(URL, json={"plan": "nope", "step": "judged", "decision": "approve"})
    assert_envelope(missing, 404, "incentive_approval_unknown_plan")
    assert_envelope(leader.post(URL, json={"plan": PLAN, "step": "judged", "decision": "maybe"}), 422)
    assert chain_api.client("clerk").get("/api/incentives/2016-02/approvals").json()["plans"] == []


def test_the_clerks_own_statement_is_found_through_the_logins_staff_id(chain_api):
    # one staff id for a login (issue 19 §12): the login "wang" is the roster's clerk S000003, its username is not
    from tests.console import staff_data as sd

    chain_api.client(LEADER).post(URL, json={"plan": PLAN, "step": "judged", "decision": "approve"})
    chain_api.client("zhang").post(URL, json={"plan": PLAN, "step": "director", "decision": "approve"})
    assert chain_api.client("admin").post(f"/api/incentives/{MONTH}/publish").status_code == 201
    wang = users.create_user(chain_api.engine, "wang", "correct horse 1", "clerk", staff_id=sd.CLERK)
    chain_api.tokens["wang"] = users.issue_token(chain_api.engine, wang, "tests")
    mine = chain_api.client("wang").get(f"/api/incentives/{MONTH}/me")
    assert mine.status_code == 200, mine.text
    assert mine.json()["staff_id"] == sd.CLERK and mine.json()["team"] == "T0"
    other = chain_api.client("wang").get(f"/api/incentives/{MONTH}/statements/{sd.OTHER_TEAM}")
    assert_envelope(other, 403, "incentive_statement_not_visible")


def test_the_director_suspends_the_months_pay_with_a_reason(chain_api):
    # seed 003, 维修部激励方案: "根据当月情况总监可以决定各组或全部门不执行此方案 ①发生重大事故(人为故意)"
    url = f"/api/incentives/{MONTH}/suspensions"
    leader, zhang, admin = chain_api.client(LEADER), chain_api.client("zhang"), chain_api.client("admin")
    stop = {"plan": PLAN, "decision": "suspend", "reason": "发生重大事故（人为故意）"}
    assert_envelope(leader.post(url, json=stop), 403, "incentive_suspension_wrong_role")  # the director decides
    assert_envelope(zhang.post(url, json={**stop, "reason": " "}), 422, "incentive_suspension_needs_reason")
    assert_envelope(zhang.post(url, json={**stop, "decision": "resume"}), 409, "incentive_plan_not_suspended")
    r = zhang.post(url, json=stop)
    assert r.status_code == 201, r.text
    said = r.json()["suspended"]
    assert (said["by"], said["role"], said["note"]) == (DIRECTOR, "director", "发生重大事故（人为故意）") and said["at"]
    assert_envelope(zhang.post(url, json=stop), 409, "incentive_plan_already_suspended")
    assert zhang.get(URL).json()["plans"][0]["suspended"]["note"] == "发生重大事故（人为故意）"
    # no pay is computed from the plan this month, so no approval is waited for, and the statements say why
    out = admin.post(f"/api/incentives/{MONTH}/compute").json()
    assert out["suspended"] == [{"plan": PLAN, "plan_name": "维修部激励方案", "reason": "发生重大事故（人为故意）"}]
    assert not any(l["code"] == "incentive_line.scorecard" for s in out["staff"].values() for l in s["lines"])
    assert admin.post(f"/api/incentives/{MONTH}/publish").status_code == 201
    back = zhang.post(url, json={"plan": PLAN, "decision": "resume"})
    assert back.status_code == 201 and back.json()["suspended"] is None
    again = admin.post(f"/api/incentives/{MONTH}/compute").json()
    assert again["suspended"] == [] and again["staff"][LEADER]["bonus_yuan"] != "0.00"
    assert_envelope(zhang.post(url, json={**stop, "plan": "nope"}), 404, "incentive_approval_unknown_plan")
