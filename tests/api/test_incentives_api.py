"""Incentive statements through the API: staff see their own, managers their team, analysts everything;
leaderboards, payroll export, recompute against the published month, publication and the award workflow."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from openpyxl import load_workbook

from tests.api.conftest import assert_envelope, make_api
from tests.console import staff_data as sd
from weixi.incentives import reports as incentive_reports
from weixi.users import service as users


def _published_api(root):
    api = make_api(root)
    month_dir = sd.incentives(api.data_dir)
    for username, role in ((sd.CLERK, "clerk"), (sd.MANAGER, "manager")):
        user = users.create_user(api.engine, username, "correct horse 1", role)
        api.tokens[username] = users.issue_token(api.engine, user, "tests")
    r = api.client("admin").post(f"/api/incentives/{sd.MONTH}/publish")
    assert r.status_code == 201 and r.json() == {"month": sd.MONTH, "version": 1, "new": True}, r.text
    api.month_dir = month_dir
    api.expected = incentive_reports.recompute(api.data_dir, sd.MONTH).to_json()
    return api


def _close(api):
    for c in api.clients:
        c.close()
    api.engine.dispose()


@pytest.fixture(scope="module")
def inc(tmp_path_factory):
    """An API over a data directory with the month's incentive inputs, published by the admin; logins for a
    clerk (S000003, team T0) and a manager (S000010, team T1). Shared by the tests that do not change it."""
    hasher, users._hasher = users._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        api = _published_api(tmp_path_factory.mktemp("incentives-api"))
    finally:
        users._hasher = hasher
    yield api
    _close(api)


@pytest.fixture
def fresh(tmp_path):
    api = _published_api(tmp_path)
    yield api
    _close(api)


def test_a_clerk_sees_only_their_own_statement(inc):
    clerk = inc.client(sd.CLERK)
    mine = clerk.get(f"/api/incentives/{sd.MONTH}/me")
    assert mine.status_code == 200, mine.text
    body, want = mine.json(), inc.expected["staff"][sd.CLERK]
    assert body["staff_id"] == sd.CLERK and body["team"] == "T0" and body["version"] == 1
    assert body["published_by"] == "admin"
    assert (body["bonus_yuan"], body["mobile_units"], body["kpi_points"]) == (
        want["bonus_yuan"],
        want["mobile_units"],
        want["kpi_points"],
    )
    assert body["lines"] == want["lines"] and body["excluded"] == want["excluded"]
    assert sum(Decimal(line["yuan"]) for line in body["lines"]) == Decimal(body["bonus_yuan"])  # every yuan explained
    # each line is a value: its code and params beside the English sentence (text), linking it to order and rule
    for line in body["lines"]:
        assert line["code"].startswith("incentive_line.order") and line["params"]["order"] == line["order_id"]
        assert line["rule"] == f"{line['params']['plan']}/{line['params']['rule']}" and line["params"]["rule_name"]
        assert line["text"].startswith(f"order {line['order_id']} (") and line["params"]["yuan"] == line["yuan"]
    assert clerk.get(f"/api/incentives/{sd.MONTH}/statements/{sd.CLERK}").json()["lines"] == want["lines"]
    err = assert_envelope(
        clerk.get(f"/api/incentives/{sd.MONTH}/statements/{sd.OTHER_TEAM}"), 403, "incentive_statement_not_visible"
    )
    assert sd.OTHER_TEAM in err["message"]
    assert_envelope(clerk.get(f"/api/incentives/{sd.MONTH}/statements"), 403, "forbidden")
    assert_envelope(clerk.get(f"/api/incentives/{sd.MONTH}/export"), 403, "forbidden")
    assert_envelope(clerk.get("/api/incentives/2016-02/me"), 404, "incentive_statements_not_published")


def test_a_manager_sees_their_team_and_nobody_else(inc):
    manager = inc.client(sd.MANAGER)
    r = manager.get(f"/api/incentives/{sd.MONTH}/statements")
    assert r.status_code == 200, r.text
    body = r.json()
    team = {f"S{i:06d}" for i in range(10, 20)}
    assert body["team"] == "T1" and {s["staff_id"] for s in body["staff"]} == team
    assert body["totals"]["bonus_yuan"] == str(
        sum(Decimal(inc.expected["staff"][s]["bonus_yuan"]) for s in team).quantize(Decimal("0.01"))
    )
    assert manager.get(f"/api/incentives/{sd.MONTH}/statements/{sd.TEAM_MATE}").status_code == 200
    assert_envelope(
        manager.get(f"/api/incentives/{sd.MONTH}/statements/{sd.CLERK}"), 403, "incentive_statement_not_visible"
    )
    assert_envelope(
        manager.get(f"/api/incentives/{sd.MONTH}/statements", params={"team": "T0"}), 403, "incentive_other_team"
    )
    board = manager.get(f"/api/incentives/{sd.MONTH}/leaderboard").json()
    assert {s["staff_id"] for s in board["top"]} <= team


def test_analysts_see_everyone_ranked_with_totals_by_business(inc):
    analyst = inc.client("analyst")
    body = analyst.get(f"/api/incentives/{sd.MONTH}/statements").json()
    assert len(body["staff"]) == sd.STAFF and body["team"] is None
    bonuses = [Decimal(s["bonus_yuan"]) for s in body["staff"]]
    assert bonuses == sorted(bonuses, reverse=True) and body["staff"][0]["rank"] == 1
    total = sum(Decimal(s["bonus_yuan"]) for s in inc.expected["staff"].values())
    assert Decimal(body["totals"]["bonus_yuan"]) == total
    board = analyst.get(f"/api/incentives/{sd.MONTH}/leaderboard", params={"limit": 3}).json()
    assert len(board["top"]) == 3 and board["top"] == body["staff"][:3]
    rules = {b["rule"]: b for b in board["by_business"]}
    assert set(rules) == {
        "retention-2016/mobile-phone-for-credit",
        "retention-2016/broadband-prepay",
        "retention-2016/fiber-migration",
    } or set(rules) <= {
        f"retention-2016/{r}" for r in ("mobile-phone-for-credit", "broadband-prepay", "fiber-migration")
    }
    assert sum(Decimal(b["yuan"]) for b in board["by_business"]) == total
    t0 = analyst.get(f"/api/incentives/{sd.MONTH}/statements", params={"team": "T0"}).json()
    assert {s["team"] for s in t0["staff"]} == {"T0"} and len(t0["staff"]) == 10


def test_payroll_export_downloads_parse(inc):
    analyst = inc.client("analyst")
    r = analyst.get(f"/api/incentives/{sd.MONTH}/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == sd.STAFF
    assert {row["staff_id"]: row["bonus_yuan"] for row in rows} == {
        s: v["bonus_yuan"] for s, v in inc.expected["staff"].items()
    }
    x = analyst.get(f"/api/incentives/{sd.MONTH}/export", params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(x.content), read_only=True)
    assert book.sheetnames == ["statements", "lines", "excluded", "rejected", "duplicates"]
    assert sum(1 for _ in book["statements"].iter_rows()) == sd.STAFF + 1
    assert_envelope(analyst.get(f"/api/incentives/{sd.MONTH}/export", params={"format": "pdf"}), 422)


def test_a_late_order_shows_as_a_difference_and_needs_a_correction_to_publish(fresh):
    inc = fresh
    analyst, admin = inc.client("analyst"), inc.client("admin")
    assert analyst.get(f"/api/incentives/{sd.MONTH}/diff").json()["changes"] == {}
    sd.add_late_order(inc.month_dir, sd.CLERK)
    diff = analyst.get(f"/api/incentives/{sd.MONTH}/diff").json()
    assert list(diff["changes"]) == [sd.CLERK] and diff["published_version"] == 1
    change = diff["changes"][sd.CLERK]
    assert [line["order_id"] for line in change["added"]] == ["LATE1"]
    assert Decimal(change["mobile_units"]["difference"]) == 1
    # the published statement is never changed silently
    assert (
        inc.client(sd.CLERK).get(f"/api/incentives/{sd.MONTH}/me").json()["lines"]
        == inc.expected["staff"][sd.CLERK]["lines"]
    )
    assert_envelope(admin.post(f"/api/incentives/{sd.MONTH}/publish"), 409, "incentive_already_published")
    assert_envelope(
        analyst.post(f"/api/incentives/{sd.MONTH}/publish", json={"supersede": True, "reason": "x"}), 403, "forbidden"
    )
    r = admin.post(f"/api/incentives/{sd.MONTH}/publish", json={"supersede": True, "reason": "late CRM orders"})
    assert r.status_code == 201 and r.json()["version"] == 2
    mine = inc.client(sd.CLERK).get(f"/api/incentives/{sd.MONTH}/me").json()
    assert mine["version"] == 2 and "LATE1" in {line["order_id"] for line in mine["lines"]}
    computed = analyst.post(f"/api/incentives/{sd.MONTH}/compute").json()
    assert computed["staff"][sd.CLERK] == {k: v for k, v in mine.items() if k in computed["staff"][sd.CLERK]}
    assert inc.client(sd.CLERK).get("/api/incentives/months").json()["months"] == [
        {"month": sd.MONTH, "version": 2, "versions": 2}
    ]


def test_missing_inputs_are_a_clear_conflict(inc):
    err = assert_envelope(
        inc.client("analyst").post("/api/incentives/2016-03/compute"), 409, "incentive_no_plans_for_month"
    )
    assert "incentives/2016-03" in err["message"]
    assert_envelope(inc.client("analyst").get("/api/incentives/2016-13/me"), 422)


def test_the_award_workflow_records_who_decided(inc, monkeypatch):
    from datetime import datetime

    from weixi.incentives import service as svc

    # seed 000: "奖励将在下季度开始前正式宣布和发放": the 2016-Q1 awards are published by 31 March 2016
    monkeypatch.setattr(svc, "now", lambda: datetime.fromisoformat("2016-03-31T12:00:00+08:00"))
    manager, analyst, admin = inc.client(sd.MANAGER), inc.client("analyst"), inc.client("admin")
    r = manager.post(
        "/api/incentives/awards",
        json={
            "period": "2016-Q1",
            "staff_id": sd.TEAM_MATE,
            "award": "excellent",
            "letter": "Kept 12 expiring customers.",
        },
    )
    assert r.status_code == 201, r.text
    nid = r.json()["nomination_id"]
    assert_envelope(manager.post(f"/api/incentives/awards/{nid}/review", json={"decision": "accept"}), 403)
    assert_envelope(admin.post(f"/api/incentives/awards/{nid}/approve"), 409, "incentive_step_out_of_order")
    assert analyst.post(f"/api/incentives/awards/{nid}/review", json={"note": "agreed"}).json()["status"] == "reviewed"
    assert admin.post(f"/api/incentives/awards/{nid}/approve").json()["status"] == "approved"
    assert admin.post("/api/incentives/awards/publication", json={"period": "2016-Q1"}).json()["published"] == [nid]
    found = analyst.get("/api/incentives/awards", params={"period": "2016-Q1"}).json()["nominations"]
    assert [(s["step"], s["by"]) for s in found[0]["steps"]] == [
        ("nomination", sd.MANAGER),
        ("committee_review", "analyst"),
        ("leadership_approval", "admin"),
        ("publication", "admin"),
    ]
    assert_envelope(admin.post("/api/incentives/awards/N-none/review"), 404, "incentive_unknown_nomination")


ZH = {"Accept-Language": "zh-CN"}


def test_a_refused_publication_answers_its_own_code_in_the_callers_language(fresh):
    inc = fresh
    admin = inc.client("admin")
    sd.add_late_order(inc.month_dir, sd.CLERK)  # the recompute differs from the published month
    again = assert_envelope(
        admin.post(f"/api/incentives/{sd.MONTH}/publish", headers=ZH),
        409,
        "incentive_already_published",
        month=sd.MONTH,
        version=1,
        by="admin",
    )
    assert again["message"].startswith(f"{sd.MONTH} 的考核结果已由 admin 于 ") and "第 1 版" in again["message"]
    assert "--supersede" not in again["message"]
    reason = assert_envelope(
        admin.post(f"/api/incentives/{sd.MONTH}/publish", json={"supersede": True}, headers=ZH),
        422,
        "incentive_correction_needs_reason",
    )
    assert reason["message"].startswith("发布更正版本须注明原因") and reason["where"] == {"field": "reason"}
    nothing = assert_envelope(
        admin.post("/api/incentives/2016-03/publish", headers=ZH), 409, "incentive_no_plans_for_month", month="2016-03"
    )
    assert nothing["message"].startswith("2016-03 没有考核激励方案")
    english = assert_envelope(admin.post("/api/incentives/2016-03/publish"), 409, "incentive_no_plans_for_month")
    assert english["message"].startswith("no incentive plans for 2016-03")


def test_a_plan_with_errors_answers_each_problem_with_its_code_line_and_column(inc):
    folder = inc.data_dir / "incentives" / "2016-05"
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text(
        "plan: broken\nkind: scorecard\nname: B\nvalid: {from: 2016-01-01}\nscale: 10\nweights: {a: 60%, b: 30}\n",
        encoding="utf-8",
    )
    err = assert_envelope(
        inc.client("analyst").post("/api/incentives/2016-05/compute", headers=ZH),
        422,
        "incentive_plan_has_errors",
        count=1,
    )
    assert err["message"] == f"方案文件 {folder / 'broken.yaml'} 有 1 处错误,请逐条修正后重试。"
    (problem,) = err["details"]
    assert (problem["code"], problem["line"], problem["column"]) == ("incentive_percent_needs_sign", 6, 22)
    assert problem["params"]["key"] == "b" and problem["message"] == "b:百分比须带 % 号(例如 50%),实际是数字 30。"


def test_a_bad_roster_answers_every_bad_row_with_its_code_row_and_column(fresh):
    roster = fresh.month_dir / "roster.csv"
    lines = roster.read_text(encoding="utf-8").splitlines()
    roster.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")  # one employee listed twice
    err = assert_envelope(
        fresh.client("analyst").post(f"/api/incentives/{sd.MONTH}/compute", headers=ZH),
        422,
        "incentive_roster_bad_rows",
        count=2,
    )
    assert err["message"].startswith(f"名册文件 {roster} 有 2 行有误")
    rows = [(d["code"], d["where"]["row"], d["where"]["field"]) for d in err["details"]]
    assert rows == [
        ("incentive_staff_listed_twice", 2, "staff_id"),
        ("incentive_staff_listed_twice", len(lines) + 1, "staff_id"),
    ]
    assert err["details"][0]["message"].startswith("员工编号 ")
