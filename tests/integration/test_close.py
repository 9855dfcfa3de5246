"""The monthly close on a small generated operator: accrual once, snapshots, idempotency, crash safety,
refusals, and the same snapshot on DuckDB and PySpark."""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT
from weixi import settings
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.close import store
from weixi.close.run import CloseRefused, close_month
from weixi.ledger.verify import verify
from weixi.members.intake import load_file
from weixi.plans.service import apply_plan

PLAN = ROOT / "plans" / "examples" / "telecom-points.yaml"
MONTHS = ["2026-08", "2026-09", "2026-10"]


def _copy_ledger(source: Path, target: Path) -> None:
    """Copy a SQLite ledger whose engine is disposed (with its write-ahead log, if one is left)."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy2(f"{source}{suffix}", f"{target}{suffix}")


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> Path:
    """A ledger with the schema and the telecom plan, made once; each test works on a copy of it."""
    path = tmp_path_factory.mktemp("planned") / "ledger.db"
    engine = make_engine(str(path))
    schema.upgrade(engine)
    apply_plan(engine, PLAN)
    engine.dispose()
    return path


@pytest.fixture
def setup(operator, planned, tmp_path):
    """A fresh copy of the operator's archive and a fresh ledger with the telecom plan."""
    data = tmp_path / "data"
    shutil.copytree(operator, data)
    _copy_ledger(planned, tmp_path / "ledger.db")
    engine = make_engine(str(tmp_path / "ledger.db"))
    yield engine, data
    engine.dispose()


@pytest.fixture(scope="module")
def clean_runs(operator, planned, tmp_path_factory):
    """``clean_runs(kind)``: a clean run on ledger store ``kind`` (default: ``WEIXI_LEDGER_STORE``'s), closed once
    per module and store: the ledger and archive after each of ``MONTHS[:2]`` (a directory with ``ledger.db`` and
    ``data/``). The crash matrix starts from a copy of the first and compares with the second; it used to rebuild
    both for each of its seven cases."""
    made: dict[str, dict[str, Path]] = {}

    def run(kind: str | None = None) -> dict[str, Path]:
        kind = kind or settings.LEDGER_STORE.value()
        if kind not in made:
            with pytest.MonkeyPatch.context() as m:
                m.setenv(settings.LEDGER_STORE.name, kind)
                made[kind] = _clean_run(operator, planned, tmp_path_factory.mktemp(f"clean-run-{kind}"))
        return made[kind]

    return run


def _clean_run(operator: Path, planned: Path, base: Path) -> dict[str, Path]:
    runs, previous = {}, None
    for month in MONTHS[:2]:
        here = base / month
        if previous is None:
            here.mkdir()
            shutil.copytree(operator, here / "data")
            _copy_ledger(planned, here / "ledger.db")
        else:
            shutil.copytree(previous / "data", here / "data")
            _copy_ledger(previous / "ledger.db", here / "ledger.db")
        engine = make_engine(str(here / "ledger.db"))
        close_month(engine, here / "data", month)
        engine.dispose()
        runs[month] = previous = here
    return runs


@pytest.fixture
def clean_run(clean_runs) -> dict[str, Path]:
    """The clean run on the default ledger store."""
    return clean_runs()


@pytest.fixture
def closed(clean_runs, tmp_path):
    """``closed(month, kind=None)``: a fresh copy of the clean run's ledger and archive after ``month`` (on ledger
    store ``kind``, default the default one), as ``setup`` gives."""
    engines = []

    def copy(month: str, kind: str | None = None):
        clean_run = clean_runs(kind)
        data = tmp_path / "data"
        shutil.copytree(clean_run[month] / "data", data)
        _copy_ledger(clean_run[month] / "ledger.db", tmp_path / "ledger.db")
        engines.append(make_engine(str(tmp_path / "ledger.db")))
        return engines[-1], data

    yield copy
    for engine in engines:
        engine.dispose()


def ledger_state(engine):
    with engine.connect() as conn:
        return (
            execute(conn, "SELECT count(*), coalesce(sum(points), 0) FROM journal"),
            execute(conn, "SELECT count(*), coalesce(sum(balance), 0) FROM members"),
        )


