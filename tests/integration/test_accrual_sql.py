"""The close's set-based accrual (a loading process, DuckDB SQL) writes exactly the rows the batch path writes:
every column of events, lots, journal (ids included), members and rejections, over three closed months of a
generated operator with tier multipliers, service-type rules, windows that open and close inside a month, all
three roundings, a duplicate and a rejected id. A member the Book must handle sends the month to the batches; a
crash mid-load leaves nothing and the rerun posts every bill once."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from weixi import settings
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.close import accrual, store
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import active_plan, apply_plan

MONTHS = ["2026-08", "2026-09", "2026-10"]
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _sql_store(monkeypatch):
    """This module tests the SQL store's own accrual (its loading process, its chunks, its hand-over to the
    batches): it runs on the SQL store whatever the default. The lake's accrual and its guarantees:
    test_lake_ledger.py, test_lake_close_guarantees.py."""
    monkeypatch.setenv(settings.LEDGER_STORE.name, "sql")


PLAN = """\
plan: accrual-sql
name: accrual
expiry: {end_of_month_after: 2}
tiers:
  - {id: standard, name: S, rank: 0}
  - {id: silver, name: Si, rank: 1, multiplier: 1.2, qualify: 20}
  - {id: gold, name: G, rank: 2, multiplier: 1.5, qualify: 60}
  - {id: plat, name: P, rank: 3, multiplier: 2.25, qualify: 150}
tier_policy: {measure: points_earned, window_months: 12, upgrade: immediate, review_months: [12], grace_months: 3}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 10}
  - {id: mobile, type: spend, points: 1.5, per_yuan: 7, rounding: half_up, service_types: [mobile]}
  - {id: broadband, type: spend, points: 3, per_yuan: 20, rounding: ceil, service_types: [broadband, value_added],
     window: {from: 2026-09-10, to: 2026-10-31}}
  - {id: recharge, type: recharge, points: 10, per_full_yuan: 30}
  - {id: recharge-spend, type: spend, on: [recharge], points: 0.5, per_yuan: 3, rounding: half_up,
     window: {from: 2026-08-15, to: 2026-09-20}}
  - {id: checkin, type: checkin, points: 5}
  - {id: tier-bonus, type: tier_multiplier, applies_to: [bill, mobile, recharge, recharge-spend]}
  - {id: tier-extra, type: tier_multiplier, applies_to: [broadband], rounding: half_up,
     window: {from: 2026-10-25, to: 2026-11-05}}
rewards:
  - {id: gift, type: gift, name: cup, cost: 50}
"""

TABLES = {
    "events": "event_id",
    "lots": "lot_id",
    "journal": "id",
    "members": "member_id",
    "rejections": "event_id",
}


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("accrual-operator") / "data"
    generate(GenerateConfig(members=900, months=3, seed=23, out=str(out), end_month="2026-10"))
    return out


def _ledger(tmp_path: Path, operator: Path, name: str):
    data = tmp_path / name / "data"
    shutil.copytree(operator, data)
    plan = tmp_path / name / "plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    engine = make_engine(str(tmp_path / name / "ledger.db"))
    schema.upgrade(engine)
    apply_plan(engine, plan)
    return engine, data, tmp_path / name / "ledger.db"


def dump(path: Path) -> dict:
    """Every row of the ledger's tables, each value with its SQLite storage class."""
    with sqlite3.connect(path) as db:
        out = {}
        for table, key in TABLES.items():
            cols = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
            pairs = ", ".join(f"{c}, typeof({c})" for c in cols)
            out[table] = db.execute(f"SELECT {pairs} FROM {table} ORDER BY {key}").fetchall()
        return out


