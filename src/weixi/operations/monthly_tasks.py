"""The month's tasks (``weixi tasks create``): assign the month's members to managers (continuity with last
month's), make their tasks from the plan's rules and the target list, let the contact policy (consents, caps,
quiet hours) stop what it must, and load the tasks into the database (SQLite: in a loading process of its own,
:mod:`weixi.adapters.tasks_load`).

Files under the data directory (each month's partition replaced atomically):

    DATA/operations/assignments/month=YYYY-MM/part-0.parquet   member -> manager (continuity reads last month's)
    DATA/operations/tasks/month=YYYY-MM/part-0.parquet         the tasks the run made
    DATA/operations/blocked/month=YYYY-MM/part-0.parquet       what the contact policy stopped, with the rule
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.db import sqlite_file
from weixi.adapters.sql import execute, executemany
from weixi.adapters.tasks_load import MOVES_SQL
from weixi.close import store as close_store
from weixi.operations import assign, calendar, policy, promotions, share_out, tasks, transfer
from weixi.operations import monthly_inputs as inputs
from weixi.operations.clock import now, start_of, today, zone
from weixi.operations.errors import OperationsConflict, OperationsUnavailable
from weixi.operations.plan import MESSAGE_KINDS, OperationsPlan
from weixi.operations.service import check_month, lit, partition_file, save_run, write_parquet
from weixi.segments import months

TARGET_COLUMNS = ("member_id", "list", "priority", "reason", "offer_id", "offer_name", "group")
INSERT_CHUNK = 20_000
planned_since = inputs.planned_since  # the first day a cap can count against a new task


def create_month(
    engine: Engine,
    data_dir: Path,
    month: str,
    plan: OperationsPlan,
    run_date: date | None = None,
    targets_file: str | Path | None = None,
    introductions_file: str | Path | None = None,
    lots_seed: str | None = None,
) -> dict:
    """Assign the month's members to managers and create their tasks (rerun-safe: the same tasks keep their
    ids; open tasks follow their member's new manager). ``introductions_file`` and ``lots_seed``: how members
    without a manager are shared out, when the plan's ``assignment.share_out`` asks (:mod:`.share_out`)."""
    check_month(month)
    run_date = run_date or today(engine)
    data_dir = Path(data_dir)
    snap = close_store.source(data_dir, "snapshots", month)  # read_parquet([...]) of the month's files
    if snap is None:
        raise OperationsConflict("ops_no_snapshot", month=month, path=str(close_store.table_dir(data_dir, "snapshots")))
    calendar.source_of(run_date.year)  # fail loudly before anything is written when no calendar covers the year
    clock = _Clock()
    con = duck.connect()
    con.execute(f"SET TimeZone='{zone(engine).key}'")
    staff = inputs.staff_arrow(engine)
    intro = inputs.introductions_sql(introductions_file if plan.share_out.introduced_first else None)
    if plan.share_out.lots:
        lots_seed = lots_seed or share_out.default_seed(plan.id, month)
    else:
        lots_seed = None
    con.register("ops_moved_in", transfer.latest_arrow(engine))  # manual transfers outlast the month
    summary = _assign_members(con, staff, snap, data_dir, month, plan, run_date, intro, lots_seed)
    clock.lap("assign")
    unknown = _make_tasks(con, engine, staff, data_dir, month, plan, run_date, targets_file)
    clock.lap("tasks")
    _apply_policy(con, engine, plan, date.fromisoformat(month + "-01"))
    clock.lap("policy")
    loaded, reassigned = _store_tasks(con, engine, data_dir, month, plan, run_date, clock)
    blocked = {
        r: int(n) for r, n in con.execute("SELECT rule, count(*) FROM ops_blocked GROUP BY 1 ORDER BY 1").fetchall()
    }
    examples = [
        dict(zip(("member_id", "task_id", "rule", "detail"), r))
        for r in con.execute(
            "SELECT member_id, task_id, rule, detail FROM ops_blocked ORDER BY rule, member_id LIMIT 10"
        ).fetchall()
    ]
    by_kind = {
        k: int(n) for k, n in con.execute("SELECT kind, count(*) FROM ops_kept GROUP BY 1 ORDER BY 1").fetchall()
    }
    last_due = con.execute("SELECT max(due_on) FROM ops_kept").fetchone()[0] or run_date
    report = {
        "month": month,
        "run_date": run_date.isoformat(),
        **calendar.calendar_note(run_date, max(run_date, last_due)),
        "plan": plan.id,
        "assignment": summary,
        "tasks": {
            "made": int(sum(by_kind.values())),
            "by_kind": by_kind,
            "new_in_database": loaded,
            "reassigned_open_tasks": reassigned,
        },
        "blocked": {"by_rule": blocked, "examples": examples, "file": str(partition_file(data_dir, "blocked", month))},
        "seconds": clock.laps,
        "targets": {"unknown_members": int(unknown[0]), "example": unknown[1]} if unknown[0] else {},
    }
    save_run(engine, "tasks_create", month, report)
    return report


