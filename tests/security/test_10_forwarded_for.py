"""Issue 16, item 10: ``X-Forwarded-For`` is believed only from the proxies named in ``WEIXI_TRUSTED_PROXIES``.

The attack, against a real ``weixi serve`` on 127.0.0.1: every failed login claims another address in
``X-Forwarded-For``. Before the fix uvicorn believed the header from any local connection, so the rate limit never
locked (8 failures, no 429) and the audit log recorded the forged address. Now, with no trusted proxy (the
default), the address is the peer's own; with ``--trusted-proxies`` / ``WEIXI_TRUSTED_PROXIES`` naming the proxy,
the address it forwards is used.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import httpx

from tests.api.conftest import ROOT
from tests.api.test_serve import free_port
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.users import service as users

PASSWORD = "long enough 1"


@contextlib.contextmanager
def served(tmp_path, name: str, trusted: str | None = None):
    """`weixi serve` on a fresh database with one login (ops), as an httpx client of it."""
    db = tmp_path / f"{name}.db"
    engine = make_engine(str(db))
    schema.upgrade(engine)
    users.create_user(engine, "ops", PASSWORD, "analyst")
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if k != "WEIXI_TRUSTED_PROXIES"}
    if trusted is not None:
        env["WEIXI_TRUSTED_PROXIES"] = trusted
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "weixi",
            "serve",
            "--port",
            str(port),
            "--db",
            str(db),
            "--data",
            str(tmp_path),
            "--writer",
            "thread",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env=env,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20)
    try:
        for _ in range(300):  # bounded by attempts, not by a clock
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.1)
        else:
            raise AssertionError("weixi serve never answered")
        yield client, db
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def login(client, password: str, forwarded: str) -> httpx.Response:
    return client.post(
        "/api/auth/login", json={"username": "ops", "password": password}, headers={"X-Forwarded-For": forwarded}
    )


def audited_ips(db) -> list[str]:
    engine = make_engine(str(db))
    try:
        return [e["detail"]["ip"] for e in users.audit_entries(engine, action="login")]
    finally:
        engine.dispose()


def test_a_forged_forwarded_for_neither_dodges_the_rate_limit_nor_enters_the_audit(tmp_path):
    with served(tmp_path, "default") as (client, db):
        assert login(client, PASSWORD, "10.8.8.8").status_code == 200
        assert audited_ips(db) == ["127.0.0.1"]  # the connecting address, not the forged one
        answers = [login(client, "wrong password", f"10.8.8.{i}").status_code for i in range(8)]
    assert answers == [401] * users.LOGIN_MAX_FAILURES + [429] * (8 - users.LOGIN_MAX_FAILURES)


def test_behind_a_named_proxy_the_forwarded_address_counts(tmp_path):
    with served(tmp_path, "proxied", trusted="127.0.0.1") as (client, db):
        assert login(client, PASSWORD, "10.8.8.8").status_code == 200
        assert audited_ips(db) == ["10.8.8.8"]
        for _ in range(users.LOGIN_MAX_FAILURES):
            assert login(client, "wrong password", "10.9.9.9").status_code == 401
        assert login(client, PASSWORD, "10.9.9.9").status_code == 429  # that client is locked out...
        assert login(client, PASSWORD, "10.9.9.10").status_code == 200  # ...another behind the proxy is not
