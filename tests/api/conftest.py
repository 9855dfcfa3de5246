"""Fixtures of the API tests: an app on a fresh SQLite ledger with the telecom example plan, one login per role,
and TestClients that authenticate with API tokens. Everything runs in-process (no server, no network)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from argon2 import PasswordHasher

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
from fastapi.testclient import TestClient  # noqa: E402

from weixi.api.app import create_app  # noqa: E402
from weixi.plans import service as plans  # noqa: E402
from weixi.users import service as users  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "plans" / "examples" / "telecom-points.yaml"
MEMBER = "M0000000002"
OTHER = "M0000000003"
PASSWORD = "correct horse 1"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """Argon2id with small parameters: the same code path, a fraction of the CPU (tests only)."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@dataclass
class Api:
    app: object
    engine: object
    data_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list = field(default_factory=list)

    def client(self, role: str | None = None, **kwargs) -> TestClient:
        """A client authenticated as the demo login of ``role`` (by API token), or anonymous."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        c = TestClient(self.app, headers=headers, raise_server_exceptions=False, **kwargs)
        self.clients.append(c)
        return c

    def post_points(self, member_id: str, yuan: str, event_id: str) -> None:
        """Give a member points through the API: a bill (10 yuan = 1 point in the telecom plan)."""
        r = self.client("admin").post(
            "/api/events",
            json={
                "events": [
                    {
                        "event_id": event_id,
                        "member_id": member_id,
                        "type": "bill",
                        "occurred_at": "2026-11-01T10:00:00+08:00",
                        "amount": yuan,
                    }
                ]
            },
        )
        assert r.status_code == 200 and r.json()["posted"] == 1, r.text


def make_api(
    tmp_path: Path, data_dir: Path | None = None, secure_cookies: bool = True, db_url: str | None = None
) -> Api:
    data = data_dir or tmp_path / "data"
    data.mkdir(exist_ok=True)
    app = create_app(db_url or str(tmp_path / "api.db"), str(data), secure_cookies=secure_cookies)
    engine = app.state.engine
    plans.apply_plan(engine, PLAN)
    api = Api(app, engine, data)
    for role in users.ROLES:
        user = users.create_user(engine, role, PASSWORD, role, MEMBER if role == "member" else None)
        api.tokens[role] = users.issue_token(engine, user, "tests")
    return api


@pytest.fixture
def api(tmp_path):
    built = make_api(tmp_path)
    yield built
    for c in built.clients:
        c.close()
    built.engine.dispose()


def assert_envelope(response, status: int, code: str | None = None, **params) -> dict:
    """The one error shape: {"error": {"code", "message", "params", "where", "details"}} and nothing else; no
    traceback. ``params``: values the error's params must hold."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"code", "message", "params", "where", "details"}
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["params"], dict)
    assert err["where"] is None or isinstance(err["where"], dict)
    assert isinstance(err["details"], list)
    for key, value in params.items():
        assert err["params"].get(key) == value, err
    assert "Traceback" not in response.text
    if code is not None:
        assert err["code"] == code, err
    return err


@pytest.fixture(scope="session")
def operator_dir(tmp_path_factory) -> Path:
    """A tiny generated operator (``weixi generate --members 300 --months 3``), shared read-only by the tests."""
    from weixi.generator.run import GenerateConfig, generate

    out = tmp_path_factory.mktemp("operator") / "op"
    generate(GenerateConfig(members=300, months=3, seed=7, out=str(out), end_month="2026-10"))
    return out


@pytest.fixture
def operator_api(tmp_path, operator_dir):
    """An app over a copy of the generated operator (closes write snapshots into the data directory)."""
    import shutil

    data = tmp_path / "op"
    shutil.copytree(operator_dir, data)
    built = make_api(tmp_path, data)
    yield built
    for c in built.clients:
        c.close()
    built.engine.dispose()
