"""The lake month applied to the SQL members by one statement in a child process (``lake_apply.apply`` from
``APPLY_CHILD_MIN`` members on, at operator scale) gives what the row-by-row path gives, in the same row order; a
kill -9 of that child before its commit, or a failure of the files it waits for, leaves the SQL ledger as it was, and
the rerun gives the clean run."""

from __future__ import annotations

import contextlib
import sys

import pytest

from tests.integration.test_lake_close_guarantees import (  # noqa: F401  (fixtures)
    MONTHS,
    _copy,
    _lake,
    _lake_rows,
    clean,
    first_closed,
    operator,
)
from tests.integration.test_lake_ledger import _state
from weixi.adapters.sql import execute
from weixi.close import lake_apply, lake_write, ledger_proc, store
from weixi.close import run as close_run
from weixi.close.run import close_month
from weixi.ledger.verify import verify

_KILL = (
    "import os, sys\n"
    "from weixi.adapters import adbc_sqlite as A\n"
    "from weixi.close import adbc_update as U, ledger_server as S\n"
    "run = A.Cursor.execute\n"
    "def execute(self, sql, params=None):\n"
    "    out = run(self, sql, params)\n"
    "    if sql.startswith('INSERT INTO lake_months'):\n"
    "        os._exit(9)  # killed after every statement, before COMMIT\n"
    "    return out\n"
    "A.Cursor.execute = execute\n"
)
KILLED = [sys.executable, "-c", _KILL + "U.main(sys.argv[1], sys.argv[2])\n"]  # a write's own process
KILLED_SERVER = [sys.executable, "-c", _KILL + "S.serve(sys.stdin, sys.stdout)\n"]  # the close's one process


def _rows(engine) -> list[tuple]:
    """The members table in its stored order (rowid: new members in the order of their first event)."""
    with engine.connect() as conn:
        return execute(conn, "SELECT rowid, * FROM members ORDER BY rowid")


