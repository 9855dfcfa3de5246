"""``weixi close --month YYYY-MM``: accrual, expiry, tier evaluation, segmentation, snapshot, summary.

Idempotent: a closed month is not closed again; a crash at any step followed by a rerun gives what a clean
run gives, because every step either is keyed by source ids (accrual), finds nothing left to do (expiry)
or is a pure function of its inputs written atomically (history, tiers, segments, snapshot), and the
manifest that marks the month closed is written last.
"""

from __future__ import annotations

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import ibis
from sqlalchemy import Engine

from weixi import settings
from weixi.adapters import duck, lake, search_index
from weixi.close import backends, ledger_bridge, ledger_proc, offload, programme, spark_snapshot, store
from weixi.close.accrual import accrue
from weixi.close.backends import keeper
from weixi.close.history import members_table, month_history, month_touches
from weixi.close.inputs import missing_inputs
from weixi.close.months import first_day, next_month, previous_month, window
from weixi.close.snapshot import (
    HISTORY_TYPES,
    PROFILE,
    SEGMENT_COLUMNS,
    TIER_COLUMNS,
    TIER_EVENT_TYPES,
    snapshot_sql,
    summarize,
)
from weixi.errors import Conflict
from weixi.ledger.expire import expire
from weixi.plans.service import active_plan
from weixi.segments import evaluate_tiers, segment, window_totals
from weixi.segments.stars import star_events_sql

STEPS = ("accrual", "expiry", "history", "tiers", "segments", "snapshot", "search_index")
HISTORY_MONTHS = 12


class CloseRefused(Conflict):
    """The month cannot be closed now: months close in order, each with its input files (``missing``)."""

    @property
    def missing(self) -> list[str]:
        return list(self.params.get("missing", []))


@dataclass
class Progress:
    """Callbacks the CLI uses for progress bars; silent by default."""

    step: Callable[[str], None] = lambda name: None
    advance: Callable[[int], None] = lambda n: None


@dataclass
class _Run:
    """One close in progress: what its steps share (the ledger, the files, the plan, the query engines) and
    how long each step took."""

    engine: Engine
    data_dir: Path
    month: str
    engine_name: str
    progress: Progress
    plan: object = None
    version: int | None = None
    con: object = None  # the engine the passes run on (DuckDB or PySpark, through ibis)
    dcon: object = None  # DuckDB: assembles and writes the files (none on PySpark)
    timings: dict[str, float] = field(default_factory=dict)
    parts: dict[str, list[Path]] = field(default_factory=dict)  # on PySpark: the files Spark wrote, by relation
    tiers_set: Callable[[], int] = lambda: 0  # awaits the ledger's tier update (_tiers_to_ledger_later)
    redeemers: object = None  # DuckDB: the programme figures' redeemers, read with the history step's ledger read
    figures: tuple = ()  # DuckDB: the summary's and programme figures' SQL rows (by name) and fold marks, read so too
    process_ends: bool = False  # the process ends after the close: its DuckDB's close not waited for (close_month)
    touches: Callable[[], str | None] | None = None  # awaits the month's touches, once begun (_passes_begin)

    @property
    def duck(self):
        return self.dcon.con

    @property
    def spark(self) -> bool:
        """The passes run on PySpark: Spark writes their tables' files, this process (the driver) commits them,
        and the ledger work and the search index run in a process of their own (:mod:`weixi.close.offload`): the
        driver holds no member-scale data."""
        return self.engine_name != "duckdb"

    @property
    def scratch(self) -> Path:
        """Where Spark writes the close's intermediate tables (inside the data folder, which Spark reads too)."""
        return self.data_dir / "close" / ".spark" / self.month

    @contextmanager
    def step(self, name: str):
        self.progress.step(name)
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 3)


def close_month(
    engine: Engine,
    data_dir: Path,
    month: str,
    engine_name: str = "duckdb",
    progress: Progress | None = None,
    spark=None,
    budget: int | None = None,
    process_ends: bool = False,
) -> dict:
    """Close ``month``; ``budget``, if given, is the programme's points budget for the month (its burn is in the
    summary's ``programme`` figures; default the ``WEIXI_POINTS_BUDGET`` setting). ``process_ends``: the caller's
    process ends right after (``weixi close``, :func:`weixi.startup.end_now`): the close does not wait for its
    DuckDB's close to end unless it spilled to disk (giving its memory back took 0.1 s at 1,000,000 members, after
    the ledger's tiers were written)."""
    if budget is None:
        budget = settings.POINTS_BUDGET.value()
    with lake.tables_kept():  # its tables' logs read once, then brought up to date at each use
        return _close_month(engine, Path(data_dir), month, engine_name, progress, spark, budget, process_ends)


