"""The API's own tables and flows on both databases: users, logins and their rate limit, sessions with CSRF,
tokens, audit, a redemption racing for the last points, a close job record."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MEMBER, PASSWORD, assert_envelope, make_api
from tests.conftest import BACKENDS
from weixi.close import jobs as close_jobs
from weixi.users import service as users


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_auth_ledger_and_audit_on_each_database(db_url, tmp_path):
    api = make_api(tmp_path, db_url=db_url)
    try:
        browser = TestClient(api.app, base_url="https://testserver", client=("10.1.1.1", 1))
        for _ in range(users.LOGIN_MAX_FAILURES):
            assert_envelope(browser.post("/api/auth/login", json={"username": "clerk", "password": "x"}), 401)
        assert_envelope(browser.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}), 429)
        other = TestClient(api.app, base_url="https://testserver", client=("10.1.1.2", 1))
        csrf = other.post("/api/auth/login", json={"username": "clerk", "password": PASSWORD}).json()["csrf_token"]
        api.post_points(MEMBER, "150.00", "b1")  # 15 points
        api.post_points(MEMBER, "1000.00", "b2")  # 100 more: 115
        body = {"member_id": MEMBER, "reward_id": "bill-credit"}
        assert_envelope(other.post("/api/redemptions", json=body), 403, "csrf_failed")
        first = other.post("/api/redemptions", json=body, headers={"X-CSRF-Token": csrf})
        assert first.status_code == 201 and first.json()["details"]["lots"] == [["b1", 15], ["b2", 85]]
        err = assert_envelope(other.post("/api/redemptions", json=body, headers={"X-CSRF-Token": csrf}), 409)
        assert "balance 15" in err["message"]
        assert other.get(f"/api/members/{MEMBER}/balance").json()["balance"] == 15
        token = api.client("analyst").post("/api/auth/token", json={"name": "pg"}).json()["token"]
        assert users.user_for_token(api.engine, token).role == "analyst"
        assert users.revoke_token(api.engine, token) and users.user_for_token(api.engine, token) is None
        log = api.client("admin").get("/api/audit").json()["entries"]
        assert {"login", "token.issue"} <= {e["action"] for e in log}
        job = close_jobs.start(
            api.engine, api.data_dir, "2026-08", users.get_user(api.engine, "admin"), background=False
        )
        assert job["status"] == "refused" and job["finished_at"] is not None
        assert close_jobs.recent(api.engine)[0]["id"] == job["id"]
        browser.close()
        other.close()
    finally:
        for c in api.clients:
            c.close()
        api.engine.dispose()
