"""The close's one ledger process (``weixi.close.ledger_proc.session``): inside a session every read and write of
the SQLite file goes to one child, started when the session opens, and gives what the one-off processes give; a
failed request leaves the child serving; a held update commits or rolls back in it, and while it is held other work
gets a process of its own; the child ends with the session."""

from __future__ import annotations

import sqlite3
import sys
from contextlib import nullcontext

import pyarrow as pa
import pytest

from weixi.adapters.db import make_engine
from weixi.close import ledger_proc
from weixi.close.ledger_read import ledger_arrows, ledger_arrows_later

SCHEMA = pa.schema([("member_id", pa.string()), ("tier", pa.string())])
NEVER = [sys.executable, "-c", "import sys; sys.exit('a one-off process was started')"]


@pytest.fixture
def ledger(tmp_path):
    path = tmp_path / "ledger.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE members (member_id TEXT PRIMARY KEY, tier TEXT)")
        db.executemany("INSERT INTO members VALUES (?, ?)", [("M1", "silver"), ("M2", None), ("M3", "gold")])
    return make_engine(f"sqlite:///{path}"), path


def _tiers(engine) -> list[tuple]:
    return ledger_arrows(engine, [("SELECT member_id, tier FROM members ORDER BY 1", [], SCHEMA)])[0].to_pylist()


def _set(path, rows: dict[str, str]) -> int:
    table = pa.table({"member_id": list(rows), "tier": list(rows.values())})
    sql = "UPDATE members SET tier = i.tier FROM temp.incoming i WHERE members.member_id = i.member_id"
    return ledger_proc.update_sqlite(path, table, [(sql, [])])


def test_in_a_session_one_process_reads_and_writes_what_one_off_processes_do(ledger, monkeypatch):
    engine, path = ledger
    alone = _tiers(engine)
    assert alone == [
        {"member_id": "M1", "tier": "silver"},
        {"member_id": "M2", "tier": None},
        {"member_id": "M3", "tier": "gold"},
    ]
    monkeypatch.setattr(ledger_proc, "READER", NEVER)  # a one-off process would fail
    monkeypatch.setattr(ledger_proc, "UPDATER", NEVER)
    with ledger_proc.session(engine):
        server = ledger_proc._SESSION.get()
        assert _tiers(engine) == alone
        assert _set(path, {"M2": "member", "M3": "silver"}) == 2
        assert [r["tier"] for r in _tiers(engine)] == ["silver", "member", "silver"]
        assert server.alive
    assert not server.alive and server._child.returncode == 0  # ended with the session
    assert ledger_proc._SESSION.get() is None
    with pytest.raises(ledger_proc.LedgerUnavailable):  # outside: the one-off process again
        _tiers(engine)


def test_a_failed_request_is_an_error_and_the_process_serves_on(ledger):
    engine, path = ledger
    with ledger_proc.session(engine):
        server = ledger_proc._SESSION.get()
        with pytest.raises(ledger_proc.LedgerUnavailable) as failed:
            ledger_arrows(engine, [("SELECT nothing FROM nowhere", [], SCHEMA)])
        assert failed.value.code == "ledger_read_failed" and "nowhere" in failed.value.params["reason"]
        with pytest.raises(ledger_proc.LedgerUnavailable):  # the write rolled back whole
            ledger_proc.update_sqlite(
                path,
                pa.table({"member_id": ["M1"], "tier": ["gold"]}),
                [("UPDATE members SET tier = 'gold'", []), ("INSERT INTO nowhere VALUES (1)", [])],
            )
        assert [r["tier"] for r in _tiers(engine)] == ["silver", None, "gold"]
        assert ledger_proc._SESSION.get() is server and server.alive


@pytest.mark.parametrize("commit", [True, False], ids=["commit", "abort"])
def test_a_held_update_in_the_session_and_a_read_beside_it(ledger, commit):
    engine, path = ledger
    table = pa.table({"member_id": ["M2"], "tier": ["member"]})
    with ledger_proc.session(engine):
        server = ledger_proc._SESSION.get()
        held = ledger_proc.HeldUpdate(
            path,
            table,
            [("UPDATE members SET tier = i.tier FROM temp.incoming i WHERE members.member_id = i.member_id", [])],
        )
        assert server.busy
        # a read while the transaction is held: its own process, which sees the ledger as committed
        assert [r["tier"] for r in _tiers(engine)] == ["silver", None, "gold"]
        if commit:
            assert held.commit([("UPDATE members SET tier = 'bronze' WHERE member_id = 'M1'", [])]) == 1
        else:
            held.abort()
        assert not server.busy
        assert [r["tier"] for r in _tiers(engine)] == (
            ["bronze", "member", "gold"] if commit else ["silver", None, "gold"]
        )