def _close_month(engine, data_dir: Path, month: str, engine_name, progress, spark, budget, process_ends) -> dict:
    done = store.read_manifest(data_dir, month)
    if done and done.get("status") == "closed":
        ledger_bridge.mark_closed(engine, month)  # a ledger from before closed months were recorded in it
        return {**done, "already_closed": True}
    _refuse_unless_ready(data_dir, month)
    # one process for the ledger file's reads and writes, started now so that its start-up overlaps the accrual's
    # (on PySpark, one for the ledger's work, weixi.close.offload, which holds that one)
    with ledger_proc.session(engine) if engine_name == "duckdb" else offload.session(engine):
        run = _Run(engine, data_dir, month, engine_name, progress or Progress(), process_ends=process_ends)
        return _close(run, spark, budget)


def _close(run: _Run, spark, budget: int) -> dict:
    engine, data_dir, month, engine_name = run.engine, run.data_dir, run.month, run.engine_name
    backends.warm(engine_name)  # the passes' engine loaded while the accrual runs
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        run.version, run.plan = active_plan(conn)
    started = time.perf_counter()

    with run.step("accrual"):
        if run.spark:
            accrual = offload.accrue(engine, data_dir, month, run.version, run.progress.advance)
        else:  # the touches begun while the ledger commits the month's members, if it does
            begin = ledger_proc.while_ledger_commits(lambda: _passes_begin(run, spark))
            with begin, _waits_on_failure(lambda: run.touches and run.touches()):
                accrual = accrue(
                    engine, data_dir, month, ZoneInfo(run.plan.timezone), run.progress.advance, run.plan, run.version
                )
    touches = run.touches or _passes_begin(run, spark)  # the month's touches (its inputs only) summed meanwhile
    with run.step("expiry"), _waits_on_failure(touches):  # (the touches' DuckDB work ends before an error is raised)
        as_of = first_day(next_month(month))
        expired = offload.expire(engine, as_of) if run.spark else expire(engine, as_of)
    with run.step("history"):
        history_file, history, members = _history_step(run, touches)
    with run.step("tiers"):
        keep = keeper(run.con)
        totals = _window_totals(run, members, history)
        tiers, events_file = _tiers_step(run, members, history, keep, totals)
    sent = _tiers_to_ledger_later(run, tiers)  # the tiers that changed, for the ledger: beside the segments
    written = sent and (lambda: sent()())  # (a failure below waits for the write too)
    with run.step("segments"), _waits_on_failure(written):
        _materialize(
            run,
            "close_segments",  # only what the snapshot keeps: the sort below fits
            segment(members, history, run.plan, month, keep, totals).select("member_id", *SEGMENT_COLUMNS),
        )
        keep.drop()
        if totals is not None:
            backends.free(run.con, "close_window")
    with run.step("snapshot"), _waits_on_failure(written):
        snapshot_file = _snapshot_step(run, history_file)
        if run.spark:
            stars_file = _star_events_step(run, snapshot_file)
        else:
            run.tiers_set = sent()  # (sent: the ledger takes no other request until the write is done)

    if run.spark:
        summary = offload.summary(engine, data_dir, month, run.version, snapshot_file, events_file, stars_file, budget)
    else:
        # the star events written (a cursor of their own, in a thread) while the summary is counted: a join of two
        # snapshots that keeps the two cores half busy, beside reads of the ledger and of files that keep one busy
        # (at 10,000,000 members 2.5 s and 2.4 s one after the other)
        with ThreadPoolExecutor(1, thread_name_prefix="weixi-stars") as pool:
            stars = pool.submit(_star_events_on_cursor, run, snapshot_file)
            if run.figures:  # the lake's unfolded rows, read once for both, at the history step's read's marks
                with duck.cursor_of(run.duck) as cur:
                    lake = programme.lake_from(engine, month, *run.figures, con=cur)
            else:
                lake = programme.lake_of(engine, month)
            counted = summarize(
                run.duck, snapshot_file, events_file, ledger_bridge.month_totals(engine, month, lake), run.plan
            )
            figures = programme.close_figures(
                engine, run.duck, snapshot_file, month, run.plan, budget, lake, run.redeemers
            )
            stars_file = stars.result()
        summary = {**counted, "star_events": star_event_counts(run.duck, stars_file), "programme": figures}
        # its memory given back while the ledger's tiers are written (at 10,000,000 members both take seconds)
        closing, wait = _release(run.duck, run.process_ends)
    run.tiers_set()  # the ledger's tiers written (beside the star events and the summary)
    manifest = {
        "month": month,
        "status": "closed",
        "engine": engine_name,
        "plan_version": run.version,
        "plan": run.plan.id,
        "accrual": accrual.__dict__,
        "expiry": {"as_of": str(expired.as_of), "lots": expired.lots, "points": expired.points},
        "summary": summary,
        "seconds": run.timings,
        "wall_seconds": round(time.perf_counter() - started, 3),
    }
    shutil.rmtree(run.scratch, ignore_errors=True)  # Spark's intermediate files (the views above read them)
    with run.step("search_index"):
        if run.spark:
            offload.search_index(engine, data_dir)
        else:
            if search_index.fresh(data_dir) is None:
                closing.join()  # the index is built in the memory the close's DuckDB gave back
            search_index.build(data_dir)
    ledger_bridge.mark_closed(engine, month)  # before the manifest: a crash between them closes again, harmlessly
    store.write_manifest(data_dir, month, manifest)
    if not run.spark and wait:
        closing.join()
    return {**manifest, "already_closed": False}


