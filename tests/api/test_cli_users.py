"""weixi users create / list / token / demo, and the token working against the API."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from weixi.api.app import create_app
from weixi.cli import app as cli


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result


def test_users_cli_and_token(tmp_path):
    db = str(tmp_path / "cli.db")
    assert run("init", "--db", db).exit_code == 0
    made = run("users", "create", "wang.fang", "--role", "manager", "--password", "long enough 1", "--db", db, "--json")
    assert made.exit_code == 0, made.output
    assert json.loads(made.output) == {"username": "wang.fang", "role": "manager", "member_id": None, "staff_id": None}
    bad = run("users", "create", "m1", "--role", "member", "--password", "long enough 1", "--db", db, "--json")
    assert bad.exit_code == 1 and json.loads(bad.output)["error"]["code"] == "member_login_needs_member_id"
    token = json.loads(run("users", "token", "wang.fang", "--db", db, "--json").output)["token"]
    demo = json.loads(run("users", "demo", "--member-id", "M0000000002", "--db", db, "--json").output)
    assert [d["role"] for d in demo] == ["admin", "analyst", "manager", "agent", "clerk", "member"]
    assert json.loads(run("users", "demo", "--db", db, "--json").output)[0]["created"] is False
    listed = json.loads(run("users", "list", "--db", db, "--json").output)
    assert {u["username"] for u in listed} == {"wang.fang", "admin", "analyst", "manager", "agent", "clerk", "member"}
    with TestClient(create_app(db, str(tmp_path))) as c:
        me = c.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["username"] == "wang.fang" and me["pii_unmasked"] is True
        assert (
            c.post("/api/auth/login", json={"username": "member", "password": "weixi-demo"}).json()["user"]["member_id"]
            == "M0000000002"
        )
    assert run("users", "token", "wang.fang", "--revoke", token, "--db", db).exit_code == 0
    assert run("users", "token", "nobody", "--db", db).exit_code == 1


def test_users_cli_refusals_are_coded(tmp_path):
    db = str(tmp_path / "cli.db")
    assert run("init", "--db", db).exit_code == 0
    weak = run("users", "create", "li.na", "--role", "clerk", "--password", "password123", "--db", db, "--json")
    assert weak.exit_code == 1 and json.loads(weak.output)["error"]["code"] == "weak_password"
    nobody = run("users", "token", "nobody", "--db", db, "--json")
    assert json.loads(nobody.output)["error"]["params"] == {"username": "nobody"}
    gone = run("users", "deactivate", "nobody", "--db", db)
    assert gone.exit_code == 1 and "unknown user 'nobody'" in gone.output
