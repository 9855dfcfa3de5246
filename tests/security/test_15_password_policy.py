"""Issue 16, item 15: weak passwords are refused wherever a password is set.

The attack: an admin (or a script) gives a login ``12345678``, ``aaaaaaaa`` or eight spaces, and the first
password-spraying run gets in. Now a password needs at least 10 characters and a zxcvbn score of 2 (zxcvbn ships
a list of 30,000 common passwords and knows words, names, keyboard patterns, repeats, sequences and the
username), through the service layer, the API (422 ``weak_password``) and the CLI (``reason: weak_password``).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.api.conftest import PASSWORD
from weixi.cli import app as cli
from weixi.users import service as users

WEAK = [
    "12345678",
    "aaaaaaaa",
    " " * 8,
    "password123",
    "Password1234",
    "qwertyuiop",
    "1234567890",
    "aaaaaaaaaaaa",
    " " * 12,
    "iloveyou12",
    "wang.fang2026",
]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_by_the_api(api, password):
    admin = api.client("admin")
    r = admin.post("/api/users", json={"username": "wang.fang", "password": password, "role": "clerk"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == ("password_too_short" if len(password) < 10 else "weak_password"), err
    assert err["details"] == [{"in": "body", "field": "password"}] and password not in err["message"]
    assert "wang.fang" not in {u["username"] for u in admin.get("/api/users").json()}


def test_weak_passwords_are_refused_by_the_cli_and_when_changed(tmp_path):
    db = str(tmp_path / "cli.db")
    assert CliRunner().invoke(cli, ["init", "--db", db]).exit_code == 0
    for password in ("12345678", "aaaaaaaa", " " * 8, "password123"):
        made = CliRunner().invoke(
            cli, ["users", "create", "li.na", "--role", "clerk", "--password", password, "--db", db, "--json"]
        )
        assert made.exit_code == 1 and json.loads(made.output)["error"]["code"] in (
            "weak_password",
            "password_too_short",
        ), made.output
    made = CliRunner().invoke(
        cli, ["users", "create", "li.na", "--role", "clerk", "--password", PASSWORD, "--db", db, "--json"]
    )
    assert made.exit_code == 0, made.output
    from weixi.adapters.db import make_engine

    engine = make_engine(db)
    try:
        with pytest.raises(users.WeakPassword):
            users.set_password(engine, "li.na", "letmein123")
    finally:
        engine.dispose()


def test_the_demo_and_test_passwords_are_still_good(api):
    for username, password in (("wang.fang", users.DEMO_PASSWORD), ("li.na", PASSWORD), ("zhao.lei", "s3cret-pass")):
        r = api.client("admin").post("/api/users", json={"username": username, "password": password, "role": "clerk"})
        assert r.status_code == 201, r.text