def snapshot(data, month):
    return store.read(data, "snapshots", month)


def test_close_accrues_each_paid_bill_once_and_snapshots_every_member(setup):
    engine, data = setup
    result = close_month(engine, data, "2026-08")
    import duckdb

    con = duckdb.connect()
    paid = con.execute(
        f"SELECT count(*) FROM read_parquet('{data}/bills/*.parquet') WHERE month='2026-08' AND paid"
    ).fetchone()[0]
    tops = con.execute(
        f"SELECT count(*) FROM read_parquet('{data}/recharges/*.parquet') WHERE month='2026-08'"
    ).fetchone()[0]
    joined = con.execute(
        f"SELECT count(*) FROM read_parquet('{data}/members/*.parquet') WHERE join_date <= DATE '2026-08-31'"
    ).fetchone()[0]
    assert result["accrual"]["bills"] == paid and result["accrual"]["recharges"] == tops
    assert result["accrual"]["posted"] == paid + tops and result["accrual"]["rejected"] == 0
    snap = snapshot(data, "2026-08")
    assert snap.num_rows == joined == result["summary"]["members"]
    assert snap["member_id"].to_pylist() == sorted(snap["member_id"].to_pylist())
    active = snap.filter(pc.equal(snap["status"], "active"))
    assert pc.all(pc.is_valid(active["tier"])).as_py() and pc.all(pc.is_valid(active["star_level"])).as_py()
    assert pc.sum(snap["points_balance"]).as_py() == result["summary"]["points"]["outstanding"]
    assert result["summary"]["liability_yuan"] == f"{result['summary']['points']['outstanding'] / 100:.2f}"
    assert verify(engine)[0] == []


def test_rerunning_a_closed_month_changes_nothing(closed):
    engine, data = closed("2026-08")
    before = ledger_state(engine), snapshot(data, "2026-08")
    again = close_month(engine, data, "2026-08")
    assert again["already_closed"] is True
    assert (ledger_state(engine), snapshot(data, "2026-08")) == before


def test_months_close_in_order_and_missing_inputs_are_listed(setup):
    engine, data = setup
    with pytest.raises(CloseRefused) as refused:
        close_month(engine, data, "2026-11")
    assert refused.value.missing == ["bills: no rows for 2026-11", "usage: no rows for 2026-11"]
    close_month(engine, data, "2026-08")
    with pytest.raises(CloseRefused, match="close 2026-09 first"):
        close_month(engine, data, "2026-10")
    shutil.rmtree(data / "usage")
    with pytest.raises(CloseRefused) as refused:
        close_month(engine, data, "2026-09")
    assert refused.value.missing == [f"usage: no files in {data / 'usage'}"]


CRASH_POINTS = ["accrual", "accrual-batches", "expiry", "history", "tier_events", "snapshots", "manifest"]

# the set-based accrual's loading process, killed in its second chunk's insert
CRASHING_LOADER = [
    sys.executable,
    "-c",
    "\n".join(
        [
            "import os, sys, pyarrow as pa",
            "from weixi.close import accrual_load as L",
            "calls = []",
            "def cut(reader):",
            "    calls.append(1)",
            "    if len(calls) <= 4:",
            "        return reader",
            "    def batches():",
            "        yield reader.read_next_batch()",
            "        os._exit(9)",
            "    return pa.RecordBatchReader.from_batches(reader.schema, batches())",
            "load = L.load",
            "L.load = lambda **kw: load(**kw, batches=cut)",
            "L.BATCH = 100",
            "sys.exit(L.main())",
        ]
    ),
]


# ``accrual`` and ``accrual-batches`` crash the SQL store's accrual inside (its loading process, its batches): on the
# SQL store only, the lake's accrual has its own crash matrix (test_lake_close_guarantees.py); the later steps on both
CRASHES = [(c, "sql") for c in CRASH_POINTS[:2]] + [(c, kind) for c in CRASH_POINTS[2:] for kind in ("lake", "sql")]


