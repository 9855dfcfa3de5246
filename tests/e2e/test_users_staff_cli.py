"""``weixi users create --staff-id`` and ``weixi users edit --staff-id`` (issue 19 §12: one staff id for a login),
checked against the staff roster (``weixi staff load``)."""

from __future__ import annotations

from tests.e2e.cli_helpers import weixi, weixi_json

STRONG = "Lantern-Quartz-88"


def test_a_login_gets_its_staff_id_on_the_roster(tmp_path):
    db = tmp_path / "w.db"
    roster = tmp_path / "staff.csv"
    roster.write_text("staff_id,name,role,team\nS000901,王芳,clerk,T9\n", encoding="utf-8")
    weixi("init", db=db)
    weixi("staff", "load", roster, db=db)
    err = weixi_json("users", "create", "wang", "--role", "clerk", "--staff-id", "S9", "--password", STRONG, db=db,
                     expect=1)  # fmt: skip
    assert err["error"]["code"] == "user_staff_not_on_roster" and err["error"]["params"] == {"staff": "S9"}
    made = weixi_json(
        "users", "create", "wang", "--role", "clerk", "--staff-id", "S000901", "--password", STRONG, db=db
    )
    assert made == {"username": "wang", "role": "clerk", "member_id": None, "staff_id": "S000901"}
    listed = {u["username"]: u for u in weixi_json("users", "list", db=db)}
    assert listed["wang"]["staff_id"] == "S000901"
    taken = weixi_json("users", "create", "li", "--role", "agent", "--staff-id", "S000901", "--password", STRONG,
                       db=db, expect=1)  # fmt: skip
    assert taken["error"]["code"] == "user_staff_id_taken" and taken["error"]["params"]["username"] == "wang"
    assert weixi_json("users", "edit", "wang", "--staff-id", "", db=db) == {
        "username": "wang",
        "staff_id": None,
        "acts_as": "wang",
    }
    assert "wang acts as staff S000901" in weixi("users", "edit", "wang", "--staff-id", "S000901", db=db).output
