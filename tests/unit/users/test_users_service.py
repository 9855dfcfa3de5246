"""The use cases of :mod:`weixi.users.service` against an in-memory repository (no database): creating logins,
refusals with their codes, deactivation, passwords, tokens, sessions, the login rate limit and the audit log. The
same use cases run on the real database in ``tests/api/test_auth.py`` and ``tests/api/test_cli_users.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.users.fakes import FakeUsers
from weixi.errors import Conflict, Invalid, NotFound
from weixi.users import service as users

GOOD = "correct horse battery"


@pytest.fixture
def repo() -> FakeUsers:
    return FakeUsers()


def test_create_user_stores_an_argon2_hash_not_the_password(repo):
    made = users.create_user(repo, "wang.fang", GOOD, "manager")
    assert made.username == "wang.fang" and made.role == "manager" and made.active
    assert users.get_user(repo, "wang.fang") == made
    hashed = repo.find("wang.fang")[1]
    assert hashed.startswith("$argon2id$") and GOOD not in hashed
    assert [u.username for u in users.list_users(repo)] == ["wang.fang"]


def test_a_duplicate_login_is_a_conflict(repo):
    users.create_user(repo, "wang.fang", GOOD, "clerk")
    with pytest.raises(users.UsernameTaken) as taken:
        users.create_user(repo, "wang.fang", GOOD, "agent")
    assert isinstance(taken.value, Conflict) and taken.value.status == 409
    assert taken.value.code == "username_taken" and taken.value.params == {"username": "wang.fang"}
    assert str(taken.value) == "username 'wang.fang' is taken"


@pytest.mark.parametrize(
    ("password", "code"),
    [("short1", "password_too_short"), ("password123", "weak_password"), ("wang.fang2026", "weak_password")],
)
def test_weak_passwords_are_refused_with_their_code(repo, password, code):
    with pytest.raises(users.WeakPassword) as weak:
        users.create_user(repo, "wang.fang", password, "clerk")
    assert weak.value.code == code and weak.value.status == 422 and isinstance(weak.value, ValueError)
    assert password not in str(weak.value)
    assert users.get_user(repo, "wang.fang") is None


@pytest.mark.parametrize(
    ("args", "code", "params"),
    [
        (("x", GOOD, "clerk"), "username_not_allowed", {"username": "x"}),
        (("ok.name", GOOD, "boss"), "unknown_role", {"role": "boss", "roles": list(users.ROLES)}),
        (("ok.name", GOOD, "member"), "member_login_needs_member_id", {}),
        (("ok.name", GOOD, "clerk", "M1"), "member_id_on_staff_login", {"role": "clerk"}),
    ],
)
def test_invalid_logins_are_refused_with_code_and_params(repo, args, code, params):
    with pytest.raises(users.UserError) as bad:
        users.create_user(repo, *args)
    assert isinstance(bad.value, Invalid) and (bad.value.code, bad.value.params) == (code, params)
    assert not repo.users


def test_deactivating_ends_sessions_and_stops_tokens_and_logins(repo):
    user = users.create_user(repo, "li.na", GOOD, "agent")
    sid, csrf = users.create_session(repo, user)
    token = users.issue_token(repo, user, "crm")
    assert users.session_user(repo, sid) == (user, csrf) and users.user_for_token(repo, token) == user
    users.set_active(repo, "li.na", False)
    assert users.session_user(repo, sid) is None and users.user_for_token(repo, token) is None
    assert users.authenticate(repo, "li.na", GOOD, "10.0.0.1") is None
    users.set_active(repo, "li.na", True)
    assert users.authenticate(repo, "li.na", GOOD, "10.0.0.1").username == "li.na"


def test_unknown_users_are_not_found(repo):
    for change in (lambda: users.set_active(repo, "ghost", False), lambda: users.set_password(repo, "ghost", GOOD)):
        with pytest.raises(users.UnknownUser) as missing:
            change()
        assert isinstance(missing.value, NotFound) and missing.value.params == {"username": "ghost"}


def test_reset_password(repo):
    users.create_user(repo, "li.na", GOOD, "clerk")
    with pytest.raises(users.WeakPassword):
        users.set_password(repo, "li.na", "letmein123")
    users.set_password(repo, "li.na", "another long phrase 7")
    assert users.authenticate(repo, "li.na", GOOD, "ip") is None
    assert users.authenticate(repo, "li.na", "another long phrase 7", "ip").username == "li.na"


def test_tokens_are_stored_as_digests_and_can_be_revoked_once(repo):
    user = users.create_user(repo, "li.na", GOOD, "clerk")
    token = users.issue_token(repo, user)
    assert token.startswith(users.TOKEN_PREFIX) and token not in repo.tokens
    assert users.user_for_token(repo, token) == user
    assert next(iter(repo.tokens.values()))["last"] is not None  # last use recorded
    assert users.user_for_token(repo, "not-a-token") is None
    assert users.revoke_token(repo, token) is True and users.revoke_token(repo, token) is False
    assert users.user_for_token(repo, token) is None


def test_sessions_expire(repo):
    user = users.create_user(repo, "li.na", GOOD, "clerk")
    sid, _ = users.create_session(repo, user)
    digest = next(iter(repo.sessions))
    user_id, csrf, expires = repo.sessions[digest]
    repo.sessions[digest] = (user_id, csrf, expires - users.SESSION_LIFETIME - timedelta(seconds=1))
    assert users.session_user(repo, sid) is None
    users.end_session(repo, sid)
    assert not repo.sessions


def test_the_login_rate_limit_counts_per_username_and_address(repo):
    users.create_user(repo, "admin", GOOD, "admin")
    for _ in range(users.LOGIN_MAX_FAILURES):
        assert users.authenticate(repo, "admin", "guess", "10.6.6.6") is None
    with pytest.raises(users.LoginRateLimited) as limited:
        users.authenticate(repo, "admin", GOOD, "10.6.6.6")
    assert 1 <= limited.value.retry_after <= users.LOGIN_WINDOW.total_seconds() + 1
    assert users.authenticate(repo, "admin", GOOD, "10.0.0.2").username == "admin"
    assert users.failures(repo, "admin", "10.0.0.2")[0] == 0  # a success clears that address's failures


def test_audit_log_newest_first_and_filtered(repo):
    user = users.create_user(repo, "li.na", GOOD, "clerk")
    users.audit(repo, user, "login", "li.na", {"ip": "1.2.3.4"})
    users.audit(repo, None, "user.create", "wang.fang")
    assert [e["action"] for e in users.audit_entries(repo)] == ["user.create", "login"]
    assert users.audit_entries(repo, username="li.na")[0]["detail"] == {"ip": "1.2.3.4"}


def test_demo_logins_are_made_once(repo):
    first = users.ensure_demo_users(repo, "M0000000002")
    assert [r["role"] for r in first] == list(users.ROLES) and all(r["created"] for r in first)
    assert not any(r["created"] for r in users.ensure_demo_users(repo, "M0000000002"))
    assert users.get_user(repo, "member").member_id == "M0000000002"


# -- one staff id for a login (issue 19 §12) -------------------------------------------------------------------


def test_a_login_acts_as_its_staff_id_on_the_roster_else_as_its_username(repo):
    repo.roster = frozenset({"S000003", "S000010"})
    wang = users.create_user(repo, "wang.fang", GOOD, "clerk", staff_id=" S000003 ")
    assert (wang.staff_id, wang.staff) == ("S000003", "S000003")
    assert users.get_user(repo, "wang.fang").staff == "S000003"
    plain = users.create_user(repo, "S000010", GOOD, "manager")
    assert (plain.staff_id, plain.staff) == (None, "S000010")  # the username is the staff id
    assert users.set_staff_id(repo, "wang.fang", "").staff == "wang.fang"  # unlinked


def test_a_staff_id_must_be_on_the_roster_and_belong_to_one_login(repo):
    repo.roster = frozenset({"S000003", "S000010"})
    with pytest.raises(users.UserError) as unknown:
        users.create_user(repo, "wang.fang", GOOD, "clerk", staff_id="S999")
    assert unknown.value.code == "user_staff_not_on_roster" and unknown.value.params == {"staff": "S999"}
    assert users.get_user(repo, "wang.fang") is None  # nothing created
    users.create_user(repo, "wang.fang", GOOD, "clerk", staff_id="S000003")
    with pytest.raises(users.StaffIdTaken) as taken:
        users.create_user(repo, "li.qiang", GOOD, "agent", staff_id="S000003")
    assert isinstance(taken.value, Conflict) and taken.value.params == {"staff": "S000003", "username": "wang.fang"}
    with pytest.raises(users.StaffIdTaken):  # a login named as the staff id would act as S000003 too
        users.create_user(repo, "S000003", GOOD, "clerk")
    users.create_user(repo, "S000010", GOOD, "manager")
    with pytest.raises(users.StaffIdTaken) as named:  # S000010 is the login S000010's (its username)
        users.set_staff_id(repo, "wang.fang", "S000010")
    assert named.value.params["username"] == "S000010"
    with pytest.raises(users.UserError) as member:
        users.create_user(repo, "m1", GOOD, "member", "M1", staff_id="S000010")
    assert member.value.code == "user_staff_id_on_member_login"
    with pytest.raises(users.UnknownUser):
        users.set_staff_id(repo, "nobody", "S000003")