def _twists(engine, data_month_bill: str, rejected_bill: str, member: str) -> None:
    """The same online activity in both ledgers before the second month's close: one of the month's bills
    already posted through the API, one rejected earlier, and a member whose stored tier the plan does not know."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO rejections (event_id, member_id, type, day, reason, plan_version) "
            "VALUES (?, ?, 'bill', '2026-09-03', 'amount_fen: test rejection', 1)",
            (rejected_bill, member),
        )
        conn.exec_driver_sql("UPDATE members SET tier = 'ghost' WHERE member_id = ?", (member,))
    post_events(
        engine,
        [
            Event(
                data_month_bill,
                member,
                "bill",
                datetime(2026, 9, 5, 12, tzinfo=TZ),
                datetime(2026, 9, 5).date(),
                12345,
                None,
                None,
                {"service_type": "mobile"},
            )
        ],
    )


def _september_bills(data: Path) -> list[tuple]:
    import duckdb

    return (
        duckdb.connect()
        .execute(
            f"SELECT bill_id, member_id FROM read_parquet('{data}/bills/*.parquet') WHERE month = '2026-09' AND paid "
            f"ORDER BY bill_id LIMIT 2"
        )
        .fetchall()
    )


def test_the_set_based_accrual_writes_exactly_what_the_batches_write(operator, tmp_path, monkeypatch):
    results = {}
    for mode in ("batches", "set"):
        monkeypatch.setenv(accrual.PATH_ENV, mode)
        engine, data, db = _ledger(tmp_path, operator, mode)
        (dup, member), (rejected, _) = _september_bills(data)
        for month in MONTHS:
            if month == "2026-09":
                _twists(engine, dup, rejected, member)
            done = close_month(engine, data, month)["accrual"]
            assert (done.pop("seconds") is None) == (mode == "batches")  # the loading process reports its steps
            results[mode, month] = done
        assert verify(engine)[0] == []
        engine.dispose()
    for month in MONTHS:
        assert results["set", month] == results["batches", month]
    sept = results["set", "2026-09"]
    assert sept["duplicates"] == 1 and sept["rejected"] == 1 and sept["reasons"] == {"amount_fen": 1}
    assert sept["posted"] == sept["bills"] + sept["recharges"] - 2
    fast, slow = dump(tmp_path / "set" / "ledger.db"), dump(tmp_path / "batches" / "ledger.db")
    for table in TABLES:
        assert fast[table] == slow[table], table
    journal = fast["journal"]
    rules = {row[16] for row in journal}  # rule_id (each value is followed by its type)
    assert {"bill", "mobile", "broadband", "recharge", "recharge-spend", "tier-bonus", "tier-extra"} <= rules
    notes = [row[18] for row in journal if row[16] == "tier-bonus"]
    assert any("x (1.5 - 1)" in n for n in notes) and any("x (2.25 - 1)" in n for n in notes)


def _loader(*lines: str) -> list[str]:
    code = "\n".join(["import sys", "from weixi.close import accrual_load as L", *lines, "sys.exit(L.main())"])
    return [sys.executable, "-c", code]


def _reference(
    tmp_path, operator, monkeypatch, name: str, months: list[str], prepare=lambda engine, data: None, close=True
):
    """The ledger the per-batch path makes of ``months`` (what any set-based run must equal): closed, or only
    accrued."""
    with monkeypatch.context() as m:
        m.setenv(accrual.PATH_ENV, "batches")
        engine, data, db = _ledger(tmp_path, operator, name)
        prepare(engine, data)
        for month in months:
            if close:
                close_month(engine, data, month)
            else:
                accrual.accrue(engine, data, month, TZ, None, *_plan(engine))
        engine.dispose()
    return dump(db)


def test_a_crash_mid_load_keeps_the_committed_chunks_and_the_rerun_gives_what_a_clean_run_gives(
    operator, tmp_path, monkeypatch
):
    monkeypatch.setattr(accrual, "CHUNK", 700)  # the loading process's transactions: 700 events each
    clean = _reference(tmp_path, operator, monkeypatch, "clean", ["2026-08"])
    engine, data, db = _ledger(tmp_path, operator, "crash")
    crash = _loader(
        "L.BATCH = 100",
        "import os, pyarrow as pa",
        "calls = []",
        "def cut(reader):",
        "    calls.append(1)",
        "    if len(calls) <= 4:  # the first chunk: events, lots, journal, members",
        "        return reader",
        "    def batches():",
        "        yield reader.read_next_batch()",
        "        os._exit(9)  # killed mid-insert in the second chunk: no rollback, no commit",
        "    return pa.RecordBatchReader.from_batches(reader.schema, batches())",
        "load = L.load",
        "L.load = lambda **kw: load(**kw, batches=cut)",
    )
    monkeypatch.setattr(accrual, "LOADER", crash)
    with pytest.raises(RuntimeError, match="run the close again"):
        close_month(engine, data, "2026-08")
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 700  # the first chunk only
    monkeypatch.setattr(accrual, "LOADER", _loader("L.BATCH = 100"))
    first = close_month(engine, data, "2026-08")["accrual"]
    assert first["posted"] == first["bills"] + first["recharges"] - 700 and first["duplicates"] == 700
    assert dump(db) == clean
    accrual._marker(data, "2026-08").unlink()  # make a rerun read every bill again
    again = accrual.accrue(engine, data, "2026-08", TZ, None, *_plan(engine))
    assert again.posted == 0 and again.duplicates == first["bills"] + first["recharges"]
    assert dump(db) == clean and verify(engine)[0] == []
    engine.dispose()


def _plan(engine):
    with engine.connect() as conn:
        version, plan = active_plan(conn)
    return plan, version


def _last_billed_member(data: Path) -> str:
    import duckdb

    return (
        duckdb.connect()
        .execute(
            f"SELECT member_id FROM read_parquet('{data}/bills/*.parquet') WHERE month = '2026-09' AND paid "
            f"ORDER BY billed_on DESC, bill_id DESC LIMIT 1"
        )
        .fetchone()[0]
    )


def test_a_member_who_owes_points_sends_the_rest_of_the_month_to_the_batches(operator, tmp_path, monkeypatch):
    monkeypatch.setattr(accrual, "CHUNK", 700)

    def owe(engine, data):
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO members (member_id, balance, debt) VALUES (?, 0, 7)", (_last_billed_member(data),)
            )

    clean = _reference(tmp_path, operator, monkeypatch, "clean", ["2026-09"], owe, close=False)
    engine, data, db = _ledger(tmp_path, operator, "debt")
    owe(engine, data)
    plan, version = _plan(engine)
    ticks = []
    posted = accrual.accrue(engine, data, "2026-09", TZ, ticks.append, plan, version)
    assert posted.seconds is not None  # the loading process posted the chunks before the member's
    assert ticks[0] == 700 and sum(ticks) == posted.bills + posted.recharges  # progress: chunks, then batches
    assert posted.posted == posted.bills + posted.recharges and posted.duplicates == 0
    assert dump(db) == clean
    with sqlite3.connect(db) as con:  # the Book took the debt out of the member's new points
        assert (
            con.execute("SELECT debt FROM members WHERE member_id = ?", (_last_billed_member(data),)).fetchone()[0] == 0
        )
    engine.dispose()


def test_the_ledger_takes_every_members_evaluated_tier(operator, tmp_path):
    """The close writes each member's evaluated tier into the ledger (the next month's tier multipliers read it):
    every ledger member's tier is the snapshot's; a member whose tier did not change is not written again."""
    import pyarrow as pa

    from weixi.close import ledger_bridge

    engine, data, db = _ledger(tmp_path, operator, "tiers")
    close_month(engine, data, MONTHS[0])
    snap = store.read(data, "snapshots", MONTHS[0])
    tiers = {m: t for m, t in zip(snap["member_id"].to_pylist(), snap["tier"].to_pylist()) if t is not None}
    with sqlite3.connect(db) as con:
        ledger = dict(con.execute("SELECT member_id, tier FROM members"))
    assert len(ledger) > 800 and len(set(tiers.values())) >= 3
    assert {m: t for m, t in ledger.items() if m in tiers} == {m: tiers[m] for m in ledger if m in tiers}
    member = next(iter(ledger))
    again = pa.table({"member_id": [member, "nobody"], "tier": [ledger[member], "gold"]})
    assert ledger_bridge.set_tiers(engine, again) == 0  # the same tier, and a member the ledger does not have
    other = "gold" if ledger[member] != "gold" else "silver"
    assert ledger_bridge.set_tiers(engine, pa.table({"member_id": [member], "tier": [other]})) == 1
    engine.dispose()
