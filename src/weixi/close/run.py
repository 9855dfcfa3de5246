"""``weixi close --month YYYY-MM``: accrual, expiry, tier evaluation, segmentation, snapshot, summary.

Idempotent: a closed month is not closed again; a crash at any step followed by a rerun gives what a clean
run gives, because every step either is keyed by source ids (accrual), finds nothing left to do (expiry)
or is a pure function of its inputs written atomically (history, tiers, segments, snapshot), and the
manifest that marks the month closed is written last.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
from sqlalchemy import Engine

from weixi.close import backends, ledger_bridge, store
from weixi.close.accrual import accrue
from weixi.close.history import HISTORY_SCHEMA, members_table, month_history
from weixi.close.inputs import missing_inputs
from weixi.close.months import first_day, month_end, next_month, previous_month, window
from weixi.close.snapshot import build_snapshot, summarize
from weixi.plans.model import Plan
from weixi.segments import evaluate_tiers, segment
from weixi.service_layer.expiry import expire
from weixi.service_layer.plans import active_plan

STEPS = ("accrual", "expiry", "history", "tiers", "segments", "snapshot")
HISTORY_MONTHS = 12


class CloseRefused(Exception):
    def __init__(self, message: str, missing: list[str] | None = None):
        super().__init__(message)
        self.missing = missing or []


@dataclass
class Progress:
    """Callbacks the CLI uses for progress bars; silent by default."""

    step: Callable[[str], None] = lambda name: None
    advance: Callable[[int], None] = lambda n: None


def close_month(engine: Engine, data_dir: Path, month: str, engine_name: str = "duckdb",
                progress: Progress | None = None, spark=None) -> dict:
    data_dir = Path(data_dir)
    progress = progress or Progress()
    done = store.read_manifest(data_dir, month)
    if done and done.get("status") == "closed":
        return {**done, "already_closed": True}
    closed = store.closed_months(data_dir)
    if closed and month < closed[-1]:
        raise CloseRefused(f"{month} is before the last closed month {closed[-1]}: months close in order")
    if closed and month != next_month(closed[-1]):
        raise CloseRefused(f"close {next_month(closed[-1])} first: the last closed month is {closed[-1]}")
    missing = missing_inputs(data_dir, month)
    if missing:
        raise CloseRefused(f"inputs for {month} are missing", missing)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        version, plan = active_plan(conn)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str):
        progress.step(name)
        timings[name] = time.perf_counter()

    def finish(name: str):
        timings[name] = round(time.perf_counter() - timings[name], 3)

    step("accrual")
    accrual = accrue(engine, data_dir, month, ZoneInfo(plan.timezone), progress.advance)
    finish("accrual")

    step("expiry")
    expired = expire(engine, first_day(next_month(month)))
    finish("expiry")

    con = backends.connect(engine_name, spark)
    step("history")
    points = con.create_table("ledger_points", ledger_bridge.points_earned(engine, month), overwrite=True) \
        if engine_name == "duckdb" else ibis.memtable(ledger_bridge.points_earned(engine, month))
    hist_now = con.to_pyarrow(month_history(con, data_dir, month, points)).cast(HISTORY_SCHEMA)
    store.write(data_dir, "history", month, hist_now.sort_by("member_id"))
    history = _history_window(con, data_dir, month)
    members = members_table(con, data_dir, month)
    finish("history")

    step("tiers")
    previous = _previous_tiers(con, data_dir, month)
    tier_state, tier_events = evaluate_tiers(members, history, previous, plan, month)
    tiers_pa = con.to_pyarrow(tier_state)
    events_pa = con.to_pyarrow(tier_events)
    store.write(data_dir, "tier_events", month, events_pa.sort_by([("member_id", "ascending")]))
    finish("tiers")

    step("segments")
    segments_pa = con.to_pyarrow(segment(members, history, plan, month))
    finish("segments")

    step("snapshot")
    snapshot = build_snapshot(con, data_dir, month, members, tiers_pa, segments_pa, hist_now,
                              ledger_bridge.balances(engine))
    store.write(data_dir, "snapshots", month, snapshot)
    ledger_bridge.set_tiers(engine, list(zip(tiers_pa["member_id"].to_pylist(), tiers_pa["tier"].to_pylist())))
    finish("snapshot")

    totals = ledger_bridge.month_totals(engine, month)
    manifest = {
        "month": month, "status": "closed", "engine": engine_name, "plan_version": version, "plan": plan.id,
        "accrual": accrual.__dict__, "expiry": {"as_of": str(expired.as_of), "lots": expired.lots,
                                                "points": expired.points},
        "summary": summarize(snapshot, events_pa, totals, plan), "seconds": timings,
        "wall_seconds": round(time.perf_counter() - started, 3),
    }
    store.write_manifest(data_dir, month, manifest)
    return {**manifest, "already_closed": False}


def _history_window(con, data_dir: Path, month: str) -> ibis.Table:
    months = [m for m in window(month, HISTORY_MONTHS) if store.read(data_dir, "history", m) is not None]
    tables = [store.read(data_dir, "history", m) for m in months]
    return _register(con, "history_window", pa.concat_tables(tables))


def _previous_tiers(con, data_dir: Path, month: str) -> ibis.Table:
    prev = store.read(data_dir, "snapshots", previous_month(month))
    if prev is None:
        prev = pa.table({"member_id": pa.array([], pa.string()), "tier": pa.array([], pa.string()),
                         "tier_since": pa.array([], pa.date32()), "grace_until": pa.array([], pa.date32())})
    else:
        prev = prev.select(["member_id", "tier", "tier_since", "grace_until"])
    return _register(con, "previous_tiers", prev)


def _register(con, name: str, table: pa.Table) -> ibis.Table:
    if con.name == "duckdb":
        return con.create_table(name, table, overwrite=True)
    return ibis.memtable(table)
