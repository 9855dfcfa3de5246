"""One staff id for a login (issue 19 §12) on the administrator's users pages: a login is created with its staff id
on the roster, the id is changed or unlinked on its page, and a staff id that is not on the roster or is another
login's is refused beside the field. Every change is audited."""

from __future__ import annotations

import re

from weixi.adapters.sql import execute
from weixi.operations.staff import load_staff
from weixi.users import service as users

STRONG = "Lantern-Quartz-88"


def _roster(app, tmp_path) -> list[str]:
    """The staff roster (weixi staff load) with two clerks."""
    roster = tmp_path / "staff.csv"
    roster.write_text("staff_id,name,role,team\nS000901,王芳,clerk,T9\nS000902,李丽,clerk,T9\n", encoding="utf-8")
    load_staff(app.state.engine, roster)
    with app.state.engine.connect() as conn:
        return [r[0] for r in execute(conn, "SELECT staff_id FROM ops_staff WHERE team = 'T9' ORDER BY staff_id")]


def test_a_login_is_created_with_its_staff_id_and_it_can_be_changed(console, app, tmp_path):
    first, second = _roster(app, tmp_path)
    c = console("admin")
    form = {"username": "wangfang", "password": STRONG, "role": "clerk", "staff_id": "NOBODY"}
    r = c.post_form("/users", "/users", form)
    assert r.status_code == 422 and 'id="staff-id-error"' in r.text and "NOBODY" in r.text
    assert users.get_user(app.state.engine, "wangfang") is None
    r = c.post_form("/users", "/users", {**form, "staff_id": first})
    assert r.status_code == 303, r.text
    assert users.get_user(app.state.engine, "wangfang").staff == first
    listed = c.get("/users").text
    assert re.search(rf'<a href="/users/wangfang">wangfang</a>.*?<td class="staff-id">{first}</td>', listed, re.S)
    taken = c.post_form("/users", "/users", {**form, "username": "lili", "staff_id": first})
    assert taken.status_code == 409 and 'id="staff-id-error"' in taken.text
    r = c.post_form("/users/wangfang", "/users/wangfang/staff", {"staff_id": second})
    assert r.status_code == 303 and users.get_user(app.state.engine, "wangfang").staff_id == second
    assert f'value="{second}"' in c.get("/users/wangfang").text
    entry = users.audit_entries(app.state.engine, 5, "user.staff_id")[0]
    assert entry["subject"] == "wangfang" and entry["detail"] == {"staff_id": second, "via": "console"}
    r = c.post_form("/users/wangfang", "/users/wangfang/staff", {"staff_id": "NOBODY"})
    assert r.status_code == 422 and 'id="staff-id-error"' in r.text
    c.post_form("/users/wangfang", "/users/wangfang/staff", {"staff_id": ""})
    assert users.get_user(app.state.engine, "wangfang").staff == "wangfang"  # unlinked: the username again
