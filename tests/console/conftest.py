"""Fixtures of the console tests: the tiny operator (built once per session) copied for each test, an app over
it, and TestClients logged in through the console's login form (session cookie + CSRF token)."""

from __future__ import annotations

import re
import warnings

import pytest

warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
from fastapi.testclient import TestClient  # noqa: E402

from tests.console import operator as op  # noqa: E402
from weixi.api.app import create_app  # noqa: E402
from weixi.users import service as users  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def base_operator(tmp_path_factory) -> op.Operator:
    return op.shared(tmp_path_factory)


@pytest.fixture
def operator(base_operator, tmp_path) -> op.Operator:
    return base_operator.copy_to(tmp_path / "copy")


@pytest.fixture
def app(operator, monkeypatch):
    monkeypatch.setattr(users, "_hasher", op.cheap_hasher())
    application = create_app(str(operator.db), str(operator.data), secure_cookies=False)
    yield application
    application.state.engine.dispose()


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token in the page"
    return found.group(1)


class Console:
    """A browser-like client of the console: cookies kept, forms posted with the page's CSRF token."""

    def __init__(self, app):
        self.http = TestClient(app, raise_server_exceptions=False, follow_redirects=False)

    def get(self, path: str, **kw):
        return self.http.get(path, **kw)

    def post_form(self, page_path: str, action: str, data: dict, **kw):
        token = csrf_of(self.get(page_path).text)
        return self.http.post(action, data={**data, "csrf_token": token}, **kw)

    def login(self, role: str):
        r = self.post_form("/login", "/login", {"username": op.LOGINS[role], "password": op.PASSWORD, "next": ""})
        assert r.status_code == 303, r.text
        return self


@pytest.fixture
def console(app):
    """``console(role)`` -> a Console logged in as that role's demo login; ``console()`` -> anonymous."""
    made = []

    def make(role: str | None = None) -> Console:
        c = Console(app)
        made.append(c)
        return c.login(role) if role else c

    yield make
    for c in made:
        c.http.close()
