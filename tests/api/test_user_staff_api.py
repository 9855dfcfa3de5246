"""A login's staff id over the API (issue 19 §12: one staff id for a login): set on create, changed or unlinked,
checked against the staff roster, one login per staff id; errors as codes."""

from __future__ import annotations

from tests.api.conftest import assert_envelope, make_api
from weixi.operations.staff import load_staff
from weixi.users import service as users

STRONG = "Lantern-Quartz-88"


def test_a_login_is_created_with_its_staff_id_and_changed(tmp_path):
    api = make_api(tmp_path)
    roster = tmp_path / "staff.csv"
    roster.write_text("staff_id,name,role,team\nS000901,王芳,clerk,T9\nS000902,李丽,clerk,T9\n", encoding="utf-8")
    load_staff(api.engine, roster)
    admin = api.client("admin")
    try:
        body = {"username": "wang", "password": STRONG, "role": "clerk", "staff_id": "S9"}
        assert_envelope(admin.post("/api/users", json=body), 422, "user_staff_not_on_roster", staff="S9")
        made = admin.post("/api/users", json={**body, "staff_id": "S000901"})
        assert made.status_code == 201, made.text
        assert made.json() == {"username": "wang", "role": "clerk", "member_id": None, "staff_id": "S000901",
                               "active": True}  # fmt: skip
        taken = admin.post("/api/users", json={**body, "username": "li", "staff_id": "S000901"})
        assert_envelope(taken, 409, "user_staff_id_taken", username="wang")
        moved = admin.put("/api/users/wang/staff", json={"staff_id": "S000902"})
        assert moved.status_code == 200 and moved.json()["staff_id"] == "S000902"
        assert admin.put("/api/users/wang/staff", json={"staff_id": None}).json()["staff_id"] is None
        assert_envelope(admin.put("/api/users/nobody/staff", json={"staff_id": "S000902"}), 404, "unknown_user")
        assert_envelope(api.client("manager").put("/api/users/wang/staff", json={"staff_id": None}), 403)
        listed = {u["username"]: u for u in admin.get("/api/users").json()}
        assert listed["wang"]["staff_id"] is None and listed["admin"]["staff_id"] is None
        # the agent's work queue is its staff id's, not its username's
        made = admin.post("/api/users", json={**body, "username": "zhao", "role": "agent", "staff_id": "S000901"})
        assert made.status_code == 201, made.text
        api.tokens["zhao"] = users.issue_token(api.engine, users.get_user(api.engine, "zhao"), "tests")
        queue = api.client("zhao").get("/api/work/queue")
        assert queue.status_code == 200, queue.text
        assert queue.json()["staff_id"] == "S000901"
    finally:
        for c in api.clients:
            c.close()
        api.engine.dispose()
