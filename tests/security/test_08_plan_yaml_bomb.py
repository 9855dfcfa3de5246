"""Issue 16, item 8: a plan file of a few hundred bytes with nested YAML anchors ("billion laughs") expanded ten
times per level and held the CPU for seconds, slowing every other request. Anchors and aliases are refused with a
located diagnostic, plan files have a size limit, and a plan check in the server never blocks other requests."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
from typer.testing import CliRunner

import weixi.cli  # noqa: F401  registers the commands
from tests.security.conftest import assert_envelope, run_async
from weixi.cli.app import app as cli
from weixi.console import plans as console_plans
from weixi.plans import loader


def bomb(levels: int) -> str:
    """A plan whose anchors nest ``levels`` deep: 10**levels strings once expanded (~50 bytes per level)."""
    lines = ["plan: bomb", "name: Bomb", 'x0: &x0 ["l","l","l","l","l","l","l","l","l","l"]']
    lines += [f"x{i}: &x{i} [" + ",".join([f"*x{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_the_api_refuses_an_anchor_bomb_at_its_line_and_column(api):
    text = bomb(5)  # 100,000 strings once expanded; each further level costs ten times as much
    client = api.client("admin")
    r = client.post("/api/plans/check", json={"text": text, "filename": "bomb.yaml"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is False
    [found] = [d for d in body["diagnostics"] if "anchors and aliases" in d["message"]]
    assert (found["file"], found["line"], found["column"], found["severity"]) == ("bomb.yaml", 3, 5, "error")
    err = assert_envelope(client.post("/api/plans/apply", json={"text": text}), 422, "plan_invalid")
    assert any("anchors and aliases" in d["message"] for d in err["details"])


def test_a_merge_key_alias_is_refused_too():
    _, diags = loader.load_plan_text("plan: p\nname: &n N\nother:\n  <<: *n\n", "merge.yaml")
    assert [(d.line, d.column) for d in diags if "anchors and aliases" in d.message] == [(2, 7)]


def test_a_plan_file_over_1_mib_is_refused_unparsed(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("plan: huge\nname: Huge\n" + "# padding\n" * 110_000, encoding="utf-8")
    assert path.stat().st_size > 1024 * 1024
    _, diags = loader.load_plan(path)
    assert [(d.line, d.column, d.severity) for d in diags] == [(1, 1, "error")]
    assert "larger than 1 MiB" in diags[0].message
    result = CliRunner().invoke(cli, ["plan", "check", str(path), "--json"])
    assert result.exit_code == 1
    assert "larger than 1 MiB" in json.dumps(json.loads(result.output))


def test_deep_nesting_is_a_diagnostic_not_a_crash():
    _, diags = loader.load_plan_text("plan: p\nname: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")
    assert any(d.is_error and "nested deeper" in d.message and d.line == 2 for d in diags)


def _health_during_a_check(api, monkeypatch, path: str, form: bool) -> bool:
    """Check a plan while ``/api/health`` is asked; the check (held until health answered, at most 10 s) reports
    whether health answered while it ran. A check run on the event loop holds the loop, so health cannot answer."""
    checking, answered = threading.Event(), threading.Event()
    waited: list[bool] = []
    real = loader.load_plan_text

    def held(text, name):
        checking.set()
        waited.append(answered.wait(10))
        return real(text, name)

    monkeypatch.setattr(console_plans, "load_plan_text", held)
    monkeypatch.setattr("weixi.api.routes.plans.load_plan_text", held)

    async def scenario():
        transport = httpx.ASGITransport(app=api.app)
        headers = {"Authorization": f"Bearer {api.tokens['admin']}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            text = "plan: p\nname: P\n"
            post = client.post(path, data={"text": text}) if form else client.post(path, json={"text": text})
            check = asyncio.create_task(post)
            for _ in range(1000):  # until the check runs (bounded)
                if checking.is_set() or check.done():
                    break
                await asyncio.sleep(0.01)
            health = await client.get("/api/health")
            answered.set()
            assert health.status_code == 200
            response = await asyncio.wait_for(check, 30)
            assert response.status_code in (200, 422), response.text

    run_async(scenario())
    return waited == [True]


def test_health_answers_while_the_api_checks_a_plan(api, monkeypatch):
    assert _health_during_a_check(api, monkeypatch, "/api/plans/check", form=False)


def test_health_answers_while_the_console_checks_a_plan(api, monkeypatch):
    assert _health_during_a_check(api, monkeypatch, "/plans/check", form=True)
