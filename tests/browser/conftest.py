"""Real-browser tests: Debian's chromium driven by Playwright (sync API) against the app served by uvicorn on
127.0.0.1 in a thread of the test process, over the tiny operator of the console tests.

- The browser is /usr/bin/chromium (never ``playwright install``). Without it the tests are skipped with the
  reason, except under CI (``CI`` set), where a missing browser fails the run.
- Every page routes all requests through a handler that aborts anything not addressed to 127.0.0.1 and records
  it; the test fails at teardown when anything was recorded, and on any error in the browser console.
- Screenshots go to ``test-artifacts/screenshots/`` (kept by CI as an artifact).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.console import operator as op

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LOOPBACK = "127.0.0.1"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    here = Path(__file__).parent
    mine = [i for i in items if Path(str(i.fspath)).is_relative_to(here)]
    if not mine:
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(
            f"CI is set but {CHROMIUM} is missing: the browser tests must run in CI "
            "('make test' installs Debian's chromium when run as root)"
        )
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} not installed (Debian package 'chromium'; 'make test' as root "
        "installs it); browser tests skipped outside CI"
    )
    for item in mine:
        item.add_marker(skip)


class Server:
    """uvicorn serving the app on a socket bound to 127.0.0.1 (a free port), in a daemon thread."""

    def __init__(self, app):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self.thread = threading.Thread(
            target=lambda: asyncio.run(self.server.serve(sockets=[self.sock])), name="weixi-test-server", daemon=True
        )

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


# Package scope, not session: Playwright's sync API keeps an event loop running in the main thread while the browser
# is open, where ``asyncio.run`` then refuses to start; closed at the end of tests/browser, the tests that run after
# it in the same process (another order with --shuffle, or the same xdist worker) can use asyncio.run again.
@pytest.fixture(scope="package")
def server(tmp_path_factory):
    from weixi.api.app import create_app

    operator = op.shared(tmp_path_factory).copy_to(tmp_path_factory.mktemp("browser-operator"))
    app = create_app(str(operator.db), str(operator.data), secure_cookies=False)
    with Server(app) as running:
        yield running
    app.state.engine.dispose()


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


class Tab:
    """One browser context and page, with the loopback guard and the console error log."""

    def __init__(self, browser, server, name: str, mobile: bool = False):
        options = (
            {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
            if mobile
            else {"viewport": {"width": 1280, "height": 900}}
        )
        self.base = server.url
        self.context = browser.new_context(base_url=server.url, locale="zh-CN", **options)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.name = name
        self.left_machine: list[str] = []
        self.errors: list[str] = []
        self.refusals: set[str] = set()  # URLs the test expects to be refused (their console error is expected)
        self.context.route("**/*", self._guard)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _guard(self, route):
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != LOOPBACK:
            self.left_machine.append(url)
            return route.abort()
        return route.continue_()

    def _console(self, message):
        if message.type != "error":
            return
        if message.text.startswith("Failed to load resource") and message.location.get("url") in self.refusals:
            return
        self.errors.append(f"{message.text} ({message.location.get('url')})")

    def goto(self, path: str, refused: bool = False):
        """Open ``path``; ``refused=True`` when the test expects an error status (403, 404) for it."""
        if refused:
            self.refusals.add(self.base + path)
        return self.page.goto(path)

    def login(self, role: str):
        self.page.goto("/login")
        self.page.fill("input[name=username]", op.LOGINS[role])
        self.page.fill("input[name=password]", op.PASSWORD)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")
        return self

    def shot(self, step: str, full_page: bool = True):
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(
            path=str(SHOTS / f"{self.name}-{re.sub(r'[^A-Za-z0-9_-]+', '-', step)}.png"), full_page=full_page
        )

    def close(self):
        self.context.close()


@pytest.fixture
def tab(browser, server, request):
    """``tab(name, mobile=False)`` -> a fresh browser context; each fails the test when a request left the
    machine or the browser console logged an error."""
    made: list[Tab] = []

    def make(name: str | None = None, mobile: bool = False) -> Tab:
        t = Tab(browser, server, name or request.node.name, mobile)
        made.append(t)
        return t

    yield make
    problems = []
    for t in made:
        problems += [f"{t.name}: request left 127.0.0.1: {u}" for u in t.left_machine]
        problems += [f"{t.name}: browser console error: {e}" for e in t.errors]
        t.close()
    assert not problems, "\n".join(problems)