def _release(duck, process_ends: bool) -> tuple[threading.Thread, bool]:
    """The close's DuckDB closed in a thread, started; and whether the close waits for it at its end: not when its
    process ends right after (the command) and it has nothing spilled on disk (which only its close removes). Then
    the process's end stops the thread, the rest of the memory the operating system's to take back at once."""
    spilled = process_ends and duck.execute("SELECT count(*) FROM duckdb_temporary_files()").fetchone()[0] > 0
    closing = threading.Thread(target=duck.close, name="weixi-close-duckdb", daemon=True)
    closing.start()
    return closing, not process_ends or spilled


def _refuse_unless_ready(data_dir: Path, month: str) -> None:
    """Months close in order, each with its input files."""
    closed = store.closed_months(data_dir)
    if closed and month < closed[-1]:
        raise CloseRefused("close_month_out_of_order", month=month, last=closed[-1])
    if closed and month != next_month(closed[-1]):
        raise CloseRefused("close_month_skipped", next=next_month(closed[-1]), last=closed[-1])
    missing = missing_inputs(data_dir, month)
    if missing:
        raise CloseRefused("close_inputs_missing", month=month, missing=missing)
    store.refuse_if_damaged(data_dir)  # a lake file deleted or changed by hand: the close does not build on it


def _passes_begin(run: _Run, spark) -> Callable[[], str | None]:
    """The passes' engine connected (``run.con``) and the month's touches begun on it (:func:`_touches_later`)."""
    run.con = backends.connect(run.engine_name, spark)
    if not run.spark:
        run.dcon = run.con
        backends.bound_memory(run.duck, run.data_dir)
    run.touches = _touches_later(run)
    return run.touches


@contextmanager
def _waits_on_failure(wait: Callable[[], object] | None):
    """A failure in the block calls ``wait`` (which awaits the work begun beside the block) before it is raised."""
    try:
        yield
    except BaseException:
        if wait is not None:
            with suppress(Exception):
                wait()
        raise


def _tiers_to_ledger_later(run: _Run, tiers: str):
    """On DuckDB, the members whose evaluated tier differs from the ledger's found on a cursor in a thread, and sent
    to the ledger process to write (:func:`~weixi.close.ledger_bridge.set_tiers_later`): beside the segments, whose
    compilation leaves a core idle. The function returned awaits the sending and returns what awaits the write
    (None on PySpark: the snapshot step sets them)."""
    if run.spark:
        return None
    pool = ThreadPoolExecutor(1, thread_name_prefix="weixi-tiers")
    sent = pool.submit(ledger_proc.in_this_session(_tiers_to_ledger), run, tiers)  # the close's ledger process
    pool.shutdown(wait=False)
    return sent.result


def _tiers_to_ledger(run: _Run, tiers: str) -> Callable[[], int]:
    # close_ledger_tiers (the SQL rows the history step read, ledger_bridge.close_ledger) lacks the members at (0, 0,
    # the default tier): their ledger tier is the default (a member the ledger does not hold is written nowhere by
    # set_tiers). (Those rows, not every member's balance over both stores: at 1,000,000 members 0.2 s less.)
    with duck.cursor_of(run.duck) as cur:
        changed = cur.execute(
            f"SELECT t.member_id, t.tier FROM {tiers} t LEFT JOIN close_ledger_tiers b USING (member_id) WHERE t.tier IS "
            "NOT NULL AND (CASE WHEN b.member_id IS NULL THEN CAST(? AS VARCHAR) ELSE b.ledger_tier END) IS DISTINCT "
            "FROM t.tier ORDER BY t.member_id",
            [_default_tier(run) or None],
        ).fetch_arrow_table()
    return ledger_bridge.set_tiers_later(run.engine, changed)  # written while the snapshot and summary are made


