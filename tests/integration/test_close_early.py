"""The close's rows staged while the command starts (:mod:`weixi.close.early`): ``weixi close`` reads and sorts
the month's bills and recharges in a thread while its modules are imported, and the accrual takes them only when
they are the rows it would stage itself."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import date
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import ROOT
from tests.e2e.test_cli_startup import IMPORTS_AT_EXIT, imports_at_exit
from tests.integration.test_lake_ledger import MONTHS, _ledger, operator  # noqa: F401 (a fixture)
from weixi.adapters import duck
from weixi.close import accrual, early, store
from weixi.close.run import close_month
from weixi.ledger.fold import accruals_dir
from weixi.members.intake import load_file

MONTH = MONTHS[1]


def _rows(con) -> list[tuple]:
    # in the table's order: the order the lake's rows take
    return con.execute("SELECT * REPLACE (epoch_us(moment) AS moment) FROM acc_all").fetchall()


def test_the_rows_staged_at_the_start_are_the_ones_the_accrual_stages(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    _, data = _ledger(tmp_path, operator)
    assert early.start(["close", "--month", MONTH, "--data", str(data), "--json"])
    con = early.take(data, MONTH)
    assert con is not None
    fresh = duck.connect()
    early.stage(fresh, data, MONTH)
    staged = _rows(con)
    assert len(staged) > 500 and staged == _rows(fresh)
    con.close()
    fresh.close()
    assert early.take(data, MONTH) is None  # taken once


def test_rows_staged_from_other_input_are_not_taken(operator, tmp_path, monkeypatch):  # noqa: F811
    """A bill loaded after the command started (a correction) is in what the accrual stages: the early rows, read
    before it, are dropped. So are rows staged for another month or another data directory."""
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    _, data = _ledger(tmp_path, operator)
    assert early.start(["close", f"--month={MONTH}", f"--data={data}"])
    bills = pq.read_table(data / "bills", filters=[("month", "=", MONTH), ("paid", "=", True)])
    late = bills.slice(0, 1).to_pylist()
    late[0]["bill_id"] = "LATE-0001"
    pq.write_table(pa.Table.from_pylist(late, schema=bills.schema), tmp_path / "late.parquet")
    assert load_file(tmp_path / "late.parquet", "bills", data, today=date(2026, 11, 15))["loaded"] == 1
    assert early.take(data, MONTH) is None
    con = accrual.stage_source(data, MONTH, ZoneInfo("Asia/Shanghai"))
    assert con.execute("SELECT count(*) FROM acc_all WHERE event_id = 'LATE-0001'").fetchone() == (1,)
    con.close()
    for month, where in ((MONTHS[0], data), (MONTH, tmp_path / "elsewhere")):
        assert early.start(["close", "--month", MONTH, "--data", str(data)])
        assert early.take(where, month) is None


def test_work_nobody_takes_is_stopped(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    _, data = _ledger(tmp_path, operator)
    assert early.start(["close", "--month", MONTH, "--data", str(data)])
    early.discard()
    assert early.take(data, MONTH) is None
    assert not [t for t in threading.enumerate() if t.name == "weixi-early-stage"]


def test_only_a_close_into_the_lake_on_duckdb_is_staged(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    monkeypatch.delenv("WEIXI_ACCRUAL", raising=False)
    _, data = _ledger(tmp_path, operator)
    base = ["close", "--month", MONTH, "--data", str(data)]
    assert not early.start([*base, "--engine", "pyspark"])
    assert not early.start([*base, "--engine=pyspark"])
    assert not early.start(["close", "--month", "2026-13", "--data", str(data)])
    assert not early.start(["close", "--data", str(data)])
    nothing = tmp_path / "no-archive"
    assert not early.start(["close", "--month", MONTH, "--data", str(nothing)])
    assert not nothing.exists()  # nothing made where a close will be refused
    monkeypatch.setenv("WEIXI_ACCRUAL", "batches")
    assert not early.start(base)
    monkeypatch.setenv("WEIXI_ACCRUAL", "set")
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "sql")
    assert not early.start(base)
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    monkeypatch.setenv("WEIXI_DATA", str(data))  # the data directory of the setting when no --data
    assert early.start(["close", "--month", MONTH])
    con = early.take(data, MONTH)
    assert con is not None
    con.close()


def test_a_month_closed_already_is_not_staged(operator, tmp_path, monkeypatch):  # noqa: F811
    """A rerun of a closed month only reads its manifest: nothing is staged beside it (its start-up took 1.2 s at
    1,000,000 members with the staging beside the imports, 0.7 s before). The next month is staged."""
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path, operator)
    assert not early.closed(data, MONTHS[0])
    close_month(engine, data, MONTHS[0])
    engine.dispose()
    assert store.read_manifest(data, MONTHS[0])["status"] == "closed"
    assert early.closed(data, MONTHS[0]) and not early.closed(data, MONTH)
    assert not early.start(["close", "--month", MONTHS[0], "--data", str(data)])
    assert not [t for t in threading.enumerate() if t.name == "weixi-early-stage"]
    assert early.start(["close", "--month", MONTH, "--data", str(data)])
    early.discard()


def _lake_rows(data) -> list[tuple]:
    files = [str(p) for p in (accruals_dir(data) / f"month={MONTH}").glob("*.parquet")]
    con = duck.connect()
    try:
        return con.execute(f"SELECT * EXCLUDE (seq) FROM read_parquet({files!r}) ORDER BY member_id, seq").fetchall()
    finally:
        con.close()


# ``weixi close ARGS`` (weixi.entry, as the console script runs it), saying whether the accrual took the early rows
TAKEN = (
    "import sys\nimport weixi.close.early as early\nreal = early.take\n"
    "def take(*args):\n    con = real(*args)\n    print('early rows taken:', con is not None, file=sys.stderr)\n"
    "    return con\n"
    "early.take = take\n" + IMPORTS_AT_EXIT
)


def test_a_close_through_the_command_posts_what_a_close_in_process_posts(operator, tmp_path, monkeypatch):  # noqa: F811
    """``weixi close`` (its rows staged as it starts, pandas and NumPy refused) and :func:`close_month` called in a process of
    its own (no early rows) write the same lake rows, in the same order."""
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    results = []
    for name in ("command", "in-process"):
        engine, data = _ledger(tmp_path / name, operator)
        close_month(engine, data, MONTHS[0])
        if name == "command":
            env = {**os.environ, "WEIXI_LEDGER_STORE": "lake"}
            done = subprocess.run(
                [sys.executable, "-c", TAKEN, "close", "--month", MONTH, "--data", str(data), "--db",
                 str(tmp_path / name / "ledger.db"), "--json"],
                capture_output=True, text=True, cwd=ROOT, timeout=300, env=env,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert "early rows taken: True" in done.stderr
            # refused (weixi.entry): the whole close ran without them, its warm-up thread included
            assert imports_at_exit(done.stderr) == ["pandas: refused", "numpy: refused"]
            assert "Traceback" not in done.stderr
        else:
            close_month(engine, data, MONTH)
        engine.dispose()
        results.append(_lake_rows(data))
    assert len(results[0]) > 500 and results[0] == results[1]
