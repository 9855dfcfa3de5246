"""Issue 16, item 2: ``attrs`` nested ~600 levels in ``POST /api/events`` raised RecursionError while the batch was
pickled for the writer process; every request staged in that pass of the event loop then waited for ever (29 of 30
concurrent redemptions of another user hung) and ``weixi serve`` ignored SIGTERM.

Now ``attrs`` has depth, key-count and size limits (422 naming the field); a request that cannot be handed to the
writer fails alone (5xx in the envelope) and the writer serves the next ones; no request waits longer than the
writer timeout (504); and ``weixi serve`` stops within 5 s of SIGTERM with requests pending."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import httpx
import pytest

from tests.api.conftest import MEMBER, OTHER, PLAN, ROOT
from tests.e2e.cli_helpers import weixi
from tests.security.conftest import assert_envelope, run_async
from weixi.adapters.db import make_engine
from weixi.api.app import create_app
from weixi.ledger import events as ledger_events
from weixi.ledger.posting import post_events
from weixi.plans import service as plans
from weixi.users import service as users

WAIT = 60  # the test's own bound on any answer: an answer that never comes fails the test, it does not hang it


def nested(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def bill(event_id: str, member: str = MEMBER, attrs: dict | None = None) -> dict:
    return {
        "event_id": event_id,
        "member_id": member,
        "type": "bill",
        "occurred_at": "2026-11-01T10:00:00+08:00",
        "amount": "100.00",
        **({"attrs": attrs} if attrs is not None else {}),
    }


@pytest.mark.parametrize(
    "attrs, problem",
    [
        (nested(600), "nested deeper than 8 levels"),
        ({"k": [[[[[[[[["x"]]]]]]]]]}, "nested deeper than 8 levels"),
        ({f"k{i}": i for i in range(101)}, "more than 100 keys"),
        ({"note": "x" * 9000}, "larger than 8192 bytes"),
    ],
)
def test_oversized_attrs_are_refused_422_naming_the_field(api, attrs, problem):
    r = api.client("admin").post("/api/events", json={"events": [bill("ok-1"), bill("deep-1", attrs=attrs)]})
    err = assert_envelope(r, 422, "invalid_request")
    assert [(d["field"], problem in d["message"]) for d in err["details"]] == [("events.1.attrs", True)]
    again = api.client("admin").post("/api/events", json={"events": [bill("ok-1")]})
    assert again.json()["posted"] == 1  # the refused request posted nothing


def test_ordinary_attrs_still_post(api):
    attrs = {"service_type": "mobile", "channel": {"store": "S1", "tags": ["a", "b"]}, "score": 5}
    r = api.client("admin").post("/api/events", json={"events": [bill("fine-1", attrs=attrs)]})
    assert r.status_code == 200 and r.json()["posted"] == 1, r.text


def test_an_event_file_with_deep_attrs_rejects_those_rows_and_posts_the_rest(tmp_path):
    from typer.testing import CliRunner

    import weixi.cli  # noqa: F401  registers the commands
    from weixi.adapters.schema import upgrade
    from weixi.cli.app import app as cli

    db = str(tmp_path / "cli.db")
    engine = make_engine(db)
    upgrade(engine)
    plans.apply_plan(engine, PLAN)
    engine.dispose()
    lines = [json.dumps(bill(f"good-{i}")) for i in range(20)]
    lines.insert(3, json.dumps(bill("deep-object", attrs=nested(600))))
    lines.insert(6, json.dumps(bill("deep-text") | {"attrs": json.dumps(nested(900))}))
    lines.insert(9, json.dumps(bill("deeper-line"))[:-1] + ', "attrs": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}")
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["events", "post", str(path), "--db", db, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    out = json.loads(result.output)
    assert (out["posted"], out["rejected"]) == (20, 3)
    assert (tmp_path / "events.jsonl.rejected.csv").exists()


@pytest.fixture
def process_api(tmp_path):
    """The app as ``weixi serve`` runs it: the group-commit writer in a process of its own."""
    app = create_app(str(tmp_path / "p.db"), str(tmp_path), writer="process")
    plans.apply_plan(app.state.engine, PLAN)
    token = users.issue_token(app.state.engine, users.create_user(app.state.engine, "ops", "long enough 1", "admin"))
    yield app, token
    app.state.committer.close()
    app.state.engine.dispose()


def run(app, token: str, scenario):
    async def main():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            timeout=WAIT,
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            return await asyncio.wait_for(scenario(client), WAIT)

    return run_async(main())


def test_a_request_the_writer_process_cannot_take_fails_alone(process_api, monkeypatch):
    """The issue's attack, with the attrs limit out of the way (as if a future field were unchecked): the deep
    request and 29 concurrent redemptions of another member reach the writer in the same pass of the loop."""
    app, token = process_api
    monkeypatch.setattr("weixi.api.routes.ledger.attrs_problem", lambda value: None, raising=False)
    monkeypatch.setattr(ledger_events, "attrs_problem", lambda value: None, raising=False)
    post_events(app.state.engine, [])  # the plan's zone is cached by the first request below

    async def scenario(client):
        await client.post("/api/events", json={"events": [bill("seed", OTHER) | {"amount": "30000.00"}]})
        deep = client.post("/api/events", json={"events": [bill("deep", attrs=nested(600))]})
        redeems = [
            client.post(
                "/api/redemptions", json={"member_id": OTHER, "reward_id": "bill-credit", "request_id": f"r{i}"}
            )
            for i in range(29)
        ]
        answers = await asyncio.gather(deep, *redeems)
        after = await client.post("/api/events", json={"events": [bill("after")]})
        return answers, after

    (deep, *redeems), after = run(app, token, scenario)
    err = assert_envelope(deep, 500, "write_failed")
    assert "RecursionError" not in err["message"]
    assert [r.status_code for r in redeems] == [201] * 29
    assert after.status_code == 200 and after.json()["posted"] == 1  # the writer keeps serving


def test_a_request_that_cannot_cross_the_pipe_fails_alone_from_plain_threads_too(process_api):
    """The same hand-over driven by threads (``submit``/``post``, no event loop): the deep request fails with
    ``write_failed``, the one sent with it posts, and the writer serves the next."""
    from concurrent.futures import wait

    from weixi.adapters.writer import WriterError
    from weixi.ledger.events import Event, parse_event

    app, _ = process_api
    committer = app.state.committer
    good = parse_event(bill("thread-good"), committer.zone())
    deep = Event("thread-deep", MEMBER, "bill", good.occurred_at, good.day, 10_000, attrs=nested(600))
    futures = [committer.submit([deep]), committer.submit([good])]
    wait(futures, timeout=WAIT)
    assert all(f.done() for f in futures)
    error = futures[0].exception()
    assert isinstance(error, WriterError) and (error.status, error.code) == (500, "write_failed")
    assert futures[1].result()[0].status == "posted"
    assert committer.post([parse_event(bill("thread-after"), committer.zone())])[0].status == "posted"


def test_a_writer_that_does_not_answer_gives_504_not_a_hang(process_api):
    app, token = process_api
    committer = app.state.committer
    committer.timeout = 1.0  # seconds (30 by default)
    pid = committer.stats()["writer_process"]
    os.kill(pid, signal.SIGSTOP)  # the writer takes the request and never answers
    try:

        async def scenario(client):
            return await client.post("/api/events", json={"events": [bill("stuck")]})

        err = assert_envelope(run(app, token, scenario), 504, "write_timeout")
        assert "retry with the same ids" in err["message"]
    finally:
        os.kill(pid, signal.SIGCONT)
    committer.timeout = WAIT

    async def again(client):
        return await client.post("/api/events", json={"events": [bill("stuck")]})

    retry = run(app, token, again)  # the retry with the same id: posted once, whatever became of the first
    assert retry.status_code == 200 and retry.json()["posted"] + len(retry.json()["duplicates"]) == 1


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_stops_within_5_s_of_sigterm_with_requests_pending(tmp_path):
    db = tmp_path / "serve.db"
    weixi("init", "--db", db)  # in-process: this test is about the server's process, not init's
    engine = make_engine(str(db))
    plans.apply_plan(engine, PLAN)
    token = users.issue_token(engine, users.create_user(engine, "ops", "long enough 1", "admin"))
    engine.dispose()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "weixi", "serve", "--port", str(port), "--db", str(db), "--data", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    answers: list = []

    def post(event_id: str) -> None:
        body = json.dumps({"events": [bill(event_id)]}).encode()
        req = urllib.request.Request(
            base + "/api/events",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=WAIT) as r:
                answers.append(r.status)
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, json.loads(exc.read())["error"]["code"]))
        except OSError as exc:  # the connection closed as the server stopped
            answers.append(type(exc).__name__)

    lock = None
    try:
        for _ in range(300):  # bounded by attempts
            try:
                urllib.request.urlopen(base + "/api/health", timeout=10).read()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                time.sleep(0.1)
        else:
            raise AssertionError("weixi serve never answered")
        post("warm-up")
        assert answers == [200]
        lock = sqlite3.connect(db, timeout=10)
        lock.execute("BEGIN EXCLUSIVE")  # the writer now waits for the database: requests pile up
        clients = [threading.Thread(target=post, args=(f"pending-{i}",)) for i in range(5)]
        for c in clients:
            c.start()
        time.sleep(1.0)  # let them reach the writer (not an assertion: the bound below is what is tested)
        assert len(answers) == 1  # still waiting
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            raise AssertionError("weixi serve did not stop within 5 s of SIGTERM") from None
        for c in clients:
            c.join(WAIT)
        assert len(answers) == 6
        assert all(a == (503, "writer_unavailable") or isinstance(a, str) for a in answers[1:]), answers
    finally:
        if lock is not None:
            lock.rollback()
            lock.close()
        if server.poll() is None:
            server.kill()
            server.wait()