def _assign_members(
    con,
    staff: pa.Table,
    snap: str,
    data_dir: Path,
    month: str,
    plan: OperationsPlan,
    run_date: date,
    intro: str,
    lots_seed: str | None,
) -> dict:
    """The month's active members (``ops_members``, with last month's manager) assigned to managers by the plan's
    ratios, with continuity; returns the assignment's summary."""
    con.register("ops_staff_in", staff)
    con.execute("CREATE TEMP TABLE ops_staff AS SELECT * FROM ops_staff_in")
    prev = partition_file(data_dir, "assignments", months.shift(month, -1))
    prev_join = (
        f"LEFT JOIN read_parquet({lit(prev)}) p ON p.member_id = s.member_id AND p.staff_id IS NOT NULL"
        if prev.exists()
        else "LEFT JOIN (SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS staff_id, NULL::DATE AS since) p ON FALSE"
    )
    con.execute(f"""CREATE TEMP TABLE ops_members AS
        SELECT s.member_id, s.tier, s.key_account, s.star_level, s.join_date,
               coalesce(t.staff_id, p.staff_id, s.manager_id) AS prev_staff, coalesce(t.since, p.since) AS since,
               {promotions.grade_sql(plan.tiers)} AS grade, i.introducer, i.introduced_at
        FROM {snap} s {prev_join} LEFT JOIN ({intro}) i ON i.member_id = s.member_id
        LEFT JOIN ops_moved_in t ON t.member_id = s.member_id
        WHERE s.status = 'active'""")
    summary = assign.assign(con, plan, run_date, lots_seed)
    if plan.share_out.lots or plan.share_out.introduced_first:
        summary["share_out"] = {
            "lots_seed": lots_seed,
            "introduced": con.execute("SELECT count(*) FROM ops_assignment WHERE status = 'introduced'").fetchone()[0],
            "drawn": con.execute("SELECT count(*) FROM ops_assignment WHERE status IN ('new', 'moved')").fetchone()[0]
            if lots_seed
            else 0,
        }
    return summary


def _make_tasks(
    con,
    engine: Engine,
    staff: pa.Table,
    data_dir: Path,
    month: str,
    plan: OperationsPlan,
    run_date: date,
    targets_file: str | Path | None,
) -> tuple:
    """The candidate tasks (``ops_candidates``) from the plan's rules: tier and star-level events (as the plan's
    ``sla.promotions`` says), new members, the target list and the pool of agents with their open tasks. Returns
    (target members not in the month's members, an example)."""
    tier_events, star_events = (close_store.source(data_dir, kind, month) for kind in ("tier_events", "star_events"))
    con.execute(f"CREATE TEMP TABLE ops_events AS {promotions.events_sql(plan.promotions, tier_events, star_events)}")
    targets = inputs.targets_sql(data_dir, month, targets_file)
    con.execute(
        f"CREATE TEMP TABLE ops_targets AS {targets}"
        if targets
        else "CREATE TEMP TABLE ops_targets (member_id VARCHAR, list VARCHAR, priority BIGINT, reason VARCHAR,"
        " reason_en VARCHAR, offer_id VARCHAR, offer_name VARCHAR)"
    )
    unknown = con.execute(
        "SELECT count(*), min(t.member_id) FROM ops_targets t ANTI JOIN ops_members m ON m.member_id = t.member_id"
    ).fetchone()
    first = date.fromisoformat(month + "-01")
    starts = {
        "upgraded": [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT effective_on FROM ops_events WHERE event = 'upgraded' AND effective_on IS NOT NULL"
            ).fetchall()
        ],
        "new_vip": [
            r[0]
            for r in con.execute(
                f"SELECT DISTINCT join_date FROM ops_members WHERE join_date >= "
                f"DATE {lit(first)} AND join_date <= DATE {lit(run_date)}"
            ).fetchall()
        ],
    }
    for trig in ("will_downgrade", "target_list", "winback"):
        starts[trig] = [run_date]
    rows = tasks.dates_table(plan, starts, run_date)
    con.execute("CREATE TEMP TABLE ops_dates (rule_id VARCHAR, part VARCHAR, start DATE, not_before DATE, due_on DATE)")
    if rows:
        con.executemany("INSERT INTO ops_dates VALUES (?, ?, ?, ?, ?)", rows)
    pool = staff.filter(pa.compute.and_(staff["active"], pa.compute.is_in(staff["role"], pa.array(list(plan.pool)))))
    load = inputs.open_counts(engine, pool["staff_id"].to_pylist())
    con.register(
        "ops_pool_in",
        pa.table(
            {
                "staff_id": pool["staff_id"],
                "team": pool["team"],
                "open_tasks": pa.array([load.get(s, 0) for s in pool["staff_id"].to_pylist()], pa.int64()),
            }
        ),
    )
    con.execute("CREATE TEMP TABLE ops_pool AS SELECT * FROM ops_pool_in")
    tasks.build(con, plan, month, run_date)
    _one_monthly_message(con, plan)
    return unknown