@pytest.mark.parametrize(("crash_at", "kind"), CRASHES, ids=[f"{c}-{k}" for c, k in CRASHES])
def test_a_crash_at_any_step_then_a_rerun_gives_what_a_clean_run_gives(closed, clean_runs, monkeypatch, crash_at, kind):
    monkeypatch.setenv(settings.LEDGER_STORE.name, kind)
    engine, data = closed(MONTHS[0], kind)  # the first month closed cleanly
    clean_dir = clean_runs(kind)[MONTHS[1]] / "data"
    clean_engine = make_engine(str(clean_runs(kind)[MONTHS[1]] / "ledger.db"))

    import weixi.close.run as run

    class Crash(Exception):
        pass

    def boom(*args, **kwargs):
        raise Crash(crash_at)

    if crash_at == "accrual":
        monkeypatch.setattr("weixi.close.accrual.LOADER", CRASHING_LOADER)
        monkeypatch.setattr("weixi.close.accrual.CHUNK", 500)
    elif crash_at == "accrual-batches":
        monkeypatch.setenv("WEIXI_ACCRUAL", "batches")
        from weixi.ledger import posting

        real_batch = posting.post_batch
        calls = {"n": 0}

        def half(conn, events, path="auto", **options):
            calls["n"] += 1
            if calls["n"] == 2:
                raise Crash("half-way through accrual")
            return real_batch(conn, events, path, **options)

        monkeypatch.setattr(posting, "post_batch", half)
        monkeypatch.setattr("weixi.close.accrual.CHUNK", 500)
    elif crash_at == "expiry":
        monkeypatch.setattr(run, "expire", boom)
    elif crash_at == "manifest":
        monkeypatch.setattr(run.store, "write_manifest", boom)
    else:
        real_write = store.write_query

        def write(duck, data_dir, dataset, month, sql):
            if dataset == crash_at:
                real_write(duck, data_dir, dataset, month, f"SELECT * FROM ({sql}) LIMIT 10")  # a partial file
                raise Crash(dataset)
            return real_write(duck, data_dir, dataset, month, sql)

        monkeypatch.setattr(run.store, "write_query", write)
    with pytest.raises(RuntimeError if crash_at == "accrual" else Crash):
        close_month(engine, data, MONTHS[1])
    monkeypatch.undo()
    monkeypatch.setenv(settings.LEDGER_STORE.name, kind)
    close_month(engine, data, MONTHS[1])
    assert snapshot(data, MONTHS[1]) == snapshot(clean_dir, MONTHS[1])
    assert ledger_state(engine) == ledger_state(clean_engine)
    assert verify(engine)[0] == []
    clean_engine.dispose()


def _crash_after_accrual(monkeypatch, engine, data, month):
    """Close ``month`` until its history file is being written, then fail (accrual and expiry are done)."""
    real_write = store.write_query

    def write(duck, data_dir, dataset, m, sql):
        if dataset == "history":
            raise RuntimeError("crash after accrual")
        return real_write(duck, data_dir, dataset, m, sql)

    monkeypatch.setattr("weixi.close.run.store.write_query", write)
    with pytest.raises(RuntimeError):
        close_month(engine, data, month)
    monkeypatch.undo()


def test_a_rerun_after_a_crash_past_accrual_does_not_read_the_bills_again(closed, monkeypatch):
    engine, data = closed(MONTHS[0])
    _crash_after_accrual(monkeypatch, engine, data, MONTHS[1])
    monkeypatch.setattr(
        "weixi.close.accrual.post_events", lambda *a, **k: pytest.fail("the month's bills were read and posted again")
    )
    done = close_month(engine, data, MONTHS[1])
    assert done["accrual"]["posted"] > 0 and done["accrual"]["duplicates"] == 0  # what the crashed run posted
    assert verify(engine)[0] == []


