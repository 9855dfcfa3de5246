"""One writer of the lake's accruals at a time (issue 21): a post, the close's lake accrual and ``weixi ledger
upgrade-lake`` each hold the lock ``DATA/lake/.post.lock`` while they write, and one that finds it held waits for
it, then does its work as if alone.

Waiting, not refusing: the three are ordinary operations that a scheduler or an operator may start at any moment (a
nightly post while someone closes a month); each holds the lock for one batch, the kernel frees it when its holder
dies, so a wait always ends, and a refusal would only make the caller retry by hand.

The holder here is another process; the test sees the writer blocked on the lock in ``/proc/locks`` (Linux), so
nothing depends on how fast anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.integration.test_events_post_lake import _ids, _ledger, event_file
from weixi.adapters import lake
from weixi.adapters.eventfiles import read_events
from weixi.adapters.sql import execute
from weixi.close.accrual_lake import LOCK, lake_lock
from weixi.close.lake_upgrade import upgrade_to_lake
from weixi.close.post_lake import post_file_events
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.fold import accruals_dir

pytestmark = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads the kernel's lock table")

HOLDER = """
import sys
from weixi.close.accrual_lake import lake_lock
with lake_lock(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.readline()  # until the test says
"""


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lock-operator") / "data"
    generate(GenerateConfig(members=800, months=2, seed=47, out=str(out), end_month="2026-09"))
    return out


class Holder:
    """Another process holding the lake's lock until :meth:`release`."""

    def __init__(self, data: Path):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        assert self.proc.stdout.readline().strip() == "held"
        self.lock = Path(data) / "lake" / LOCK

    def release(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0


def _blocked_on(lock: Path) -> bool:
    """Whether a process waits for ``lock`` (a ``->`` line of the kernel's lock table on its inode)."""
    inode = f":{os.stat(lock).st_ino} "
    with open("/proc/locks", encoding="ascii") as fh:
        return any("->" in line and inode in line for line in fh)


def _run_while_held(data: Path, work, probe) -> tuple[dict, list]:
    """Start ``work`` in a thread while another process holds the lock; wait until it is blocked on the lock, then
    release it. Returns what ``work`` returned, and whether it was still running with what ``probe()`` saw while it
    was blocked."""
    holder = Holder(data)
    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(result=work()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 300  # a bound for a loaded machine, not a measurement
        while not _blocked_on(holder.lock):
            assert thread.is_alive(), "finished without waiting for the lock"
            assert time.monotonic() < deadline, "never reached the lock"
            time.sleep(0.05)
        seen = [thread.is_alive(), probe()]
    finally:
        holder.release()
    thread.join(timeout=600)
    assert not thread.is_alive()
    return out, seen


def test_the_lock_waits_for_another_process_and_is_reentrant_in_one_thread(tmp_path):
    holder = Holder(tmp_path)
    entered = threading.Event()

    def nested():
        with lake_lock(tmp_path), lake_lock(tmp_path):  # the post holds it around the close's call: no deadlock
            entered.set()

    thread = threading.Thread(target=nested, daemon=True)
    thread.start()
    try:
        while not _blocked_on(holder.lock):
            assert not entered.is_set(), "entered while another process held the lock"
            time.sleep(0.05)
        assert not entered.is_set()
    finally:
        holder.release()
    thread.join(timeout=60)
    assert entered.is_set()


def test_a_post_waits_for_the_lock_then_posts(operator, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "post", operator)
    file = event_file(data, "2026-09", tmp_path / "sep.csv")
    events = list(read_events(file, ZoneInfo("Asia/Shanghai")))
    table = accruals_dir(data)
    out, seen = _run_while_held(data, lambda: post_file_events(engine, events, data), lambda: lake.is_table(table))
    assert seen == [True, False]  # blocked before writing anything
    assert out["result"].posted == len(_ids(file)) and not out["result"].rejected
    assert lake.app_version(accruals_dir(data), "weixi-post") == 1


def test_the_close_lake_accrual_waits_for_the_lock(operator, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "close", operator)
    out, seen = _run_while_held(data, lambda: close_month(engine, data, "2026-08"), lambda: _lake_months(engine))
    assert seen == [True, []]
    assert out["result"]["accrual"]["posted"] > 0
    assert _lake_months(engine) == ["2026-08"]


def test_upgrade_lake_waits_for_the_lock(operator, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "sql")
    engine, data = _ledger(tmp_path / "upgrade", operator)
    close_month(engine, data, "2026-08")
    out, seen = _run_while_held(data, lambda: upgrade_to_lake(engine, data), lambda: _lake_months(engine))
    assert seen == [True, []]
    assert out["result"].months == ["2026-08"] and out["result"].rows > 0
    assert _lake_months(engine) == ["2026-08"]


def _lake_months(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in execute(conn, "SELECT month FROM lake_months ORDER BY month")]