@pytest.mark.parametrize("in_session", [True, False])
def test_a_read_started_early_gives_its_rows_later_and_others_are_served_meanwhile(ledger, in_session):
    """The close starts reading the ledger before it stages the month (``ledger_arrows_later``); what it reads
    is the ledger when the read started, and a write meanwhile is served by a process of its own."""
    engine, path = ledger
    query = [("SELECT member_id, tier FROM members ORDER BY 1", [], SCHEMA)]
    with ledger_proc.session(engine) if in_session else nullcontext():
        later = ledger_arrows_later(engine, query)
        if in_session:
            assert ledger_proc._SESSION.get().busy  # its answer not taken yet: other work goes elsewhere
        assert _set(path, {"M2": "gold"}) == 1
        first = later()[0].to_pylist()
        assert [r["tier"] for r in first] in (["silver", None, "gold"], ["silver", "gold", "gold"])
        if in_session:
            assert not ledger_proc._SESSION.get().busy
        assert [r["tier"] for r in _tiers(engine)] == ["silver", "gold", "gold"]
        bad = ledger_arrows_later(engine, [("SELECT nope FROM members", [], SCHEMA)])
        with pytest.raises(ledger_proc.LedgerUnavailable):
            bad()
        assert _tiers(engine)[0]["tier"] == "silver"  # and the reads go on


@pytest.mark.parametrize("in_session", [True, False])
def test_an_update_started_early_is_written_and_counted_when_awaited(ledger, in_session):
    """The close starts writing the tiers it changed, then makes its star events and summary; reads meanwhile
    are served, and awaiting the update gives the rows it changed."""
    engine, path = ledger
    table = pa.table({"member_id": ["M1", "M2"], "tier": ["gold", "silver"]})
    sql = "UPDATE members SET tier = i.tier FROM temp.incoming i WHERE members.member_id = i.member_id"
    with ledger_proc.session(engine) if in_session else nullcontext():
        changed = ledger_proc.update_later(path, table, [(sql, [])])
        if in_session:
            assert ledger_proc._SESSION.get().busy
        assert len(_tiers(engine)) == 3  # a read meanwhile
        assert changed() == 2
        assert [r["tier"] for r in _tiers(engine)] == ["gold", "silver", "gold"]
        if in_session:
            assert not ledger_proc._SESSION.get().busy
        bad = ledger_proc.update_later(path, table, [("UPDATE nowhere SET x = 1", [])])
        with pytest.raises(ledger_proc.LedgerUnavailable):
            bad()
        assert _set(path, {"M3": "member"}) == 1  # and the writes go on


def test_an_update_started_in_another_thread_goes_to_the_session_s_process(ledger, monkeypatch):
    """The close finds the tiers that changed and starts their write in a thread of its own
    (:func:`ledger_proc.in_this_session`): the session's one process serves it, where a bare thread, which does not
    inherit the session, would start a process of its own."""
    from concurrent.futures import ThreadPoolExecutor

    engine, path = ledger
    table = pa.table({"member_id": ["M1", "M2"], "tier": ["gold", "silver"]})
    sql = "UPDATE members SET tier = i.tier FROM temp.incoming i WHERE members.member_id = i.member_id"
    monkeypatch.setattr(ledger_proc, "UPDATER", NEVER)  # a one-off process would fail

    def start():
        return ledger_proc.update_later(path, table, [(sql, [])])

    with ledger_proc.session(engine), ThreadPoolExecutor(1) as pool:
        server = ledger_proc._SESSION.get()
        changed = pool.submit(ledger_proc.in_this_session(start)).result()
        assert server.busy  # the session's process took it
        assert changed() == 2 and not server.busy
        bare = pool.submit(start).result()  # no session in that thread: a process of its own, which fails here
        with pytest.raises(ledger_proc.LedgerUnavailable):
            bare()
    assert [r["tier"] for r in _tiers(engine)] == ["gold", "silver", "gold"]


def test_the_ledger_process_serves_without_numpy_or_pandas(ledger, tmp_path):
    """PyArrow's core imports NumPy whenever it can (0.12 CPU-seconds of the process's start, beside the close's own
    start): the ledger process refuses NumPy and pandas, which it never uses, and reads through ADBC without them."""
    import json
    import os
    import subprocess

    _, path = ledger
    request = {
        "op": "read",
        "db": str(path),
        "out": str(tmp_path / "rows"),
        "queries": [{"sql": "SELECT member_id, tier FROM members ORDER BY 1", "params": []}],
    }
    done = subprocess.run(
        ledger_proc.SERVER,
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},  # each import, on its error output
    )
    assert done.returncode == 0 and json.loads(done.stdout) == {"ok": True}
    with pa.ipc.open_file(tmp_path / "rows.0") as rows:
        assert rows.read_all().column("member_id").to_pylist() == ["M1", "M2", "M3"]
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"pyarrow", "adbc_driver_manager"} <= imported
    # (a refused import is listed too, as taking no time: none of theirs went further)
    assert not [name for name in imported if name.startswith(("numpy.", "pandas."))]