def test_the_child_writes_what_the_row_by_row_path_writes(first_closed, clean, tmp_path, monkeypatch):  # noqa: F811
    clean_engine, clean_data = clean
    engine, data = _copy(first_closed, tmp_path / "run")
    monkeypatch.setattr(lake_apply, "APPLY_CHILD_MIN", 0)
    calls, written = [], []
    real, start = ledger_proc.HeldUpdate.commit_later, ledger_proc.HeldUpdate.__init__
    monkeypatch.setattr(ledger_proc.HeldUpdate, "commit_later", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(
        ledger_proc.HeldUpdate,
        "__init__",
        lambda s, path, rows, *a, **k: (
            written.append(set(rows.column("member_id").to_pylist())) or start(s, path, rows, *a, **k)
        ),
    )
    before = {r[1] for r in _rows(engine)}
    # the update is sent to the close's one ledger process, not to a process of its own
    monkeypatch.setattr(ledger_proc, "UPDATER", [sys.executable, "-c", "raise SystemExit('a process of its own')"])
    began, work, passes = [], ledger_proc.work_while_committing, close_run._passes_begin
    monkeypatch.setattr(ledger_proc, "work_while_committing", lambda: began.append("commit sent") or work())
    monkeypatch.setattr(close_run, "_passes_begin", lambda *a: began.append("touches") or passes(*a))
    close_month(engine, data, MONTHS[1])
    assert calls  # the child wrote the month, side by side with the files
    assert began == ["commit sent", "touches"]  # the touches begun once, while the ledger committed
    month = {r[1] for r in _lake_rows(data) if r[-1] == MONTHS[1]}  # member_id; the partition column last
    prior = {r[1] for r in _lake_rows(data) if r[-1] == MONTHS[0]}
    assert month - before and month & before and month & prior
    # the members of the previous close month are up to date already: only the others are written (no balance)
    assert written == [month - prior] and month - prior - before
    assert _rows(engine) == _rows(clean_engine)
    assert _state(engine) == _state(clean_engine)
    assert store.read(data, "snapshots", MONTHS[1]) == store.read(clean_data, "snapshots", MONTHS[1])
    assert verify(engine)[0] == []


@pytest.mark.parametrize("session", [True, False], ids=["the-close-s-process", "a-process-of-its-own"])
def test_a_kill_of_the_child_before_commit_then_a_rerun(first_closed, clean, tmp_path, monkeypatch, session):  # noqa: F811
    """The child killed after its statements, before ``COMMIT``: the ledger as it was; the rerun gives the clean
    run. The child is the close's one ledger process (:func:`weixi.close.ledger_proc.session`), or, without it,
    the update's own."""
    clean_engine, clean_data = clean
    engine, data = _copy(first_closed, tmp_path / "run")
    before = _rows(engine)
    monkeypatch.setattr(lake_apply, "APPLY_CHILD_MIN", 0)
    with monkeypatch.context() as m:
        m.setattr(ledger_proc, "UPDATER", KILLED)
        m.setattr(ledger_proc, "SERVER", KILLED_SERVER)
        if not session:
            m.setattr(ledger_proc, "session", lambda engine: contextlib.nullcontext())
        with pytest.raises(ledger_proc.LedgerUnavailable):
            close_month(engine, data, MONTHS[1])
    assert _rows(engine) == before  # nothing of the month's members committed
    with engine.connect() as conn:
        assert execute(conn, "SELECT month FROM lake_months ORDER BY 1") == [(MONTHS[0],)]
    close_month(engine, data, MONTHS[1])
    assert _state(engine) == _state(clean_engine)
    assert _lake_rows(data) == _lake_rows(clean_data)
    assert verify(engine)[0] == []


def test_the_child_s_update_rolls_back_when_the_files_fail_and_the_rerun_gives_the_clean_run(
    first_closed,  # noqa: F811
    clean,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """The members' update runs in its child while the month's files are written: a failure there (a full disk)
    rolls the child back before any Delta commit; the rerun gives the clean run."""
    clean_engine, clean_data = clean
    engine, data = _copy(first_closed, tmp_path / "run")
    before = _rows(engine)
    monkeypatch.setattr(lake_apply, "APPLY_CHILD_MIN", 0)
    started = []
    real = ledger_proc.HeldUpdate.__init__
    monkeypatch.setattr(ledger_proc.HeldUpdate, "__init__", lambda s, *a, **k: started.append(1) or real(s, *a, **k))

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(lake_write, "write_partition", full)
        with pytest.raises(OSError):
            close_month(engine, data, MONTHS[1])
    assert started  # the child had begun the update
    assert _rows(engine) == before  # and wrote nothing
    with engine.connect() as conn:
        assert execute(conn, "SELECT month FROM lake_months ORDER BY 1") == [(MONTHS[0],)]
    assert {r[-1] for r in _lake_rows(data)} == {MONTHS[0]}  # nothing of the month in the lake
    close_month(engine, data, MONTHS[1])
    assert _state(engine) == _state(clean_engine)
    assert _rows(engine) == _rows(clean_engine)
    assert _lake_rows(data) == _lake_rows(clean_data)
    assert verify(engine)[0] == []


def test_below_the_child_s_size_the_touches_begin_after_the_accrual(first_closed, clean, tmp_path, monkeypatch):  # noqa: F811
    """A month of fewer members than ``APPLY_CHILD_MIN`` is applied after the files, with no commit held: the
    touches begin once the accrual is done, and the close gives the clean run."""
    clean_engine, clean_data = clean
    engine, data = _copy(first_closed, tmp_path / "run")
    began, work, passes = [], ledger_proc.work_while_committing, close_run._passes_begin
    monkeypatch.setattr(ledger_proc, "work_while_committing", lambda: began.append("commit sent") or work())
    monkeypatch.setattr(close_run, "_passes_begin", lambda *a: began.append("touches") or passes(*a))
    close_month(engine, data, MONTHS[1])
    assert began == ["touches"]
    assert _state(engine) == _state(clean_engine)
    assert store.read(data, "snapshots", MONTHS[1]) == store.read(clean_data, "snapshots", MONTHS[1])