def _one_monthly_message(con, plan: OperationsPlan) -> None:
    """A member two monthly cadence messages of one kind cover (a silver-tier 5★ member: the monthly care SMS and
    the star-rights SMS) gets the first in the plan's order only: "每个月最少发一条短信", not two."""
    order = [c.id for c in plan.cadence if c.every == "month" and c.task in MESSAGE_KINDS]
    if len(order) < 2:
        return
    rank = "CASE sla_rule " + " ".join(f"WHEN {lit(r)} THEN {i}" for i, r in enumerate(order)) + " END"
    con.execute(f"""DELETE FROM ops_candidates c USING (
            SELECT member_id, kind, min({rank}) AS first FROM ops_candidates
            WHERE source = 'cadence' AND sla_rule IN ({", ".join(lit(r) for r in order)}) GROUP BY ALL
            HAVING count(*) > 1) d
        WHERE c.member_id = d.member_id AND c.kind = d.kind AND c.source = 'cadence'
          AND c.sla_rule IN ({", ".join(lit(r) for r in order)}) AND ({rank.replace("sla_rule", "c.sla_rule")}) > d.first""")


def _apply_policy(con, engine: Engine, plan: OperationsPlan, first: date) -> None:
    """The contact policy over the candidates: consents, caps (counting contacts made and tasks planned in each
    cap's period) and quiet hours; what it stops goes to ``ops_blocked``, the rest to ``ops_kept``."""
    span = con.execute("SELECT min(due_on), max(due_on) FROM ops_candidates").fetchone()
    con.register("ops_consents", inputs.blocks_arrow(engine))
    contacts, opened = inputs.planned_arrow(
        engine, plan, inputs.planned_since(plan, span[0]) if span[0] else first, span[1] or first
    )
    con.register("ops_contacts_in", contacts)
    con.register("ops_open_tasks_in", opened)
    con.execute(inputs.planned_sql())
    policy.apply(con, plan, zone(engine))


def _store_tasks(
    con, engine: Engine, data_dir: Path, month: str, plan: OperationsPlan, run_date: date, clock: _Clock
) -> tuple[int, int]:
    """Write the tasks, assignment and blocked files and load the new tasks into the database (SQLite: in the
    loading process, while this one writes the other files); returns (new tasks, open tasks moved)."""
    cols = ", ".join(tasks.COLUMNS)
    tasks_file = partition_file(data_dir, "tasks", month)
    write_parquet(con, f"SELECT {cols} FROM ops_kept ORDER BY task_id", tasks_file)
    clock.lap("write_tasks_file")
    path = _sqlite_path(engine)
    if path is None:
        _write_files(con, plan, data_dir, month)
        clock.lap("write_other_files")
        loaded = _load_tasks(engine, con, run_date)
        reassigned = _follow_managers(engine, con)
        clock.lap("database")
        return loaded, reassigned
    # The loading process (one core, SQLite) runs while this one writes the assignment and blocked files.
    with tempfile.TemporaryDirectory(prefix="weixi-tasks-") as tmp:
        managers = Path(tmp) / "managers.parquet"
        con.execute(
            "COPY (SELECT member_id, staff_id, team FROM ops_assignment WHERE staff_id IS NOT NULL) TO "
            f"{lit(managers)} (FORMAT parquet)"
        )
        loader = _start_loader(path, month, tasks_file, managers, stamp(engine, run_date))
        try:
            # The loader is the longer path: leave it a core (one DuckDB thread here meanwhile).
            con.execute("SET threads = 1")
            _write_files(con, plan, data_dir, month)
            clock.lap("write_other_files")
        finally:
            con.execute("RESET threads")
            loaded, reassigned, db_laps = _finish_loader(loader, path, month)
    clock.lap("database_wait")
    clock.laps["database_steps"] = db_laps
    return loaded, reassigned