def _touches_later(run: _Run) -> Callable[[], str | None]:
    """On DuckDB, table ``close_touches`` (:func:`month_touches`: per member, the month's spend, recharges, touches
    and last day active, from the month's input files only) computed in a thread now; the function returned awaits
    it (its name). Started before the expiry, which works in the ledger on one core (the lake's lots and the SQL
    ledger's), so that DuckDB's two threads fill the other. On PySpark nothing (None)."""
    if run.spark:
        return lambda: None
    expr = month_touches(run.con, run.data_dir, run.month)
    pool = ThreadPoolExecutor(1, thread_name_prefix="weixi-touches")
    done = pool.submit(_materialize, run, "close_touches", expr)
    pool.shutdown(wait=False)  # its thread ends with the task
    return done.result


def _history_step(run: _Run, touches_done: Callable[[], str | None]) -> tuple[str, ibis.Table, ibis.Table]:
    """The month's history file (spend, recharges, touches and points per member); returns it, the history
    window the tiers and segments read, and the month's members. ``touches_done`` awaits the month's touches
    (:func:`_touches_later`)."""
    con, month, data_dir = run.con, run.month, run.data_dir
    if run.spark:  # handed to Spark as a file its executors read, written by the ledger process
        offload.points_earned(run.engine, month, _scratch_file(run, "ledger_points"))
        points_t = con.read_parquet(str(run.scratch / "ledger_points.parquet"))
        touches = None
    else:
        # in the close's DuckDB: ledger_points, and close_balances (the members not at 0, 0, the default tier),
        # which nothing writes until the snapshot step has read them. The ledger is read (on SQLite by the ledger
        # process) while DuckDB sums the month's touches (begun before the expiry), which need nothing from it
        # (with the redeemers the summary's programme figures count, and the SQL figures of both summaries)
        figures = programme.figures_queries(month)
        read = ledger_bridge.close_ledger_read(
            run.engine, month, _default_tier(run), also=[programme.redeemers_query(month), *figures.values()]
        )
        try:
            touches = touches_done()
        except BaseException:
            with suppress(Exception):  # the answer taken (the ledger process serves the next request)
                read()
            raise
        tables = read()
        run.redeemers, run.figures = tables[3], (dict(zip(figures, tables[4:])), tables[2])
        ledger_bridge.close_ledger(run.engine, run.duck, month, _default_tier(run), tables=tables)
        points_t = con.table("ledger_points")
    history = month_history(con, data_dir, month, points_t, touches=touches and con.table(touches))
    history_file = _write_dataset(run, "history", "close_history_now", history, HISTORY_TYPES)
    if not run.spark:
        backends.free(con, "ledger_points")
        backends.free(con, "close_touches")
    return history_file, _history_window(con, data_dir, month), members_table(con, data_dir, month)


def _window_totals(run: _Run, members: ibis.Table, history: ibis.Table) -> ibis.Table | None:
    """On DuckDB, the members in service with the window totals that the tiers and the segments both read,
    computed once into table ``close_window`` (:func:`weixi.segments.window_totals`). On PySpark None: each job
    reads its own."""
    if run.spark:
        return None
    return run.con.create_table("close_window", window_totals(members, history, run.plan, run.month), overwrite=True)


def _tiers_step(
    run: _Run, members: ibis.Table, history: ibis.Table, keep, totals: ibis.Table | None = None
) -> tuple[str, str]:
    """Tier evaluation: the members' tiers (a DuckDB table, for the snapshot) and the tier events file."""
    con, month, data_dir = run.con, run.month, run.data_dir
    tier_state, tier_events = evaluate_tiers(
        members, history, backends.previous_tiers(con, data_dir, month), run.plan, month, keep, totals
    )
    tiers = _materialize(run, "close_tiers", tier_state.select("member_id", *TIER_COLUMNS))
    events_file = _write_dataset(
        run, "tier_events", "close_tier_events", tier_events, TIER_EVENT_TYPES, ["member_id", "event", "effective_on"]
    )
    keep.drop()
    return tiers, events_file


