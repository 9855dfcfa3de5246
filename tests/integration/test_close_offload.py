"""The PySpark close's member-scale work outside the driver (issue 21: the driver's memory flat in members): the
ledger process (:mod:`weixi.close.offload`) does what the DuckDB close does in its own process, gives back a
refusal as the same error, and a lake-mode PySpark close whose driver cannot read the ledger at member scale
gives the DuckDB close's tables, ledger and summary."""

from __future__ import annotations

import shutil
import sys
from datetime import date

import pyarrow.parquet as pq
import pytest

from tests.integration.test_close import MONTHS, _copy_ledger, planned  # noqa: F401  (fixtures)
from weixi import settings
from weixi.adapters.db import make_engine
from weixi.close import ledger_bridge, offload, store
from weixi.close.run import close_month
from weixi.errors import NotFound


@pytest.fixture
def lake_closed(operator, planned, tmp_path, monkeypatch):  # noqa: F811
    """A lake-mode ledger (a SQLite file) and data folder with the first month closed on DuckDB."""
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    data = tmp_path / "data"
    shutil.copytree(operator, data)
    _copy_ledger(planned, tmp_path / "ledger.db")
    engine = make_engine(str(tmp_path / "ledger.db"))
    manifest = close_month(engine, data, MONTHS[0])
    yield engine, data, manifest
    engine.dispose()


def test_the_ledger_process_writes_what_the_close_reads_in_process(lake_closed, tmp_path):
    engine, data, manifest = lake_closed
    month = MONTHS[0]
    for name, read in (
        ("points_earned", lambda: ledger_bridge.points_earned(engine, month)),
        ("balances", lambda: ledger_bridge.balances(engine)),
    ):
        out = tmp_path / f"{name}.parquet"
        args = (engine, month, out) if name == "points_earned" else (engine, out)
        rows = getattr(offload, name)(*args)
        written, here = pq.read_table(out), read()
        assert rows == here.num_rows > 0
        assert written.schema == here.schema
        assert written.sort_by("member_id").equals(here.sort_by("member_id"))
    summary = offload.summary(
        engine,
        data,
        month,
        manifest["plan_version"],
        store.path(data, "snapshots", month),
        store.uris(data, "tier_events", month),
        store.path(data, "star_events", month),
        settings.POINTS_BUDGET.value(),
    )
    assert summary == manifest["summary"]  # counted in the ledger process: the DuckDB close's figures


def test_a_refusal_in_the_ledger_process_is_raised_as_the_same_error(lake_closed):
    engine, data, _ = lake_closed
    with pytest.raises(NotFound) as refused:
        offload.accrue(engine, data, MONTHS[1], version=999)
    assert refused.value.code == "plan_version_not_found" and refused.value.params == {"version": 999}


def test_a_ledger_process_that_dies_is_a_coded_failure(lake_closed, monkeypatch):
    engine, data, _ = lake_closed
    monkeypatch.setattr(offload, "COMMAND", [sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(9)"])
    with pytest.raises(offload.LedgerProcessFailed) as failed:
        offload.expire(engine, date(2026, 9, 1))
    assert failed.value.code == "close_ledger_process_failed"
    assert failed.value.params["step"] == "expire" and failed.value.status == 503


def _counting_children(monkeypatch, log) -> None:
    """The ledger process as it is, each start written to ``log`` first."""
    start = f"open({str(log)!r}, 'a').write('start\\n'); import runpy, sys; sys.argv[0] = 'offload'; "
    monkeypatch.setattr(
        offload,
        "COMMAND",
        [sys.executable, "-c", start + "runpy.run_module('weixi.close.offload', run_name='__main__')"],
    )


def test_a_session_serves_every_call_from_one_ledger_process(lake_closed, tmp_path, monkeypatch):
    """A PySpark close's calls (its session) go to one child, which answers them as children of their own do,
    gives back a refusal and then goes on serving; a child gone between two calls is replaced, and one that dies
    during a call fails that call."""
    engine, data, _ = lake_closed
    log = tmp_path / "starts.txt"
    _counting_children(monkeypatch, log)
    month = MONTHS[0]

    def calls(out):
        return (
            offload.points_earned(engine, month, out / "points.parquet"),
            offload.balances(engine, out / "balances.parquet"),
            pq.read_table(out / "points.parquet").sort_by("member_id"),
        )

    (tmp_path / "apart").mkdir()
    apart = calls(tmp_path / "apart")
    assert log.read_text().count("start") == 2
    log.write_text("")
    (tmp_path / "one").mkdir()
    with offload.session(engine):
        together = calls(tmp_path / "one")
        with pytest.raises(NotFound):
            offload.accrue(engine, data, MONTHS[1], version=999)
        assert offload.balances(engine, tmp_path / "one" / "again.parquet") == apart[1]
    assert log.read_text().count("start") == 1
    assert together[:2] == apart[:2] and together[2].equals(apart[2]) and apart[0] > 0

    with offload.session(engine):  # killed between two calls: the next call has a new child
        gone = offload._SESSION.get().child()._child
        gone.kill()
        gone.wait()
        assert offload.balances(engine, tmp_path / "one" / "after.parquet") == apart[1]
    monkeypatch.setattr(offload, "COMMAND", [sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(9)"])
    with offload.session(engine), pytest.raises(offload.LedgerProcessFailed) as failed:  # dies during a call
        offload.balances(engine, tmp_path / "one" / "dead.parquet")
    assert failed.value.params["step"] == "balances"


@pytest.mark.slow  # PySpark local mode: a JVM and the closes of tests/integration/engine_closes.py
@pytest.mark.spark
def test_a_lake_close_on_pyspark_equals_duckdb_with_no_ledger_work_in_the_driver(engine_closes):
    # the two months closed on each engine with the lake store, on PySpark with every member-scale ledger read or
    # write (and the search index) refused in the driver: tests/integration/engine_closes.py
    duck, spark = engine_closes.duckdb, engine_closes.pyspark
    for a, b in zip(duck.manifests, spark.manifests):
        for part in ("accrual", "expiry", "summary"):
            assert {k: v for k, v in a[part].items() if k != "seconds"} == {
                k: v for k, v in b[part].items() if k != "seconds"
            }, part
    assert duck.manifests[0]["accrual"]["posted"] > 0
    assert duck.ledger == spark.ledger and any(r[3] for r in spark.ledger)  # tiers told to the ledger
    for a, b in zip(duck.snapshots, spark.snapshots):
        assert a.equals(b)
    assert duck.accruals.num_rows > 0 and duck.accruals.equals(spark.accruals)