def stamp(engine: Engine, run_date: date) -> datetime:
    """When the run's work is stamped (tasks' ``created_at``; a bind done by the run, its ``closed_at``): now on
    today's run, else the start of the run date (``--date D``: the work of D, not of the day it was typed)."""
    current = now(engine)
    if run_date == current.date():
        return current
    return start_of(run_date, zone(engine))


class _Clock:
    def __init__(self):
        import time

        self._time = time.perf_counter
        self._last = self._time()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        t = self._time()
        self.laps[name] = round(t - self._last, 3)
        self._last = t


def _load_tasks(engine: Engine, con, run_date: date) -> int:
    """Insert the run's tasks that the database does not have yet (by task id), in chunks."""
    created = stamp(engine, run_date)
    cols = tasks.COLUMNS
    sql = (
        f"INSERT INTO ops_tasks ({', '.join(cols)}, closed_at, closed_by, attempts, created_at) VALUES "
        f"({', '.join('?' * (len(cols) + 4))}) ON CONFLICT (task_id) DO NOTHING"
    )
    cur = con.execute(f"SELECT {', '.join(cols)} FROM ops_kept ORDER BY task_id")
    before = _count(engine)
    with engine.begin() as conn:
        while True:
            batch = cur.fetchmany(INSERT_CHUNK)
            if not batch:
                break
            executemany(
                conn,
                sql,
                [
                    (*r, created if r[12] == "done" else None, "system" if r[12] == "done" else None, 0, created)
                    for r in batch
                ],
            )
    return _count(engine) - before


def _sqlite_path(engine: Engine) -> Path | None:
    """The SQLite file behind ``engine`` (None for PostgreSQL or an in-memory database; tests replace it)."""
    return sqlite_file(engine)


def _write_files(con, plan: OperationsPlan, data_dir: Path, month: str) -> None:
    write_parquet(
        con,
        f"SELECT * FROM ({assign.assignment_sql(plan)}) ORDER BY member_id",
        partition_file(data_dir, "assignments", month),
    )
    write_parquet(
        con, "SELECT * FROM ops_blocked ORDER BY member_id, task_id", partition_file(data_dir, "blocked", month)
    )


LOADER = [sys.executable, "-m", "weixi.adapters.tasks_load"]  # the loading process (tests wrap it)


def _start_loader(path: Path, month: str, tasks_file: Path, managers_file: Path, created: datetime) -> subprocess.Popen:
    """Start loading the run's new tasks into the SQLite file, and moving the open tasks already there to their
    member's manager, in one write transaction of a process of its own (:mod:`weixi.adapters.tasks_load`
    says why a process, and how it stays all or nothing)."""
    args = {
        "db_path": str(path),
        "month": month,
        "tasks_file": str(tasks_file),
        "assignments_file": str(managers_file),
        "created": created.isoformat(),
        "columns": list(tasks.COLUMNS),
    }
    return subprocess.Popen([*LOADER, json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish_loader(loader: subprocess.Popen, path: Path, month: str) -> tuple[int, int, dict]:
    """Wait for the loading process: (new tasks, moved tasks, its step timings)."""
    out, err = loader.communicate()
    if loader.returncode != 0:
        last = (err.strip().splitlines() or [f"exit status {loader.returncode}"])[-1]
        raise OperationsUnavailable("ops_tasks_load_failed", month=month, path=str(path), detail=last)
    result = json.loads(out.strip().splitlines()[-1])
    return result["new"], result["moved"], result.get("seconds", {})


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(execute(conn, "SELECT count(*) FROM ops_tasks")[0][0])


def _follow_managers(engine: Engine, con) -> int:
    """Open queue tasks (any month) whose member now has another manager, or whose assignee left, move to the
    member's manager (or stay with the pool agent this run chose)."""
    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT t.task_id, t.member_id, t.assignee FROM ops_tasks t WHERE t.status = 'open' AND t.kind <> 'bind'",
        )
    if not rows:
        return 0
    con.register(
        "ops_open_in",
        pa.table(
            {
                "task_id": [r[0] for r in rows],
                "member_id": [r[1] for r in rows],
                "assignee": pa.array([r[2] for r in rows], pa.string()),
            }
        ),
    )
    moves = con.execute(MOVES_SQL).fetchall()
    with engine.begin() as conn:
        executemany(
            conn,
            "UPDATE ops_tasks SET assignee = ?, team = ? WHERE task_id = ? AND status = 'open'",
            [(a, t, tid) for tid, a, t in moves],
        )
    return len(moves)
