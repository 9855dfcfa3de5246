"""The monthly close as a background job through the API, on a tiny generated operator."""

from __future__ import annotations

import threading

from tests.api.conftest import assert_envelope
from weixi.close import jobs as close_jobs


def wait_for(client, job_id: str, polls: int = 600) -> dict:
    """Poll until the job leaves 'running' (bounded by polls, not by time)."""
    import time

    for _ in range(polls):
        job = client.get(f"/api/close/jobs/{job_id}").json()
        if job["status"] != "running":
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still running: {job}")


def test_close_job_lifecycle(operator_api):
    admin = operator_api.client("admin")
    started = admin.post("/api/close/jobs", json={"month": "2026-08"})
    assert started.status_code == 202, started.text
    job = started.json()
    assert job["month"] == "2026-08" and job["requested_by"] == "admin" and job["status"] in ("running", "succeeded")
    done = wait_for(admin, job["id"])
    assert done["status"] == "succeeded", done
    assert (
        done["progress"]["steps_done"] == done["progress"]["steps"] == 7 and done["progress"]["step"] == "search_index"
    )
    result = done["result"]
    assert result["month"] == "2026-08" and result["status"] == "closed" and result["already_closed"] is False
    assert (
        result["accrual"]["posted"] > 0
        and done["progress"]["rows"] == result["accrual"]["bills"] + result["accrual"]["recharges"]
    )
    months = operator_api.client("analyst").get("/api/close/months").json()["months"]
    assert [m["month"] for m in months] == ["2026-08"] and months[0]["summary"]["members"] == result["summary"][
        "members"
    ]

    again = wait_for(admin, admin.post("/api/close/jobs", json={"month": "2026-08"}).json()["id"])
    assert again["status"] == "succeeded" and again["result"]["already_closed"] is True

    skipped = wait_for(admin, admin.post("/api/close/jobs", json={"month": "2026-10"}).json()["id"])
    assert skipped["status"] == "refused" and "close 2026-09 first" in skipped["error"]
    assert (skipped["error_code"], skipped["error_params"]) == (
        "close_month_skipped",
        {"next": "2026-09", "last": "2026-08"},
    )
    zh = {"Accept-Language": "zh-CN"}
    assert (
        admin.get(f"/api/close/jobs/{skipped['id']}", headers=zh).json()["error"]
        == "请先结账 2026-09：最近已结账的月份是 2026-08"
    )
    before = wait_for(admin, admin.post("/api/close/jobs", json={"month": "2026-07"}).json()["id"])
    assert before["status"] == "refused" and before["error_code"] == "close_month_out_of_order"
    told = admin.get(f"/api/close/jobs/{before['id']}", headers=zh).json()
    assert told["error"] == "2026-07 早于最近已结账的月份 2026-08：月结须按月份顺序进行"
    listed = admin.get("/api/close/jobs").json()["jobs"]
    assert {j["id"] for j in listed} >= {job["id"], again["id"], skipped["id"]}
    assert_envelope(admin.get("/api/close/jobs/nope"), 404, "close_job_not_found", job="nope")
    assert assert_envelope(admin.get("/api/close/jobs/nope", headers=zh), 404)["message"] == "没有月结任务 nope"


def test_one_close_at_a_time(operator_api, monkeypatch):
    release = threading.Event()
    entered = threading.Event()

    def slow_close(engine, data_dir, month, engine_name="duckdb", progress=None, spark=None):
        progress.step("accrual")
        entered.set()
        release.wait(30)
        return {"month": month, "status": "closed", "already_closed": False}

    monkeypatch.setattr("weixi.close.run.close_month", slow_close)
    admin = operator_api.client("admin")
    first = admin.post("/api/close/jobs", json={"month": "2026-08"}).json()
    assert entered.wait(30)
    running = admin.get(f"/api/close/jobs/{first['id']}").json()
    assert running["status"] == "running" and running["progress"]["step"] == "accrual"
    err = assert_envelope(
        admin.post("/api/close/jobs", json={"month": "2026-09"}), 409, "close_already_running", month="2026-08"
    )
    assert first["id"] in err["message"]
    release.set()
    assert wait_for(admin, first["id"])["status"] == "succeeded"


def test_bad_month_and_interrupted_jobs(operator_api):
    admin = operator_api.client("admin")
    bad = assert_envelope(admin.post("/api/close/jobs", json={"month": "2026-13"}), 422, "not_a_month", month="2026-13")
    assert bad["where"] == {"field": "month"}
    assert_envelope(admin.post("/api/close/jobs", json={"month": "Oct"}), 422)
    from datetime import datetime, timezone

    from weixi.adapters.sql import execute

    with operator_api.engine.begin() as conn:
        execute(
            conn,
            "INSERT INTO close_jobs (id, month, status, created_at) VALUES (?,?,?,?)",
            ["stale", "2026-08", "running", datetime.now(timezone.utc)],
        )
    assert close_jobs.fail_interrupted(operator_api.engine) == 1
    stale = admin.get("/api/close/jobs/stale").json()
    assert (
        stale["status"] == "failed"
        and "interrupted" in stale["error"]
        and stale["error_code"] == "close_job_interrupted"
    )


def test_a_month_without_its_inputs_is_refused_with_its_code_in_the_callers_language(operator_api, tmp_path):
    operator_api.app.state.data_dir = tmp_path / "empty"
    admin = operator_api.client("admin")
    job = wait_for(admin, admin.post("/api/close/jobs", json={"month": "2026-08"}).json()["id"])
    assert job["status"] == "refused" and job["error"] == "inputs for 2026-08 are missing"
    assert job["error_code"] == "close_inputs_missing" and job["result"]["missing"]
    assert job["error_params"]["missing"] == job["result"]["missing"]
    told = admin.get(f"/api/close/jobs/{job['id']}", headers={"Accept-Language": "zh-CN"}).json()
    assert told["error"] == "2026-08 的月结所需数据不全"
    listed = admin.get("/api/close/jobs", headers={"Accept-Language": "zh-CN"}).json()["jobs"]
    assert next(j for j in listed if j["id"] == job["id"])["error"] == told["error"]