def test_a_bill_loaded_after_the_crash_is_posted_by_the_rerun(closed, monkeypatch, tmp_path):
    engine, data = closed(MONTHS[0])
    _crash_after_accrual(monkeypatch, engine, data, MONTHS[1])
    bills = pq.read_table(data / "bills", filters=[("month", "=", MONTHS[1]), ("paid", "=", True)])
    late = bills.slice(0, 1).to_pylist()
    late[0]["bill_id"] = "LATE-0001"
    path = tmp_path / "late-bill.parquet"
    pq.write_table(pa.Table.from_pylist(late, schema=bills.schema), path)
    assert load_file(path, "bills", data, today=date(2026, 11, 15))["loaded"] == 1
    done = close_month(engine, data, MONTHS[1])
    assert (
        done["accrual"]["posted"] == 1
        and done["accrual"]["duplicates"] == bills.num_rows + done["accrual"]["recharges"]
    )
    with engine.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM events WHERE event_id = 'LATE-0001'") == [(1,)]


def test_a_ledger_made_anew_does_not_trust_the_accrual_marker(setup, tmp_path, monkeypatch):
    # the SQL store's accrual marker (close/accrual/MONTH.json); the lake's counterpart, its watermark, is
    # test_lake_close_guarantees.py's test_a_ledger_made_anew_does_not_trust_the_lake_watermark_of_another_database
    monkeypatch.setenv(settings.LEDGER_STORE.name, "sql")
    engine, data = setup
    close_month(engine, data, MONTHS[0])
    assert (data / "close" / "accrual" / f"{MONTHS[0]}.json").exists()
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):  # the same database file (same URL), deleted and made anew
        Path(str(tmp_path / "ledger.db") + suffix).unlink(missing_ok=True)
    shutil.rmtree(data / "close" / "closes")  # and the month not closed any more
    again = make_engine(str(tmp_path / "ledger.db"))
    schema.upgrade(again)
    apply_plan(again, PLAN)
    done = close_month(again, data, MONTHS[0])
    with again.connect() as conn:
        posted = execute(conn, "SELECT count(*) FROM events")[0][0]
    assert posted == done["accrual"]["posted"] > 0 and verify(again)[0] == []
    again.dispose()


def test_the_ledger_is_read_through_adbc_only_in_a_child_process(setup, monkeypatch):
    import adbc_driver_sqlite
    import adbc_driver_sqlite.dbapi as adbc

    from weixi.close import ledger_bridge

    engine, data = setup
    for module in (adbc, adbc_driver_sqlite):  # the DB-API's and the low-level API's (weixi.adapters.adbc_sqlite)
        monkeypatch.setattr(module, "connect", lambda *a, **k: pytest.fail("ADBC's SQLite opened in the app's process"))
    close_month(engine, data, MONTHS[0])
    balances = ledger_bridge.balances(engine)
    with engine.connect() as conn:
        members, points = execute(conn, "SELECT count(*), sum(balance) FROM members")[0]
    # each balance over both stores: the SQL balance and the lake's unfolded points
    total = points + ledger_bridge.lake_outstanding(engine)
    assert balances.num_rows == members > 0 and pc.sum(balances["points_balance"]).as_py() == total > 0


def test_the_months_ledger_totals_read_that_month_only(closed):
    """Points earned and the month's totals read the month's journal entries through the day index, not the
    whole journal (which grows by tens of millions of entries a month at operator scale); and they count only
    that month."""
    from weixi.close import ledger_bridge
    from weixi.close.months import first_day, next_month

    engine, data = closed(MONTHS[1])  # both months closed
    start, end = first_day(MONTHS[1]), first_day(next_month(MONTHS[1]))
    with engine.connect() as conn:
        for sql in (
            "SELECT member_id, sum(points) FROM journal WHERE kind = 'earn' AND day >= ? AND day < ? "
            "GROUP BY member_id",
            "SELECT kind, coalesce(sum(points), 0) FROM journal WHERE day >= ? AND day < ? GROUP BY kind",
        ):
            plan = " ".join(str(r[-1]) for r in execute(conn, "EXPLAIN QUERY PLAN " + sql, [start, end]))
            assert "ix_journal_day" in plan and "SCAN journal" not in plan, plan
        earned = execute(
            conn,
            "SELECT coalesce(sum(points), 0) FROM journal WHERE kind = 'earn' AND day >= ? AND day < ?",
            [start.isoformat(), end.isoformat()],
        )[0][0]
        folded = {
            m for m, through in execute(conn, "SELECT member_id, month FROM ledger_folds") if through >= MONTHS[1]
        }
    earned += _lake_earned(data, start, end, folded)
    assert 0 < pc.sum(ledger_bridge.points_earned(engine, MONTHS[1])["points_earned"]).as_py() == earned
    assert ledger_bridge.month_totals(engine, MONTHS[1])["issued"] >= earned


