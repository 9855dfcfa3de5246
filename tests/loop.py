"""Running a coroutine from a test, whatever ran before it."""

from __future__ import annotations

import asyncio
import threading


def run_async(coro):
    """``asyncio.run(coro)`` in a thread of its own: the browser tests' Playwright (sync API) keeps an event loop
    running in the main thread for the rest of the session, where ``asyncio.run`` refuses to start."""
    box: dict = {}

    def main():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=main, name="test-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
