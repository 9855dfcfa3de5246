"""Retention operations over the API: an agent's queue and next task with the member at a glance, 403 for another
agent's task, 404 for an unknown one, outcomes that create the retention order and the follow-up (idempotent,
CSRF-checked for cookie sessions), the team view's SLA numbers against the service's SLA report, the care
calendar and the outbox status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.api.conftest import PASSWORD, assert_envelope, make_api
from tests.integration.ops_fixtures import MONTH, write_members, write_roster, write_snapshot, write_tier_events
from weixi.adapters.sql import execute
from weixi.operations import care_run as care
from weixi.operations import monthly_tasks, sla
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff

RUN = date(2026, 9, 30)
ON = "2026-10-12"
# Staff ids are the logins' usernames: "agent" and "manager" are the test logins; A2 and K2 have none.
ROSTER = [
    ("manager", "王经理", "manager", "T1", "", ""),
    ("K2", "李经理", "manager", "T2", "", ""),
    ("agent", "坐席一", "agent", "OB", "manager", ""),
    ("A2", "坐席二", "agent", "OB", "manager", ""),
]


@dataclass
class World:
    ids: list[str]
    targets: list[str]  # members on the target list, priority order
    plan: object


def build_world(engine, data: Path, tmp: Path) -> World:
    """3 diamond and 3 gold members for the managers, 8 standard members on the month's target list for the
    outbound agents (priority descending), a downgrade warning, names and phones in the archive."""
    ids = write_snapshot(data, MONTH, {"diamond": 3, "gold": 3, "standard": 8})
    snap = data / "snapshots" / f"month={MONTH}" / "part-0.parquet"
    t = pq.read_table(snap)  # the columns of a real close's snapshot that the member 360 reads
    for name, typ in (
        ("tier_since", pa.date32()),
        ("grace_until", pa.date32()),
        ("value_grade", pa.string()),
        ("activity_grade", pa.string()),
        ("rfm", pa.string()),
        ("arpu_fen", pa.int64()),
    ):
        t = t.append_column(name, pa.array([None] * t.num_rows, typ))
    pq.write_table(t, snap)
    write_members(
        data,
        [
            {
                "member_id": m,
                "name": f"张{i}",
                "gender": "M",
                "phone": f"1380000{i:04d}",
                "city": "广州",
                "plan_name": "畅享套餐",
            }
            for i, m in enumerate(ids)
        ],
    )
    write_tier_events(data, MONTH, [(ids[3], "will_downgrade", "gold", "silver", date(2026, 12, 31))])
    targets = ids[6:]
    n = len(targets)
    table = pa.table(
        {
            "member_id": targets,
            "list": ["high_risk"] * n,
            "group": ["treatment"] * n,
            "priority_fen": pa.array([100_000 - i * 1000 for i in range(n)], pa.int64()),
            "churn_probability": [0.6 - i * 0.01 for i in range(n)],
            "risk_decile": pa.array([1] * n, pa.int32()),
            "reason_1": ["3 port-out inquiries in 30 days"] * n,
            "reason_1_zh": ["近30天携号转网查询3次"] * n,
            "reason_2": ["bill down 30%"] * n,
            "reason_2_zh": ["账单下降30%"] * n,
            "offer_id": ["phone_for_credit"] * n,
            "offer_name": ["存费送机"] * n,
        }
    )
    path = data / "targets" / f"month={MONTH}" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    ops_staff.load_staff(engine, write_roster(tmp / "roster.csv", ROSTER))
    plan = ops.plan_or_fail(None)
    monthly_tasks.create_month(engine, data, MONTH, plan, RUN)
    return World(ids, targets, plan)


@pytest.fixture
def world(tmp_path):
    api = make_api(tmp_path)
    w = build_world(api.engine, api.data_dir, tmp_path)
    yield api, w
    for c in api.clients:
        c.close()
    api.engine.dispose()


def owned(engine, who: str) -> list[str]:
    with engine.connect() as conn:
        return [
            r[0]
            for r in execute(
                conn,
                "SELECT task_id FROM ops_tasks WHERE assignee = ? AND kind = "
                "'retention_call' AND status = 'open' ORDER BY task_id",
                [who],
            )
        ]


def test_an_agent_sees_only_their_queue_with_the_member_at_a_glance(world):
    api, w = world
    agent = api.client("agent")
    q = agent.get("/api/tasks/queue", params={"on": ON}).json()
    assert q["staff_id"] == "agent" and q["tasks"]
    assert {t["assignee"] for t in q["tasks"]} == {"agent"}
    assert sorted(t["task_id"] for t in q["tasks"]) == owned(api.engine, "agent")
    # issue 18 §1: overdue SLA tasks first, then by due date, then priority (as the console's work page)
    keys = [
        (not (t["sla_rule"] and t["due_on"] < ON), t["due_on"] is None, t["due_on"] or "", -t["priority"])
        for t in q["tasks"]
    ]
    assert keys == sorted(keys)
    nxt = agent.get("/api/tasks/next", params={"on": ON}).json()
    assert nxt["task"]["task_id"] == q["tasks"][0]["task_id"] and nxt["may_record"] and nxt["next_attempt"] == 1
    g = nxt["glance"]
    assert g["member"]["name"].startswith("张") and g["member"]["phone"].startswith("138****")  # masked by default
    assert g["churn"]["source"] == "target_list" and g["churn"]["reasons"][0]["zh"] == "近30天携号转网查询3次"
    assert g["offer"] == {"offer_id": "phone_for_credit", "offer_name": "存费送机", "business": "phone_for_credit"}
    assert "主动告知自己的联系方式" in g["script"]["steps"][0]
    assert {"code": "roaming_call_forwarding", "label": "漫游呼转收费"} in g["reasons"]
    revealed = agent.get(f"/api/tasks/{nxt['task']['task_id']}", params={"reveal": "true"}).json()
    assert revealed["glance"]["member"]["phone"].startswith("1380000")
    # Another agent's task: 403; another's queue: 403; an unknown task: 404 in the envelope.
    other = owned(api.engine, "A2")[0]
    assert_envelope(agent.get(f"/api/tasks/{other}"), 403, "task_forbidden")
    assert_envelope(agent.post(f"/api/tasks/{other}/outcome", json={"outcome": "reached"}), 403, "task_forbidden")
    assert_envelope(agent.get("/api/tasks/queue", params={"staff_id": "A2"}), 403, "queue_forbidden")
    err = assert_envelope(agent.get("/api/tasks/2026-09/nope/M1"), 404, "unknown_task")
    assert "no task '2026-09/nope/M1'" in err["message"]
    assert_envelope(agent.post("/api/tasks/nope/outcome", json={"outcome": "reached"}), 404, "unknown_task")
    # The manager leads both agents: sees A2's task and queue, may not record A2's outcome.
    manager = api.client("manager")
    assert manager.get(f"/api/tasks/{other}").json()["may_record"] is False
    assert manager.get("/api/tasks/queue", params={"staff_id": "A2", "on": ON}).json()["tasks"]
    assert_envelope(
        manager.post(f"/api/tasks/{other}/outcome", json={"outcome": "reached"}), 403, "task_outcome_forbidden"
    )
    assert_envelope(api.client("clerk").get("/api/tasks/queue"), 403, "forbidden")


def test_outcomes_create_the_order_and_follow_up_once_and_refuse_bad_input(world):
    api, w = world
    agent = api.client("agent")
    first, second = owned(api.engine, "agent")[:2]
    err = assert_envelope(
        agent.post(f"/api/tasks/{first}/outcome", json={"outcome": "declined"}), 422, "outcome_reason_missing"
    )
    assert "declined needs --reason" in err["message"]
    body = {"outcome": "accepted", "attempt": 1}
    r = agent.post(f"/api/tasks/{first}/outcome", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["order"]["order_id"] == f"OPS-{first}" and out["order"]["staff_id"] == "agent"
    assert out["order"]["business"] == "phone_for_credit" and out["task"]["status"] == "done"
    follow = out["follow_ups"][0]
    assert follow["kind"] == "care_call" and follow["task_id"] == f"{first}/follow-up"
    again = agent.post(f"/api/tasks/{first}/outcome", json=body).json()  # a retried click
    assert again["duplicate"] is True and again["order"]["order_id"] == f"OPS-{first}"
    with api.engine.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM ops_orders WHERE task_id = ?", [first])[0][0] == 1
        assert execute(conn, "SELECT count(*) FROM ops_tasks WHERE parent_task_id = ?", [first])[0][0] == 1
    assert_envelope(
        agent.post(f"/api/tasks/{first}/outcome", json={"outcome": "reached", "attempt": 1}),
        409,
        "task_try_recorded_otherwise",
    )
    assert_envelope(agent.post(f"/api/tasks/{first}/outcome", json={"outcome": "reached"}), 409, "task_closed")
    # unreachable twice with the same attempt counts one try
    for _ in range(2):
        u = agent.post(f"/api/tasks/{second}/outcome", json={"outcome": "unreachable", "attempt": 1}).json()
        assert u["task"]["attempts"] == 1 and u["task"]["status"] == "open"
    assert_envelope(
        agent.post(f"/api/tasks/{second}/outcome", json={"outcome": "unreachable", "attempt": 3}),
        409,
        "task_try_out_of_sequence",
    )
    # a follow-up starts on the day of the outcome, or the next working day on a weekend or holiday
    queue = agent.get("/api/tasks/queue", params={"limit": 500, "on": follow["not_before"]}).json()["tasks"]
    ids = [t["task_id"] for t in queue]
    assert first not in ids and f"{first}/follow-up" in ids and second in ids
    # Cookie sessions must send the CSRF token on writes.
    web = api.client(base_url="https://testserver")  # Secure cookies are only sent over https
    login = web.post("/api/auth/login", json={"username": "agent", "password": PASSWORD})
    assert login.status_code == 200, login.text
    third = owned(api.engine, "agent")[1]
    assert_envelope(web.post(f"/api/tasks/{third}/outcome", json={"outcome": "reached"}), 403, "csrf_failed")
    ok = web.post(
        f"/api/tasks/{third}/outcome",
        json={"outcome": "declined", "reason": "price"},
        headers={"X-CSRF-Token": login.json()["csrf_token"]},
    )
    assert ok.status_code == 200 and ok.json()["task"]["outcome_reason"] == "price"


def test_a_closed_or_unknown_task_is_refused_with_its_own_code_in_the_callers_language(world):
    api, w = world
    agent = api.client("agent")
    first = owned(api.engine, "agent")[0]
    assert agent.post(f"/api/tasks/{first}/outcome", json={"outcome": "reached"}).status_code == 200
    zh = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
    closed = assert_envelope(
        agent.post(f"/api/tasks/{first}/outcome", json={"outcome": "declined", "reason": "price"}, headers=zh),
        409,
        "task_closed",
    )
    assert closed["params"]["task"] == first and closed["params"]["outcome"] == "reached"
    assert closed["message"].startswith(f"任务 {first} 已结束") and "本次未记录" in closed["message"]
    english = assert_envelope(
        agent.post(f"/api/tasks/{first}/outcome", json={"outcome": "reached"}), 409, "task_closed"
    )
    assert english["message"].startswith(f"task {first} is already done (outcome reached by agent at ")
    unknown = assert_envelope(
        agent.post("/api/tasks/2026-09/nope/M1/outcome", json={"outcome": "reached"}, headers=zh), 404, "unknown_task"
    )
    assert unknown["message"] == "没有任务 2026-09/nope/M1。" and unknown["params"] == {"task": "2026-09/nope/M1"}
    missing = assert_envelope(
        agent.post(f"/api/tasks/{owned(api.engine, 'agent')[0]}/outcome", json={"outcome": "declined"}, headers=zh),
        422,
        "outcome_reason_missing",
    )
    assert missing["message"].endswith("请选择客户拒绝的原因。")


def test_team_view_sla_numbers_are_the_services_sla_report(world):
    api, w = world
    agent = api.client("agent")
    done = owned(api.engine, "agent")[0]
    agent.post(f"/api/tasks/{done}/outcome", json={"outcome": "reached"})
    as_of = "2026-10-31"  # the target-list calls were due 10 working days after 2026-09-30
    report = sla.sla_report(api.engine, w.plan, MONTH, date.fromisoformat(as_of))
    lines = {m["staff_id"]: m for m in report["managers"]}
    team = api.client("manager").get("/api/staff/team", params={"on": as_of, "month": MONTH}).json()
    shown = {r["staff_id"]: r for r in team["staff"]}
    assert set(shown) == {"manager", "agent", "A2"}  # their team T1 and the agents they lead, not K2 of T2
    for staff_id, row in shown.items():
        if staff_id in lines:
            assert row["sla"] == {k: lines[staff_id][k] for k in row["sla"]}
    sla_line = shown["agent"]["sla"]  # recorded today, after the due date: late, not on time
    assert sla_line["late"] == 1 and sla_line["on_time"] == 0 and sla_line["open_overdue"] >= 1
    assert shown["agent"]["sla"]["meets_target"] is False  # the seed's target is 100%
    assert team["sla"]["target_percent"] == "100%"
    assert shown["agent"]["done_this_month"] == 0 and shown["agent"]["open"] == len(owned(api.engine, "agent"))
    assert_envelope(api.client("manager").get("/api/staff/team", params={"team": "T2"}), 403, "team_forbidden")
    full = api.client("analyst").get("/api/sla", params={"month": MONTH, "as_of": as_of}).json()
    assert full["overall"] == report["overall"] and full["managers"] == report["managers"]
    mine = api.client("manager").get("/api/sla", params={"month": MONTH, "as_of": as_of}).json()
    assert {m["staff_id"] for m in mine["managers"]} <= {"manager", "agent", "A2"}
    assert "K2" in {r["staff_id"] for r in api.client("admin").get("/api/staff/team").json()["staff"]}
    assert_envelope(agent.get("/api/staff/team"), 403, "forbidden")


def test_care_calendar_and_outbox_status(world):
    api, w = world
    care.run_day(api.engine, api.data_dir, w.plan, date(2026, 10, 1))
    cal = api.client("agent").get("/api/care/calendar", params={"from": "2026-10-01", "to": "2026-10-10"}).json()
    days = {d["date"]: d for d in cal["days"]}
    assert len(days) == 10
    assert [o["id"] for o in days["2026-10-01"]["occasions"]] == ["national_day"]
    assert days["2026-10-01"]["occasions"][0]["scope"] == "central"
    assert days["2026-10-01"]["messages"]["holiday"]["queued"] == len(w.ids)  # every member, sent centrally
    assert days["2026-10-08"]["working_day"] and days["2026-10-10"]["working_day"]  # 10-10: a 调休 Saturday
    assert not days["2026-10-03"]["working_day"]
    assert_envelope(
        api.client("agent").get("/api/care/calendar", params={"from": "2026-01-01", "to": "2026-12-31"}),
        422,
        "calendar_range_too_long",
    )
    box = api.client("analyst").get("/api/outbox", params={"status": "queued"}).json()
    assert box["counts"]["queued"] == days["2026-10-01"]["message_count"]
    assert all(m["recipient"].startswith("138****") for m in box["messages"])
    assert_envelope(api.client("analyst").get("/api/outbox", params={"reveal": "true"}), 403, "ops_pii_forbidden")
    clear = api.client("manager").get("/api/outbox", params={"reveal": "true", "limit": 1}).json()
    assert clear["messages"][0]["recipient"].startswith("1380000")
    assert_envelope(api.client("agent").get("/api/outbox"), 403, "forbidden")


def test_care_calendar_past_the_package_answers_provisionally(world):
    """Issue 20 §2: chinese-calendar ships 2004-2026; 2027 answers today on the provisional calendar, and says so."""
    api, _ = world
    agent = api.client("agent")
    feb = agent.get("/api/care/calendar", params={"from": "2027-02-01", "to": "2027-02-28"})
    assert feb.status_code == 200
    body = feb.json()
    assert body["provisional"] is True and body["calendar"] == {"2027": "provisional"}
    days = {d["date"]: d for d in body["days"]}
    assert all(d["provisional"] and d["calendar"] == "provisional" for d in body["days"])
    assert [o["id"] for o in days["2027-02-05"]["occasions"]] == ["spring_festival"]  # 除夕; 正月初一 is 02-06
    assert not days["2027-02-08"]["working_day"] and days["2027-02-11"]["working_day"]
    across = agent.get("/api/care/calendar", params={"from": "2026-12-20", "to": "2027-01-10"}).json()
    assert across["calendar"] == {"2026": "package", "2027": "provisional"} and across["provisional"] is True
    assert (
        agent.get("/api/care/calendar", params={"from": "2026-10-01", "to": "2026-10-10"}).json()["provisional"]
        is False
    )
