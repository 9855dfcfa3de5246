"""A member logs in with their phone number and a one-time SMS code (issue 18 §1 "Member"; docs/security.md,
"Member login by SMS code"). Written as the attacks: guessing the code, replaying it, waiting it out, flooding a
number with texts, finding out which numbers are members', posting the form from another site. The code is read
from the messaging outbox (there is no SMS gateway in the tests)."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import BACKENDS
from tests.console import conftest as console_fixtures
from tests.console import operator as op
from tests.console.conftest import Console, csrf_of
from weixi.adapters import archive
from weixi.adapters.sql import execute
from weixi.members import otp
from weixi.users import service as users

UNKNOWN = "13900000000"
# the console tests' operator (300 members with phone numbers) and app over a copy of it, for each test
base_operator, operator, app = console_fixtures.base_operator, console_fixtures.operator, console_fixtures.app


def phone_of(app, member_id: str) -> str:
    return archive.members_lookup(app.state.data_dir, member_id)["phone"]


def sms_form(c: Console) -> str:
    page = c.get("/login/sms")
    assert page.status_code == 200
    return csrf_of(page.text)


def ask_code(c: Console, phone: str, **headers):
    return c.http.post("/login/sms/code", data={"phone": phone, "csrf_token": sms_form(c), "next": ""}, headers=headers)


def send_login(c: Console, phone: str, code: str):
    return c.http.post("/login/sms", data={"phone": phone, "code": code, "csrf_token": sms_form(c), "next": ""})


def outbox(app, phone: str) -> list[tuple[str, str]]:
    with app.state.engine.connect() as conn:
        return [
            (r[0], r[1])
            for r in execute(
                conn, "SELECT body, purpose FROM msg_outbox WHERE recipient = ? ORDER BY message_id", [phone]
            )
        ]


def code_in(body: str) -> str:
    return re.search(r"\b(\d{6})\b", body).group(1)


def codes(app) -> list[dict]:
    with app.state.engine.connect() as conn:
        rows = execute(conn, "SELECT member_id, code_hash, attempts, used_at, expires_at, created_at FROM login_codes")
    return [dict(zip(("member_id", "code_hash", "attempts", "used_at", "expires_at", "created_at"), r)) for r in rows]


def audit(app, action: str) -> list[dict]:
    return [e for e in users.audit_entries(app.state.engine, 100) if e["action"] == action]


def test_a_member_logs_in_with_the_code_sent_through_the_outbox(app):
    phone = phone_of(app, op.MEMBER)
    c = Console(app)
    r = ask_code(c, phone)
    assert r.status_code == 200 and "如该号码为会员手机号码，6 位验证码已通过短信发送，5 分钟内有效。" in r.text
    [(body, purpose)] = outbox(app, phone)
    assert purpose == "login" and body.startswith("【维系】您的登录验证码为 ") and "5 分钟内有效" in body
    code = code_in(body)
    [row] = codes(app)
    assert row["member_id"] == op.MEMBER and row["code_hash"].startswith("$argon2id$") and code not in row["code_hash"]
    r = send_login(c, phone, code)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    me = c.get("/me")
    assert me.status_code == 200 and 'id="referral-code"' in me.text
    assert [e["subject"] for e in audit(app, "login.sms_code")] == [op.MEMBER]
    [login] = [e for e in audit(app, "login") if e["detail"].get("via") == "sms"]
    assert login["username"] == op.LOGINS["member"] and login["role"] == "member"


def test_the_answer_is_the_same_whether_or_not_the_number_is_a_members(app):
    known, unknown = Console(app), Console(app)
    a, b = ask_code(known, phone_of(app, op.MEMBER)), ask_code(unknown, UNKNOWN)
    assert a.status_code == b.status_code == 200
    notice = re.compile(r'<p class="alert ok" role="status" id="login-notice">([^<]+)</p>')
    assert notice.search(a.text).group(1) == notice.search(b.text).group(1)
    assert outbox(app, UNKNOWN) == []  # nothing is sent to a number no member has
    # the throttle is the same too: a second code within the minute is refused for both
    a2, b2 = ask_code(known, phone_of(app, op.MEMBER)), ask_code(unknown, UNKNOWN)
    assert a2.status_code == b2.status_code == 429
    assert a2.headers["retry-after"] and b2.headers["retry-after"]
    # and logging in with a guess fails the same way
    wrong = re.compile(r'id="login-error">([^<]+)<')
    ka, kb = send_login(known, phone_of(app, op.MEMBER), "000000"), send_login(unknown, UNKNOWN, "000000")
    assert ka.status_code == kb.status_code == 401 and wrong.search(ka.text).group(1) == wrong.search(kb.text).group(1)


def test_a_code_is_good_once(app):
    phone = phone_of(app, op.MEMBER)
    c = Console(app)
    ask_code(c, phone)
    code = code_in(outbox(app, phone)[-1][0])
    assert send_login(c, phone, code).status_code == 303
    replay = send_login(Console(app), phone, code)
    assert replay.status_code == 401 and "验证码错误或已过期。" in replay.text


def test_a_code_is_good_for_five_minutes(app):
    phone = phone_of(app, op.MEMBER)
    six_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=6)
    otp.request_code(app.state.engine, app.state.data_dir, phone, "testclient", now=six_minutes_ago)
    code = code_in(outbox(app, phone)[-1][0])
    r = send_login(Console(app), phone, code)
    assert r.status_code == 401 and "验证码错误或已过期。" in r.text
    # the same code inside its five minutes was good: the refusal above is the clock's
    user = otp.log_in(
        app.state.engine, phone, code, "testclient", now=six_minutes_ago + timedelta(minutes=4, seconds=59)
    )
    assert user.member_id == op.MEMBER


def test_five_wrong_codes_spend_the_code(app):
    phone = phone_of(app, op.MEMBER)
    c = Console(app)
    ask_code(c, phone)
    code = code_in(outbox(app, phone)[-1][0])
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    said = [send_login(c, phone, wrong) for _ in range(5)]
    assert [r.status_code for r in said] == [401] * 5
    assert all("验证码错误或已过期。" in r.text for r in said[:4]) and "验证码已输错 5 次，已失效。" in said[4].text
    r = send_login(c, phone, code)  # the right code after five wrong ones: too late
    assert r.status_code == 401 and codes(app)[0]["used_at"] is None and codes(app)[0]["attempts"] == 5
    assert c.get("/me").status_code in (303, 401)


def test_concurrent_guesses_cannot_overtake_the_count(app):
    phone = phone_of(app, op.MEMBER)
    otp.request_code(app.state.engine, app.state.data_dir, phone, "testclient")
    code = code_in(outbox(app, phone)[-1][0])
    refused = []

    def guess(n: int) -> None:
        try:
            otp.log_in(app.state.engine, phone, f"{(int(code) + n) % 10**6:06d}", "testclient")
        except otp.CodeRefused as exc:
            refused.append(exc.code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(1, 13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(refused) == 12 and codes(app)[0]["attempts"] == 5  # five checked, seven refused unchecked
    with pytest.raises(otp.CodeRefused):
        otp.log_in(app.state.engine, phone, code, "testclient")


def test_codes_are_throttled_per_number_and_per_hour(app):
    engine, data, phone = app.state.engine, app.state.data_dir, phone_of(app, op.MEMBER)
    start = datetime.now(timezone.utc) - timedelta(minutes=30)
    otp.request_code(engine, data, phone, "10.0.0.1", now=start)
    with pytest.raises(otp.CodeThrottled) as soon:
        otp.request_code(engine, data, phone, "10.0.0.2", now=start + timedelta(seconds=30))  # another address too
    assert soon.value.code == "sms_code_wait" and soon.value.params["retry_after"] == 31
    for n in range(1, 5):
        otp.request_code(engine, data, phone, "10.0.0.1", now=start + timedelta(minutes=n))
    with pytest.raises(otp.CodeThrottled) as many:
        otp.request_code(engine, data, phone, "10.0.0.1", now=start + timedelta(minutes=10))
    assert many.value.code == "sms_code_too_many" and len(outbox(app, phone)) == 5
    r = ask_code(Console(app), phone)
    assert r.status_code == 429 and "该号码获取验证码次数过多（每小时最多 5 次），请稍后再试。" in r.text


def test_the_form_from_another_site_or_without_the_token_sends_nothing(app):
    phone = phone_of(app, op.MEMBER)
    c = Console(app)
    sms_form(c)
    assert c.http.post("/login/sms/code", data={"phone": phone}).status_code == 403
    assert ask_code(c, phone, origin="https://evil.example").status_code == 403
    assert c.http.post("/login/sms", data={"phone": phone, "code": "123456"}).status_code == 403
    assert outbox(app, phone) == [] and codes(app) == []


def test_a_member_without_a_login_gets_one_without_a_password_and_a_deactivated_login_stays_out(app):
    phone = phone_of(app, op.OTHER)
    c = Console(app)
    ask_code(c, phone)
    assert send_login(c, phone, code_in(outbox(app, phone)[-1][0])).status_code == 303
    made = users.get_user(app.state.engine, f"m-{op.OTHER}")
    assert made is not None and made.role == "member" and made.member_id == op.OTHER
    assert users.authenticate(app.state.engine, made.username, "!sms-login-only", "testclient") is None
    users.set_active(app.state.engine, made.username, False)
    later = datetime.now(timezone.utc) + timedelta(minutes=2)
    otp.request_code(app.state.engine, app.state.data_dir, phone, "testclient", now=later)
    with pytest.raises(otp.CodeRefused):
        otp.log_in(app.state.engine, phone, code_in(outbox(app, phone)[-1][0]), "testclient", now=later)


def test_a_number_that_is_not_a_mobile_number_is_refused_before_anything_is_stored(app):
    for bad in ("12345", "23812345678", "1381234567x", ""):
        r = ask_code(Console(app), bad)
        assert r.status_code == 422 and "请输入 11 位手机号码，例如 13812345678。" in r.text
    assert otp.normalize_phone("+86 138-1234-5678") == "13812345678"
    assert codes(app) == []


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_count_of_tries_holds_on_each_database(engine, monkeypatch, tmp_path):
    """The same race on a bare ledger, SQLite and PostgreSQL (its advisory lock): twelve concurrent guesses, five
    checked. The number's member comes from a stub (no archive here)."""
    monkeypatch.setattr(otp, "member_of_phone", lambda data_dir, engine, phone: "M1")
    otp.request_code(engine, tmp_path, "13812345678", "10.0.0.9")
    with engine.connect() as conn:
        body = execute(conn, "SELECT body FROM msg_outbox WHERE recipient = ?", ["13812345678"])[0][0]
    code = code_in(body)
    refused = []

    def guess(n: int) -> None:
        try:
            otp.log_in(engine, "13812345678", f"{(int(code) + n) % 10**6:06d}", "10.0.0.9")
        except otp.CodeRefused as exc:
            refused.append(exc.code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(1, 13)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        assert execute(conn, "SELECT attempts, used_at FROM login_codes", [])[0] == (5, None)
    assert len(refused) == 12 and refused.count("sms_code_attempts_spent") == 8  # the 5th check and the 7 unchecked
    with pytest.raises(otp.CodeRefused):
        otp.log_in(engine, "13812345678", code, "10.0.0.9")
