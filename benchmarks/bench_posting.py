"""Posting throughput: the set-based bulk path and the per-event Book against a bare ``executemany``.

``run()`` builds ``n_events`` bill events (about a fifth recharges would change nothing here: same path) for
``n_members`` members in memory, then, on embedded SQLite files under ``workdir``:

1. baseline: one ``executemany`` of the same number of rows, 8 columns like an event file
   (event_id, member_id, type, occurred_at, amount, points, ref, attrs) into a plain table, one transaction,
   in the database the bulk path then posts to (same engine, same PRAGMAs: WAL, synchronous=FULL);
2. bulk: ``post_events(..., path="bulk")`` of all events in batches of ``bulk_batch``;
3. book: ``post_events(..., path="book")`` of the first ``book_events`` events in batches of 5,000 (the Book's
   default) into a fresh database, scaled to ``n_events`` (its cost per event does not grow with the ledger
   much at this size);
4. lake (``lake=True``): ``weixi events post``'s path with ``WEIXI_LEDGER_STORE=lake``
   (:func:`weixi.close.post_lake.post_file_events`: the bills into the lake's ``accruals`` table through the close's
   statements) into a fresh lake-mode database, against a bare ``executemany`` measured in that database just before
   (issue 21's target: within 3x); ``lake_accrual_s`` of it in :func:`weixi.close.accrual_lake.post` (the
   statements, the Parquet file, the commit, the balances), ``lake_prepare_s`` the rest (the file's rows in Python).

Building the events is not timed in any of them. Returns the measured numbers as a dict.
"""

from __future__ import annotations

import gc
import os
import random
import shutil
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from benchmarks.common import bare_insert_seconds, fresh_db
from weixi.close import accrual_lake
from weixi.close.post_lake import post_file_events
from weixi.ledger.bulk import BULK_BATCH
from weixi.ledger.events import Event
from weixi.ledger.posting import BATCH, post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

PLAN = """\
plan: bench
name: benchmark plan
expiry: {months_after: 12}
tiers:
  - {id: standard, name: standard, rank: 0}
  - {id: silver, name: silver, rank: 1, multiplier: 1.2}
  - {id: gold, name: gold, rank: 2, multiplier: 1.5}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 10}
  - {id: broadband, type: spend, points: 1, per_yuan: 20, rounding: half_up, service_types: [broadband]}
  - {id: recharge, type: recharge, points: 10, per_full_yuan: 100}
  - {id: tier-bonus, type: tier_multiplier}
"""

TZ = timezone(timedelta(hours=8))


def make_events(n_events: int, n_members: int, seed: int = 1) -> tuple[list[Event], list[tuple]]:
    """Bills of one month: random members and amounts (fen), some with a service type, a tenth naming a tier.
    Also the same rows as the 8 text columns of an event file, for the baseline."""
    rng = random.Random(seed)
    members = [f"1{i:010d}" for i in range(n_members)]  # phone-number-like member ids
    moments = [datetime(2026, 1, 1 + d, h, 30, tzinfo=TZ) for d in range(28) for h in range(24)]
    attr_pool = [
        {},
        {},
        {},
        {"service_type": "mobile"},
        {"service_type": "broadband"},
        {"tier": "gold"},
        {"tier": "silver", "service_type": "mobile"},
        {},
        {},
        {},
    ]
    events, rows = [], []
    for i in range(n_events):
        moment = moments[rng.randrange(len(moments))]
        fen = rng.randrange(0, 60_000)
        attrs = attr_pool[rng.randrange(len(attr_pool))]
        event_id = f"BILL-202601-{i:09d}"
        member = members[rng.randrange(n_members)]
        events.append(Event(event_id, member, "bill", moment, moment.date(), fen, None, None, attrs, i + 2))
        rows.append(
            (event_id, member, "bill", moment.isoformat(), f"{fen // 100}.{fen % 100:02d}", None, None, _json(attrs))
        )
    return events, rows


def _json(attrs: dict) -> str | None:
    import json

    return json.dumps(attrs) if attrs else None


# Schema changes proposed for the bulk path, measured with ``run(schema_changes=...)`` (not applied to the
# product's schema here: they belong in a migration).
SCHEMA_CHANGES = {
    # no query reads events by member (statements read the journal)
    "drop_ix_events_member": ["DROP INDEX ix_events_member"],
    # no query reads the journal by event_id; earn entries are found by lot_id (= event_id) anyway
    "drop_ix_journal_event": ["DROP INDEX ix_journal_event"],
    # the journal is append-only: INTEGER PRIMARY KEY ids already grow; AUTOINCREMENT adds a sqlite_sequence
    # read and write per inserted row
    "journal_no_autoincrement": ["journal:no_autoincrement"],
    # events and lots are looked up by their text key: store them in that b-tree (one b-tree less per row)
    "without_rowid": ["events:without_rowid", "lots:without_rowid"],
}


def _rebuild(conn, table: str, change: str) -> None:
    ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    indexes = [
        r[0]
        for r in conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        )
    ]
    ddl = ddl.replace(" AUTOINCREMENT", "") if change == "no_autoincrement" else ddl.rstrip() + " WITHOUT ROWID"
    conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.exec_driver_sql(ddl)
    for sql in indexes:
        conn.exec_driver_sql(sql)


