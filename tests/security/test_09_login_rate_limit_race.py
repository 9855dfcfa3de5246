"""Issue 16, item 9: the login rate limit holds under concurrency.

The attack: 40 wrong passwords for one username sent at once (from one address). Before the fix every one of them
was checked, because each request counted the earlier failures before any of them was written. Now an attempt is
counted before its password is checked, in one write transaction, so at most ``LOGIN_MAX_FAILURES`` (5) passwords
are checked and the rest are refused with 429, also when the requests are spread over two server processes.
"""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest

from tests.api.conftest import PASSWORD, make_api
from tests.conftest import BACKENDS
from tests.security.conftest import run_async
from weixi.api.app import create_app
from weixi.users import service as users

ATTEMPTS = 40


class SlowHasher:
    """The tests' cheap argon2id that counts the passwords it checks and takes a while over each, so that
    concurrent guesses are all in flight together (as they are against the real, slower hash)."""

    def __init__(self, inner):
        self.inner, self.checked, self.lock = inner, 0, threading.Lock()

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        with self.lock:
            self.checked += 1
        time.sleep(0.2)
        return self.inner.verify(hashed, password)


async def guess_all(apps, username: str, password: str) -> list[httpx.Response]:
    """``ATTEMPTS`` logins at once, spread over ``apps`` (server processes on one database), from one address."""
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("10.6.6.6", 40000)),
            base_url="https://testserver",
            timeout=60,
        )
        for app in apps
    ]
    try:
        return await asyncio.gather(
            *(
                clients[i % len(clients)].post("/api/auth/login", json={"username": username, "password": password})
                for i in range(ATTEMPTS)
            )
        )
    finally:
        for c in clients:
            await c.aclose()


def test_forty_concurrent_wrong_passwords_check_at_most_five(api, monkeypatch):
    hasher = SlowHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", hasher)
    answers = run_async(guess_all([api.app], "admin", "not the password"))
    statuses = sorted(r.status_code for r in answers)
    assert hasher.checked <= users.LOGIN_MAX_FAILURES
    assert statuses.count(401) == users.LOGIN_MAX_FAILURES and statuses.count(429) == ATTEMPTS - 5, statuses
    assert all(r.json()["error"]["code"] == "too_many_logins" for r in answers if r.status_code == 429)
    # the window is closed: even the right password is not checked now
    right = run_async(guess_all([api.app], "admin", PASSWORD))
    assert {r.status_code for r in right} == {429} and hasher.checked <= users.LOGIN_MAX_FAILURES


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_the_limit_holds_across_server_processes_on_one_database(db_url, tmp_path, monkeypatch):
    """`weixi serve --workers 2`: two apps, each with its own engine, share the count through the database."""
    first = make_api(tmp_path, db_url=db_url)
    second = create_app(db_url, str(first.data_dir))
    hasher = SlowHasher(users._hasher)
    monkeypatch.setattr(users, "_hasher", hasher)
    try:
        answers = run_async(guess_all([first.app, second], "clerk", "still not it"))
    finally:
        second.state.engine.dispose()
        first.engine.dispose()
    assert hasher.checked <= users.LOGIN_MAX_FAILURES
    assert sorted(r.status_code for r in answers).count(429) == ATTEMPTS - users.LOGIN_MAX_FAILURES