def _snapshot_step(run: _Run, history_file: str) -> str:
    """The month's snapshot file (profile, balances, tiers, segments per member); returns it. On PySpark the members
    whose tier changed get it in the ledger too (on DuckDB: :func:`_tiers_to_ledger_later`)."""
    month, data_dir = run.month, run.data_dir
    if run.spark:  # the joins on Spark, over the balances the ledger process wrote; the driver commits the snapshot
        offload.balances(run.engine, _scratch_file(run, "close_balances"))
        snapshot_file, changed = spark_snapshot.snapshot(
            run.con, data_dir, month, run.scratch, history_file, run.parts, run.scratch / "close_balances.parquet"
        )
        offload.set_tiers(run.engine, changed)  # the file Spark wrote, read by the ledger process
        return snapshot_file
    members = members_table(run.dcon, data_dir, month, tuple(PROFILE[1:]))
    run.dcon.create_view("close_members", members, overwrite=True)
    return store.write_query(run.duck, data_dir, "snapshots", month, snapshot_sql(month, history_file))


def _default_tier(run: _Run) -> str:
    """The plan's default tier id ('' when it has none: then every member's ledger row is read)."""
    tier = run.plan.default_tier()
    return tier.id if tier else ""


def _star_events_step(run: _Run, snapshot_file, duck=None) -> Path:
    """The star-level events file: members whose star level (星级) rose or fell since last month's snapshot.
    ``duck``: the DuckDB connection that writes it (default the close's)."""
    previous = store.uris(run.data_dir, "snapshots", previous_month(run.month))
    if run.spark:
        return spark_snapshot.star_events(run.con, run.data_dir, run.month, run.scratch, snapshot_file, previous)
    sql = star_events_sql(run.month, snapshot_file, previous)
    return store.write_query(duck or run.duck, run.data_dir, "star_events", run.month, sql)


def _star_events_on_cursor(run: _Run, snapshot_file) -> Path:
    """:func:`_star_events_step` on a cursor of the close's DuckDB (a connection of its own: it runs beside the
    close's, in another thread; it reads only files)."""
    with duck.cursor_of(run.duck) as cur:
        return _star_events_step(run, snapshot_file, cur)


def star_event_counts(duck, stars_file: Path) -> dict:
    """``{"upgraded": n, "downgraded": n}`` of the month's star events (only the kinds that happened)."""
    rows = duck.execute(f"SELECT event, count(*) FROM read_parquet('{stars_file}') GROUP BY 1 ORDER BY 1").fetchall()
    return {str(k): int(n) for k, n in rows}


def _materialize(run: _Run, name: str, expr: ibis.Table) -> str:
    """Compute ``expr`` once as relation ``name``: on DuckDB a table, without leaving the database; on PySpark
    Parquet files Spark writes (``run.parts[name]``, which the Spark snapshot reads; no row passes through this
    process). Returns the relation's name."""
    if run.spark:
        run.parts[name] = backends.spark_write(run.con, expr, run.scratch / name)
    else:
        run.con.create_table(name, expr, overwrite=True)
    return name


def _write_dataset(run: _Run, dataset: str, name: str, expr: ibis.Table, types: dict, order=("member_id",)):
    """The month's ``dataset`` from ``expr``, its columns cast to ``types`` and sorted by ``order``. On DuckDB
    computed once into table ``name`` and streamed to the table's file; on PySpark Spark casts, sorts and writes
    the files and this process commits them. Returns the month's file (DuckDB) or files (PySpark)."""
    if run.spark:
        typed = expr.select(**{c: expr[c].cast(SPARK_TYPES[t]) for c, t in types.items()})
        cut = store.FILE_ROWS if dataset in store.SPLIT else None  # in member-range files, as on DuckDB
        files = backends.spark_write(run.con, typed, run.scratch / dataset, list(order), cut)
        return backends.commit_spark_files(run.data_dir, dataset, run.month, files)
    _materialize(run, name, expr)
    written = store.write_query(run.duck, run.data_dir, dataset, run.month, _sorted(name, types, ", ".join(order)))
    backends.free(run.con, name)  # in its file now; DuckDB's memory goes to the passes below
    return written


SPARK_TYPES = {"VARCHAR": "string", "BIGINT": "int64", "DATE": "date"}  # the same casts in Ibis


def _scratch_file(run: _Run, name: str) -> Path:
    run.scratch.mkdir(parents=True, exist_ok=True)
    return run.scratch / f"{name}.parquet"


def _sorted(name: str, types: dict[str, str], order: str = "member_id") -> str:
    cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types.items())
    return f"SELECT {cols} FROM {name} ORDER BY {order}"


def _history_window(con, data_dir: Path, month: str) -> ibis.Table:
    """The last :data:`HISTORY_MONTHS` months of history, read from their files (never all in memory)."""
    found = [uri for m in window(month, HISTORY_MONTHS) for uri in store.uris(data_dir, "history", m)]
    return backends.read_files(con, found, "history_window")
