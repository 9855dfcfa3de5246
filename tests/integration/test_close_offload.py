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
from deltalake import DeltaTable

from tests.integration.test_close import MONTHS, PLAN, _copy_ledger, operator, planned  # noqa: F401  (fixtures)
from weixi import settings
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.close import ledger_bridge, offload, store
from weixi.close.run import close_month
from weixi.errors import NotFound
from weixi.ledger.fold import accruals_dir
from weixi.plans.service import apply_plan


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


def _no_member_scale_ledger_work_in_the_driver(monkeypatch):
    """Every function the DuckDB close calls in its own process to read or write the ledger (or build the search
    index) at member scale fails in this process: on PySpark they run in the ledger process."""

    def refuse(*args, **kwargs):
        raise AssertionError("member-scale ledger work in the driver")

    for target in (
        "weixi.close.run.accrue",
        "weixi.close.run.expire",
        "weixi.close.run.summarize",
        "weixi.close.ledger_bridge.ledger_arrow",
        "weixi.close.ledger_bridge.set_tiers",
        "weixi.close.ledger_bridge.month_totals",
        "weixi.close.programme.ledger_arrow",
        "weixi.adapters.search_index.build",
    ):
        monkeypatch.setattr(target, refuse)


def _ledger(engine) -> list:
    with engine.connect() as conn:
        return execute(conn, "SELECT member_id, balance, debt, tier, first_spend_on FROM members ORDER BY member_id")


@pytest.mark.slow  # PySpark local mode: a JVM and two closes
@pytest.mark.spark
def test_a_lake_close_on_pyspark_equals_duckdb_with_no_ledger_work_in_the_driver(
    operator,  # noqa: F811
    spark,
    tmp_path,
    monkeypatch,
):
    # ``spark``: the tests' session, which the close's own local_spark() then returns (tests/conftest.py)
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    found = {}
    for name in ("duckdb", "pyspark"):
        data = tmp_path / name / "data"
        shutil.copytree(operator, data)
        engine = make_engine(str(tmp_path / name / "ledger.db"))
        schema.upgrade(engine)
        apply_plan(engine, PLAN)
        with monkeypatch.context() as mp:
            if name == "pyspark":
                _no_member_scale_ledger_work_in_the_driver(mp)
            manifests = [close_month(engine, data, m, engine_name=name) for m in MONTHS[:2]]
        found[name] = {
            "manifests": [{k: m[k] for k in ("accrual", "expiry", "summary")} for m in manifests],
            "ledger": _ledger(engine),
            "snapshots": [store.read(data, "snapshots", m) for m in MONTHS[:2]],
            "accruals": DeltaTable(str(accruals_dir(data))).to_pyarrow_table().sort_by("event_id"),
        }
        engine.dispose()
    duck, spark = found["duckdb"], found["pyspark"]
    for a, b in zip(duck["manifests"], spark["manifests"]):
        for part in ("accrual", "expiry", "summary"):
            assert {k: v for k, v in a[part].items() if k != "seconds"} == {
                k: v for k, v in b[part].items() if k != "seconds"
            }, part
    assert duck["manifests"][0]["accrual"]["posted"] > 0
    assert duck["ledger"] == spark["ledger"] and any(r[3] for r in spark["ledger"])  # tiers told to the ledger
    for a, b in zip(duck["snapshots"], spark["snapshots"]):
        assert a.equals(b)
    assert duck["accruals"].num_rows > 0 and duck["accruals"].equals(spark["accruals"])
