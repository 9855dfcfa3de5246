"""The agent's queue and the manager's duties over the API (issue 18 §1, issue 20 §4): the queue's order and the
win-back list, reassigning, a transfer with its reason and history (seed 002: "如达不到要求的转给别领班维护"), the
monthly portfolio, inspection and quotas ("月饼指标、圣诞票指标任务到人"), each refused outside the caller's team."""

from __future__ import annotations

from datetime import date

from tests.api.test_operations_api import ON, world  # noqa: F401 (the fixture)
from weixi.adapters.sql import execute
from weixi.operations import service as ops


def test_the_work_queue_puts_overdue_sla_tasks_first(world):  # noqa: F811
    api, w = world
    with api.engine.begin() as conn:
        execute(
            conn,
            "UPDATE ops_tasks SET due_on = ? WHERE task_id = '2026-09/retention-call/M000014'",
            [date(2026, 10, 9)],
        )
    q = api.client("agent").get("/api/work/queue", params={"on": ON}).json()
    assert [t["task_id"] for t in q["tasks"]][0] == "2026-09/retention-call/M000014" and q["tasks"][0]["overdue"]
    assert q["overdue"] == 1 and q["total"] == 4 and q["other_list_total"] == 0 and q["done_this_month"] == 0
    assert api.client("agent").get("/api/work/queue", params={"list": "winback"}).json()["tasks"] == []


def test_transfer_reassign_portfolio_inspection_quotas(world):  # noqa: F811
    api, w = world
    manager = api.client("manager")
    refused = manager.post("/api/members/M000004/transfer", json={"to_staff": "agent", "reason": " "})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "transfer_reason_missing"
    out = manager.post("/api/members/M000004/transfer", json={"to_staff": "agent", "reason": "跟踪记录不达标"})
    assert out.status_code == 200 and out.json()["from_staff"] == "manager" and out.json()["moved_tasks"] == 1
    hist = manager.get("/api/members/M000004/transfers").json()
    assert hist["manager"] == "agent" and hist["transfers"][0]["reason"] == "跟踪记录不达标"
    other = manager.post("/api/members/M000001/transfer", json={"to_staff": "manager", "reason": "x"})
    assert other.status_code == 403  # M000001 is K2's, another team's
    tasks = [t["task_id"] for t in api.client("agent").get("/api/work/queue", params={"on": ON}).json()["tasks"]][:2]
    moved = manager.post("/api/tasks/reassign", json={"task_ids": tasks, "to_staff": "A2"})
    assert moved.status_code == 200 and moved.json()["moved"] == 2
    assert {ops.get_task(api.engine, t)["assignee"] for t in tasks} == {"A2"}
    rows = {r["staff_id"]: r for r in manager.get("/api/team/portfolio", params={"month": "2026-09"}).json()["rows"]}
    assert rows["manager"]["held"] == 4 and "K2" not in rows
    assert manager.get("/api/team/inspection", params={"month": "2026-10", "staff_id": "K2"}).status_code == 403
    q = manager.post(
        "/api/team/quotas", json={"period": "2026-09", "item": "圣诞票", "staff_id": "manager", "quantity": 2}
    )
    qid = q.json()["quota_id"]
    assert manager.post(f"/api/team/quotas/{qid}/handouts", json={"member_id": "M000002"}).json()["remaining"] == 1
    over = manager.post(f"/api/team/quotas/{qid}/handouts", json={"member_id": "M000004", "quantity": 2})
    assert over.status_code == 409 and over.json()["error"]["code"] == "quota_exhausted"
    assert (
        api.client("agent").post("/api/tasks/reassign", json={"task_ids": tasks, "to_staff": "agent"}).status_code
        == 403
    )