def apply_schema_changes(engine, names) -> None:
    with engine.begin() as conn:
        for name in names:
            for step in SCHEMA_CHANGES[name]:
                if ":" in step:
                    _rebuild(conn, *step.split(":"))
                else:
                    conn.exec_driver_sql(step)


def _fresh(workdir: Path, name: str, plan_path: Path, schema_changes=()):
    engine = fresh_db(workdir, name)
    apply_schema_changes(engine, schema_changes)
    apply_plan(engine, plan_path)
    return engine


def run(
    n_events: int = 1_000_000,
    n_members: int = 100_000,
    workdir: str | Path | None = None,
    bulk_batch: int = BULK_BATCH,
    book_events: int | None = 200_000,
    check: bool = True,
    schema_changes: tuple[str, ...] = (),
    lake: bool = True,
) -> dict:
    work = Path(tempfile.mkdtemp(prefix="weixi-bench-", dir=workdir or "/tmp"))
    try:
        plan_path = work / "plan.yaml"
        plan_path.write_text(PLAN, encoding="utf-8")
        events, rows = make_events(n_events, n_members)
        out: dict = {"n_events": n_events, "n_members": n_members, "bulk_batch": bulk_batch, "database": "sqlite"}
        if schema_changes:
            out["schema_changes"] = list(schema_changes)

        engine = _fresh(work, "bulk", plan_path, schema_changes)
        gc.collect()
        out["baseline_s"] = bare_insert_seconds(engine, rows)
        gc.collect()
        start = time.perf_counter()
        result = post_events(engine, events, batch_size=bulk_batch, path="bulk")
        out["bulk_s"] = time.perf_counter() - start
        assert result.posted == n_events and not result.rejected, (result.posted, result.rejected[:3])
        out["bulk_events_per_s"] = n_events / out["bulk_s"]
        out["bulk_ratio_to_baseline"] = out["bulk_s"] / out["baseline_s"]
        if check:
            mismatches, counts = verify(engine)
            out["bulk_verify_mismatches"] = len(mismatches)
            out["bulk_rows"] = counts
        engine.dispose()
        out["db_mb"] = round((work / "bulk.db").stat().st_size / 2**20, 1)
        if lake:
            out.update(_lake_phase(work, plan_path, events, rows, check))
        del rows
        gc.collect()

        if book_events:
            n_book = min(book_events, n_events)
            engine = _fresh(work, "book", plan_path, schema_changes)
            gc.collect()
            start = time.perf_counter()
            result = post_events(engine, events[:n_book], batch_size=BATCH, path="book")
            seconds = time.perf_counter() - start
            assert result.posted == n_book
            engine.dispose()
            out["book_events"] = n_book
            out["book_s"] = seconds
            out["book_events_per_s"] = n_book / seconds
            out["book_s_scaled"] = seconds * n_events / n_book
            out["book_ratio_to_baseline"] = out["book_s_scaled"] / out["baseline_s"]
            out["bulk_speedup_over_book"] = out["book_s_scaled"] / out["bulk_s"]
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _lake_phase(work: Path, plan_path: Path, events: list[Event], rows: list[tuple], check: bool) -> dict:
    """``weixi events post``'s lake path into a fresh lake-mode database (the lake under ``work/lake-data``)."""
    out: dict = {}
    engine = _fresh(work, "lake", plan_path)
    gc.collect()
    out["lake_baseline_s"] = bare_insert_seconds(engine, rows)
    gc.collect()
    before = os.environ.get("WEIXI_LEDGER_STORE")
    os.environ["WEIXI_LEDGER_STORE"] = "lake"
    real_post, spent = accrual_lake.post, []

    def timed_post(*args, **kwargs):  # the breakdown: the lake step vs the file's rows prepared in Python
        start = time.perf_counter()
        try:
            return real_post(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    accrual_lake.post = timed_post
    try:
        start = time.perf_counter()
        result = post_file_events(engine, events, data_dir=work / "lake-data")
        out["lake_s"] = time.perf_counter() - start
        # accrual_lake.post: the SQL ledger's rows of the file's ids, the statements, the Parquet file, the Delta
        # commit, the members' balances; the rest: splitting the file, the time rules, the Arrow table, the merge
        out["lake_accrual_s"] = sum(spent)
        out["lake_prepare_s"] = out["lake_s"] - out["lake_accrual_s"]
        assert result.posted == len(events) and not result.rejected, (result.posted, result.rejected[:3])
        out["lake_events_per_s"] = len(events) / out["lake_s"]
        out["lake_ratio_to_baseline"] = out["lake_s"] / out["lake_baseline_s"]
        with engine.connect() as conn:
            out["lake_sql_event_rows"] = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
        if check:
            out["lake_verify_mismatches"] = len(verify(engine)[0])
    finally:
        accrual_lake.post = real_post
        if before is None:
            os.environ.pop("WEIXI_LEDGER_STORE", None)
        else:
            os.environ["WEIXI_LEDGER_STORE"] = before
    engine.dispose()
    out["lake_db_mb"] = round((work / "lake.db").stat().st_size / 2**20, 1)
    return out


if __name__ == "__main__":
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    m = int(sys.argv[2]) if len(sys.argv) > 2 else max(1, n // 10)
    print(json.dumps(run(n, m), indent=2, default=str))
