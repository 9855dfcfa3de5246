"""Fixtures of the security regression tests (issue 16): the API fixtures of ``tests/api`` (an app on a fresh
SQLite ledger with the telecom example plan, one login per role, token-authenticated TestClients)."""

from tests.api.conftest import api, assert_envelope, cheap_hashes, make_api, operator_api, operator_dir  # noqa: F401


def run_async(coro):
    """``asyncio.run(coro)`` in a thread of its own: the browser tests' Playwright (sync API) keeps an event loop
    running in the main thread for the rest of the session, where ``asyncio.run`` refuses to start."""
    import asyncio
    import threading

    box: dict = {}

    def main():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=main, name="security-test-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