def _lake_earned(data: Path, start: date, end: date, folded: set[str]) -> int:
    """The points the lake's accruals earned on days ``[start, end)`` for members no fold brought into the journal
    (0 on the SQL store, whose journal holds every earn entry)."""
    from weixi.adapters import duck, lake
    from weixi.ledger.fold import accruals_dir

    files = lake.file_uris(accruals_dir(data))
    if not files:
        return 0
    con = duck.connect()
    try:
        rows = con.execute(
            "SELECT member_id, sum(earned) FROM read_parquet(?) WHERE earned > 0 AND day >= ? AND day < ? "
            "GROUP BY member_id",
            [files, start, end],
        ).fetchall()
    finally:
        con.close()
    return sum(int(p) for m, p in rows if m not in folded)


@pytest.mark.slow  # PySpark local mode: a JVM and the closes of tests/integration/engine_closes.py
@pytest.mark.spark
def test_duckdb_and_pyspark_give_identical_snapshots(engine_closes):
    # the two months closed on each engine with loaded corrections, on PySpark with no Spark result pulled into
    # the driver (Spark writes the files, the driver only commits them): tests/integration/engine_closes.py
    duck, spark = engine_closes.duckdb, engine_closes.pyspark
    for closed in (duck, spark):
        assert closed.scratch_left == []  # Spark's intermediate files removed
        assert closed.damage == []  # every file the lake's versions list is there, whole
    assert all(n == 1 for counts in duck.files.values() for n in counts)
    assert all(n >= 2 for counts in spark.files.values() for n in counts)  # cut into member ranges, in order
    for a, b in zip(duck.snapshots, spark.snapshots):
        assert a.schema == b.schema
        assert a.equals(b)
    august = spark.snapshots[0].to_pylist()
    by_id = {r["member_id"]: r for r in august}
    member, bill_member, old_spend = engine_closes.expect
    assert by_id[member]["city"] == "校正市二"  # the second load replaced the first
    assert by_id[bill_member]["month_spend_fen"] == old_spend + 1_000_000  # the corrected bill, not the original
    for a, b in zip(duck.tier_events, spark.tier_events):
        assert a.sort_by("member_id").equals(b.sort_by("member_id"))
    for kind in ("history", "stars"):  # Spark wrote these files itself (and the snapshots)
        for a, b in zip(getattr(duck, kind), getattr(spark, kind)):
            assert a.equals(b)  # the same types and nullability, sorted by member the same way
    assert duck.history[0].num_rows and duck.stars[1].num_rows


def test_member_360_after_closes(closed):
    from weixi.members.member360 import member_360

    engine, data = closed(MONTHS[1])  # both months closed
    snap = snapshot(data, MONTHS[1])
    snap = snap.filter(
        pc.and_(pc.equal(snap["status"], "active"), pc.less(snap["join_date"], pa.scalar(date(2026, 8, 1))))
    )
    member = snap["member_id"][0].as_py()
    found = member_360(engine, data, member)
    assert found["profile"]["phone"][3:7] == "****" and "*" in found["profile"]["id_number"]
    assert [h["month"] for h in found["tier"]["history"]] == MONTHS[:2]
    assert found["tier"]["current"] == snap["tier"][0].as_py()
    assert found["segments"]["star_level"] == snap["star_level"][0].as_py()
    assert [a["month"] for a in found["recent_activity"]] == ["2026-09", "2026-08"]  # newest first
    assert found["points"]["balance"] == snap["points_balance"][0].as_py()
    revealed = member_360(engine, data, member, reveal=True)
    assert "*" not in revealed["profile"]["phone"]
    assert member_360(engine, data, "M9999999999") is None
