"""`weixi serve` as a real server on 127.0.0.1: starts, answers over HTTP, stops."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.api.conftest import PLAN, ROOT
from tests.e2e.cli_helpers import weixi
from weixi.adapters.db import make_engine
from weixi.plans.service import apply_plan
from weixi.users import service as users


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str | None = None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers, r.read()


def test_serve_answers_on_loopback_and_stops(tmp_path, workers=1):
    db = tmp_path / "serve.db"
    weixi("init", "--db", db)  # in-process: this test is about the server's process, not init's
    engine = make_engine(str(db))
    apply_plan(engine, PLAN)
    token = users.issue_token(engine, users.create_user(engine, "ops", "long enough 1", "analyst"))
    engine.dispose()
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
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # bounded by attempts, not by a clock
            try:
                status, _, body = get(base + "/api/health")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.1)
        else:
            raise AssertionError("weixi serve never answered")
        assert status == 200 and json.loads(body)["status"] == "ok"
        status, headers, body = get(base + "/api/catalogue", token)
        assert status == 200 and [r["reward_id"] for r in json.loads(body)["rewards"]][0] == "bill-credit"
        assert headers["x-content-type-options"] == "nosniff"
        status, _, body = get(base + "/docs")
        assert status == 200 and b"/static/swagger-ui/swagger-ui-bundle.js" in body
        with pytest.raises(urllib.error.HTTPError) as denied:
            get(base + "/api/users", token)
        assert denied.value.code == 403 and json.loads(denied.value.read())["error"]["code"] == "forbidden"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode is not None


def test_worker_processes_build_their_app_from_the_environment(tmp_path, monkeypatch):
    """`weixi serve --workers N` hands the settings to uvicorn's workers through the environment."""
    from fastapi.testclient import TestClient

    from weixi.api.app import app_from_env

    db = tmp_path / "w.db"
    monkeypatch.setenv("WEIXI_DB", str(db))
    monkeypatch.setenv("WEIXI_DATA", str(tmp_path))
    monkeypatch.setenv("WEIXI_SECURE_COOKIES", "0")
    app = app_from_env()
    assert app.state.data_dir == tmp_path and app.state.secure_cookies is False
    users.create_user(app.state.engine, "wu", "long enough 1", "clerk")
    with TestClient(app) as c:
        cookie = c.post("/api/auth/login", json={"username": "wu", "password": "long enough 1"}).headers["set-cookie"]
    assert "secure" not in cookie.lower()
    app.state.engine.dispose()
