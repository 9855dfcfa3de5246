"""Retention operations: staff, the month's tasks and assignment, queues, outcomes, escalation, SLA reports,
consents and retention orders. CLI, API and console call these functions; see docs/operations.md.

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
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.db import sqlite_file
from weixi.adapters.sql import as_date, execute, executemany, is_pg
from weixi.close import store as close_store
from weixi.members import archive
from weixi.operations import assign, calendar, outcomes, policy, tasks
from weixi.adapters.tasks_load import MOVES_SQL
from weixi.operations.plan import KIND_CHANNEL, MESSAGE_KINDS, ROLES, OperationsPlan, load_operations_plan
from weixi.segments import months

TZ = ZoneInfo("Asia/Shanghai")
TARGET_COLUMNS = ("member_id", "list", "priority", "reason", "offer_id", "offer_name", "group")
STAFF_COLUMNS = ("staff_id", "name", "role", "team", "team_lead", "shift", "active", "joined_on", "left_on")
INSERT_CHUNK = 20_000


class OperationsError(ValueError):
    """Bad input or a request that cannot be done; the message says what and where. Nothing was changed."""


class UnknownTask(OperationsError):
    """No task with that id."""


class TaskClosed(OperationsError):
    """The task is no longer open (or this try was already recorded differently): nothing was recorded."""


def now() -> datetime:
    return datetime.now(TZ)


def today() -> date:
    return now().date()


def plan_or_fail(path: str | None = None) -> OperationsPlan:
    plan, diagnostics = load_operations_plan(path)
    if plan is None:
        errors = [d.format() for d in diagnostics if d.is_error]
        raise OperationsError("the operations plan has errors:\n" + "\n".join(errors))
    return plan


def _month(month: str) -> str:
    try:
        return months.check(month)
    except ValueError as exc:
        raise OperationsError(f"--month: {exc}") from None


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _part(data_dir: Path, dataset: str, month: str) -> Path:
    return Path(data_dir) / "operations" / dataset / f"month={month}" / "part-0.parquet"


def _write(con, sql: str, final: Path) -> None:
    """``COPY (sql)`` beside ``final`` and swap it in (a reader never sees half a file)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(final.name + ".tmp")
    con.execute(f"COPY ({sql}) TO {_lit(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    tmp.replace(final)


# -- staff -----------------------------------------------------------------------------------------------------

def load_staff(engine: Engine, path: str | Path) -> dict:
    """Upsert the roster (CSV or Parquet: staff_id, role, and optionally name, team, team_lead, shift, active,
    joined_on, left_on). Every bad row is listed and nothing is loaded when one is bad."""
    path = Path(path)
    if not path.exists():
        raise OperationsError(f"roster file {path}: no such file")
    src = f"read_parquet({_lit(path)})" if path.suffix in (".parquet", ".pq") else \
        f"read_csv({_lit(path)}, all_varchar=true, header=true)"
    con = duck.connect()
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    except duckdb.Error as exc:
        raise OperationsError(f"roster file {path}: cannot read it ({str(exc).splitlines()[0]})") from None
    missing = [c for c in ("staff_id", "role") if c not in cols]
    if missing:
        raise OperationsError(f"roster file {path}: missing column(s) {', '.join(missing)} (columns: "
                              f"{', '.join(STAFF_COLUMNS)})")
    sel = ", ".join(f"NULLIF(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in cols else f"NULL AS {c}"
                    for c in STAFF_COLUMNS)
    rows = con.execute(f"SELECT row_number() OVER () + 1 AS row, {sel} FROM {src}").fetchall()
    bad, good, seen = [], [], set()
    for row, sid, name, role, team, lead, shift, active, joined, left in rows:
        problem = None
        if not sid:
            problem = "staff_id: missing"
        elif sid in seen:
            problem = f"staff_id: {sid} is listed twice"
        elif role not in ROLES:
            problem = f"role: unknown role {role!r} (one of {', '.join(ROLES)})"
        elif active and active.lower() not in ("true", "false", "1", "0", "yes", "no"):
            problem = f"active: expected true or false, got {active!r}"
        try:
            joined_d = date.fromisoformat(joined) if joined else None
            left_d = date.fromisoformat(left) if left else None
        except ValueError as exc:
            problem = problem or f"joined_on/left_on: {exc} (use YYYY-MM-DD)"
        seen.add(sid)
        if problem:
            bad.append(f"row {row}: {problem}")
            continue
        is_active = (active or "true").lower() in ("true", "1", "yes") and left_d is None
        good.append((sid, name, role, team, lead, shift, is_active, joined_d, left_d, now()))
    if bad:
        raise OperationsError(f"roster file {path}: {len(bad)} bad row(s): " + "; ".join(bad[:20])
                              + ". Fix the roster and load it again; nothing was loaded")
    with engine.begin() as conn:
        for r in good:
            execute(conn, "DELETE FROM ops_staff WHERE staff_id = ?", [r[0]])
        executemany(conn, "INSERT INTO ops_staff (staff_id, name, role, team, team_lead, shift, active, joined_on,"
                          " left_on, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", good)
    return {"loaded": len(good), "file": str(path)}


def staff_list(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(conn, "SELECT staff_id, name, role, team, team_lead, shift, active, left_on FROM ops_staff "
                             "ORDER BY team, staff_id")
    return [dict(zip(("staff_id", "name", "role", "team", "team_lead", "shift", "active", "left_on"),
                     (*r[:6], bool(r[6]), as_date(r[7])))) for r in rows]


def staff_leave(engine: Engine, staff_id: str, on: date) -> dict:
    """A manager leaves: inactive from ``on``; the next ``tasks create`` (or ``tasks reassign``) hands their
    members and open tasks to others."""
    with engine.begin() as conn:
        if not execute(conn, "SELECT 1 FROM ops_staff WHERE staff_id = ?", [staff_id]):
            raise OperationsError(f"no staff member {staff_id} (load the roster with weixi staff load)")
        execute(conn, "UPDATE ops_staff SET active = ?, left_on = ?, updated_at = ? WHERE staff_id = ?",
                [False, on, now(), staff_id])
        n = execute(conn, "SELECT count(*) FROM ops_tasks WHERE assignee = ? AND status = 'open'", [staff_id])[0][0]
    return {"staff_id": staff_id, "left_on": on.isoformat(), "open_tasks": int(n),
            "next": "run weixi tasks reassign --month M to hand their members and open tasks to others"}


def _staff_arrow(engine: Engine) -> pa.Table:
    with engine.connect() as conn:
        rows = execute(conn, "SELECT staff_id, role, team, shift, active, team_lead FROM ops_staff")
    cols = list(zip(*rows)) if rows else [[]] * 6
    return pa.table({"staff_id": pa.array(cols[0], pa.string()), "role": pa.array(cols[1], pa.string()),
                     "team": pa.array(cols[2], pa.string()), "shift": pa.array(cols[3], pa.string()),
                     "active": pa.array([bool(x) for x in cols[4]], pa.bool_()),
                     "team_lead": pa.array(cols[5], pa.string())})


# -- consents ---------------------------------------------------------------------------------------------------

def record_consent(engine: Engine, member_id: str, kind: str, channel: str, purpose: str, source: str,
                   at: datetime | None = None, by: str | None = None, note: str | None = None) -> dict:
    if kind not in policy.KINDS:
        raise OperationsError(f"unknown consent kind '{kind}' (one of {', '.join(policy.KINDS)})")
    if channel not in policy.CONSENT_CHANNELS:
        raise OperationsError(f"unknown channel '{channel}' (one of {', '.join(policy.CONSENT_CHANNELS)})")
    if purpose not in policy.CONSENT_PURPOSES:
        raise OperationsError(f"unknown purpose '{purpose}' (one of {', '.join(policy.CONSENT_PURPOSES)})")
    if not source or not source.strip():
        raise OperationsError("a consent record needs its source (--source, e.g. 'SMS reply TD', 'call centre')")
    at = at or now()
    if at.tzinfo is None:
        raise OperationsError("the consent time needs a time zone (e.g. 2026-10-05T09:30:00+08:00)")
    with engine.begin() as conn:
        execute(conn, "INSERT INTO ops_consents (member_id, kind, channel, purpose, source, recorded_at, recorded_by,"
                      " note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [member_id, kind, channel, purpose, source, at, by, note])
    return {"member_id": member_id, "kind": kind, "channel": channel, "purpose": purpose, "source": source,
            "recorded_at": at.isoformat()}


def _ts(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def consents(engine: Engine, member_id: str | None = None) -> list[policy.Consent]:
    sql = "SELECT member_id, kind, channel, purpose, source, recorded_at FROM ops_consents"
    with engine.connect() as conn:
        rows = execute(conn, sql + (" WHERE member_id = ?" if member_id else "") + " ORDER BY recorded_at",
                       [member_id] if member_id else [])
    return [policy.Consent(r[0], r[1], r[2], r[3], r[4], _ts(r[5])) for r in rows]


def _blocks_arrow(engine: Engine) -> pa.Table:
    by: dict[str, list] = {}
    for c in consents(engine):
        by.setdefault(c.member_id, []).append(c)
    active = [b for recs in by.values() for b in policy.active_blocks(recs)]
    return pa.table({"member_id": pa.array([b.member_id for b in active], pa.string()),
                     "kind": pa.array([b.kind for b in active], pa.string()),
                     "channel": pa.array([b.channel for b in active], pa.string()),
                     "purpose": pa.array([b.purpose for b in active], pa.string()),
                     "source": pa.array([b.source for b in active], pa.string()),
                     "recorded_at": pa.array([b.recorded_at for b in active], pa.timestamp("us", tz="UTC"))})


def _open_counts(engine: Engine, staff_ids: list[str]) -> dict[str, int]:
    """Open tasks per staff member of ``staff_ids`` (the assignee index; not a scan of every month's tasks)."""
    load: dict[str, int] = {}
    with engine.connect() as conn:
        for i in range(0, len(staff_ids), 500):
            chunk = staff_ids[i:i + 500]
            marks = ", ".join("?" for _ in chunk)
            load.update(execute(conn, f"SELECT assignee, count(*) FROM ops_tasks WHERE assignee IN ({marks}) "
                                      "AND status = 'open' GROUP BY assignee", chunk))
    return load


def planned_since(plan: OperationsPlan, earliest_due: date) -> date:
    """The first day whose contacts (made or planned) a cap can count against a new task due on ``earliest_due``
    or later: a contact counts only in its own period of a cap (week, month or quarter), so nothing before the
    earliest such period of any cap can stop a task (with weekly and monthly caps, the open tasks of two months
    back need not be read at all)."""
    return min((policy.period_start(earliest_due, cap.per) for cap in plan.caps), default=earliest_due)


def _planned_arrow(engine: Engine, plan: OperationsPlan, first: date, last: date) -> tuple[pa.Table, pa.Table]:
    """Contacts made (``ops_contacts``) and planned (open tasks) from ``first`` to ``last`` that a cap of ``plan``
    counts (its channels and purposes). The open tasks come as columns, not a Python object per row (there are
    millions once a few months are open): ``day`` is the stored due date, cast by the caller."""
    kinds = [k for k, ch in KIND_CHANNEL.items() if any(ch in cap.channels for cap in plan.caps)]
    purposes = sorted({p for cap in plan.caps for p in cap.purposes})
    with engine.connect() as conn:
        made = execute(conn, "SELECT member_id, channel, purpose, at FROM ops_contacts WHERE at >= ? AND at < ?",
                       [datetime.combine(first, datetime.min.time(), TZ),
                        datetime.combine(last + timedelta(days=1), datetime.min.time(), TZ)])
        planned = execute(conn, f"SELECT member_id, kind, purpose, due_on, task_id FROM ops_tasks WHERE status = 'open'"
                                f" AND due_on BETWEEN ? AND ? AND kind IN ({', '.join('?' for _ in kinds) or 'NULL'})"
                                f" AND purpose IN ({', '.join('?' for _ in purposes) or 'NULL'})",
                          [first, last, *kinds, *purposes]) if kinds and purposes else []
    cols = list(zip(*planned)) if planned else [[]] * 5
    try:
        days = pa.array(cols[3], pa.string())  # SQLite: 'YYYY-MM-DD' text
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        days = pa.array([str(d) for d in cols[3]], pa.string())  # PostgreSQL: dates
    opened = pa.table({"member_id": pa.array(cols[0], pa.string()), "kind": pa.array(cols[1], pa.string()),
                       "purpose": pa.array(cols[2], pa.string()), "day": days,
                       "task_id": pa.array(cols[4], pa.string())})
    rows = [(m, ch, p, _ts(at).astimezone(TZ).date()) for m, ch, p, at in made]
    cols = list(zip(*rows)) if rows else [[]] * 4
    contacts = pa.table({"member_id": pa.array(cols[0], pa.string()), "channel": pa.array(cols[1], pa.string()),
                         "purpose": pa.array(cols[2], pa.string()), "day": pa.array(cols[3], pa.date32())})
    return contacts, opened


def _planned_sql() -> str:
    """``ops_planned`` from the registered ``ops_contacts_in`` and ``ops_open_tasks_in`` (see
    :func:`_planned_arrow`); a task this run makes again (a rerun) is not counted twice."""
    channel = " ".join(f"WHEN {_lit(k)} THEN {_lit(ch)}" for k, ch in KIND_CHANNEL.items())
    return f"""CREATE TEMP TABLE ops_planned AS
        SELECT member_id, channel, purpose, day FROM ops_contacts_in
        UNION ALL
        SELECT member_id, CASE kind {channel} ELSE 'none' END, purpose, CAST(left(CAST(day AS VARCHAR), 10) AS DATE)
        FROM ops_open_tasks_in p WHERE p.task_id NOT IN (SELECT task_id FROM ops_candidates)"""


# -- the month's tasks ------------------------------------------------------------------------------------------

def _targets_sql(data_dir: Path, month: str, targets_file: str | Path | None) -> str | None:
    """The month's target list: ``--targets FILE`` (member_id required; list, priority, reason, offer_id,
    offer_name, group optional) or DATA/targets/month=M/part-0.parquet from ``weixi targets build``."""
    if targets_file is not None:
        path = Path(targets_file)
        if not path.exists():
            raise OperationsError(f"targets file {path}: no such file")
        src = f"read_parquet({_lit(path)})" if path.suffix in (".parquet", ".pq") else \
            f"read_csv({_lit(path)}, all_varchar=true, header=true)"
    else:
        path = Path(data_dir) / "targets" / f"month={month}" / "part-0.parquet"
        if not path.exists():
            return None
        src = f"read_parquet({_lit(path)})"
    try:
        cols = {r[0] for r in duckdb.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    except duckdb.Error as exc:
        raise OperationsError(f"targets file {path}: cannot read it ({str(exc).splitlines()[0]})") from None
    if "member_id" not in cols:
        raise OperationsError(f"targets file {path}: missing column member_id (optional: list, priority, reason, "
                              "offer_id, offer_name, group)")
    reason = "coalesce(CAST(reason_1_zh AS VARCHAR), CAST(reason_1 AS VARCHAR))" if "reason_1_zh" in cols else \
        ("CAST(reason AS VARCHAR)" if "reason" in cols else "CAST(NULL AS VARCHAR)")
    priority = "priority_fen" if "priority_fen" in cols else ("priority" if "priority" in cols else "0")
    bad = duckdb.sql(f"SELECT count(*) FROM {src} WHERE try_cast({priority} AS BIGINT) IS NULL AND {priority} IS NOT NULL"
                     ).fetchone()[0]
    if bad:
        raise OperationsError(f"targets file {path}: {bad} row(s) with a priority that is not a whole number")
    group = "\"group\"" if "group" in cols else "'treatment'"

    def col(name):
        return f"CAST({name} AS VARCHAR)" if name in cols else "CAST(NULL AS VARCHAR)"
    return (f"SELECT CAST(member_id AS VARCHAR) AS member_id, {col('list')} AS list, CAST({priority} AS BIGINT) "
            f"AS priority, {reason} AS reason, {col('offer_id')} AS offer_id, {col('offer_name')} AS offer_name "
            f"FROM {src} WHERE coalesce(CAST({group} AS VARCHAR), 'treatment') <> 'control'")


def create_month(engine: Engine, data_dir: Path, month: str, plan: OperationsPlan, run_date: date | None = None,
                 targets_file: str | Path | None = None) -> dict:
    """Assign the month's members to managers and create their tasks (rerun-safe: the same tasks keep their
    ids; open tasks follow their member's new manager)."""
    _month(month)
    run_date = run_date or today()
    data_dir = Path(data_dir)
    snap = close_store.partition(data_dir, "snapshots", month) / "part-0.parquet"
    if not snap.exists():
        raise OperationsError(f"no snapshot for {month} at {snap}: run weixi close --month {month} first")
    calendar.is_working_day(run_date)  # fail loudly before anything is written when the year is not covered
    clock = _Clock()
    con = duck.connect()
    con.execute("SET TimeZone='Asia/Shanghai'")
    staff = _staff_arrow(engine)
    con.register("ops_staff_in", staff)
    con.execute("CREATE TEMP TABLE ops_staff AS SELECT * FROM ops_staff_in")
    prev = _part(data_dir, "assignments", months.shift(month, -1))
    prev_join = (f"LEFT JOIN read_parquet({_lit(prev)}) p ON p.member_id = s.member_id AND p.staff_id IS NOT NULL"
                 if prev.exists() else "LEFT JOIN (SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS staff_id, "
                                       "NULL::DATE AS since) p ON FALSE")
    con.execute(f"""CREATE TEMP TABLE ops_members AS
        SELECT s.member_id, s.tier, s.key_account, s.star_level, s.join_date,
               coalesce(p.staff_id, s.manager_id) AS prev_staff, p.since
        FROM read_parquet({_lit(snap)}) s {prev_join} WHERE s.status = 'active'""")
    summary = assign.assign(con, plan, run_date)
    clock.lap("assign")
    events = close_store.partition(data_dir, "tier_events", month) / "part-0.parquet"
    con.execute(f"CREATE TEMP TABLE ops_events AS SELECT member_id, event, from_tier, to_tier, effective_on FROM "
                f"read_parquet({_lit(events)})" if events.exists() else
                "CREATE TEMP TABLE ops_events (member_id VARCHAR, event VARCHAR, from_tier VARCHAR, to_tier VARCHAR,"
                " effective_on DATE)")
    targets = _targets_sql(data_dir, month, targets_file)
    con.execute(f"CREATE TEMP TABLE ops_targets AS {targets}" if targets else
                "CREATE TEMP TABLE ops_targets (member_id VARCHAR, list VARCHAR, priority BIGINT, reason VARCHAR,"
                " offer_id VARCHAR, offer_name VARCHAR)")
    unknown = con.execute("SELECT count(*), min(t.member_id) FROM ops_targets t ANTI JOIN ops_members m "
                          "ON m.member_id = t.member_id").fetchone()
    first = date.fromisoformat(month + "-01")
    starts = {
        "upgraded": [r[0] for r in con.execute("SELECT DISTINCT effective_on FROM ops_events WHERE event = 'upgraded'"
                                               " AND effective_on IS NOT NULL").fetchall()],
        "new_vip": [r[0] for r in con.execute(f"SELECT DISTINCT join_date FROM ops_members WHERE join_date >= "
                                              f"DATE {_lit(first)} AND join_date <= DATE {_lit(run_date)}").fetchall()],
    }
    for trig in ("will_downgrade", "target_list", "winback"):
        starts[trig] = [run_date]
    rows = tasks.dates_table(plan, starts, run_date)
    con.execute("CREATE TEMP TABLE ops_dates (rule_id VARCHAR, part VARCHAR, start DATE, not_before DATE, due_on DATE)")
    if rows:
        con.executemany("INSERT INTO ops_dates VALUES (?, ?, ?, ?, ?)", rows)
    pool = staff.filter(pa.compute.and_(staff["active"], pa.compute.is_in(staff["role"], pa.array(list(plan.pool)))))
    load = _open_counts(engine, pool["staff_id"].to_pylist())
    con.register("ops_pool_in", pa.table({"staff_id": pool["staff_id"], "team": pool["team"],
                                          "open_tasks": pa.array([load.get(s, 0) for s in pool["staff_id"].to_pylist()],
                                                                 pa.int64())}))
    con.execute("CREATE TEMP TABLE ops_pool AS SELECT * FROM ops_pool_in")
    tasks.build(con, plan, month, run_date)
    clock.lap("tasks")
    span = con.execute("SELECT min(due_on), max(due_on) FROM ops_candidates").fetchone()
    con.register("ops_consents", _blocks_arrow(engine))
    contacts, opened = _planned_arrow(engine, plan, planned_since(plan, span[0]) if span[0] else first,
                                      span[1] or first)
    con.register("ops_contacts_in", contacts)
    con.register("ops_open_tasks_in", opened)
    con.execute(_planned_sql())
    policy.apply(con, plan)
    clock.lap("policy")
    cols = ", ".join(tasks.COLUMNS)
    tasks_file = _part(data_dir, "tasks", month)
    _write(con, f"SELECT {cols} FROM ops_kept ORDER BY task_id", tasks_file)
    clock.lap("write_tasks_file")
    path = _sqlite_path(engine)
    if path is not None:
        # The loading process (one core, SQLite) runs while this one writes the assignment and blocked files.
        with tempfile.TemporaryDirectory(prefix="weixi-tasks-") as tmp:
            managers = Path(tmp) / "managers.parquet"
            con.execute("COPY (SELECT member_id, staff_id, team FROM ops_assignment WHERE staff_id IS NOT NULL) TO "
                        f"{_lit(managers)} (FORMAT parquet)")
            loader = _start_loader(path, month, tasks_file, managers)
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
    else:
        _write_files(con, plan, data_dir, month)
        clock.lap("write_other_files")
        loaded = _load_tasks(engine, con, run_date)
        reassigned = _follow_managers(engine, con)
        clock.lap("database")
    blocked = {r: int(n) for r, n in con.execute("SELECT rule, count(*) FROM ops_blocked GROUP BY 1 ORDER BY 1").fetchall()}
    examples = [dict(zip(("member_id", "task_id", "rule", "detail"), r)) for r in con.execute(
        "SELECT member_id, task_id, rule, detail FROM ops_blocked ORDER BY rule, member_id LIMIT 10").fetchall()]
    by_kind = {k: int(n) for k, n in con.execute("SELECT kind, count(*) FROM ops_kept GROUP BY 1 ORDER BY 1").fetchall()}
    report = {"month": month, "run_date": run_date.isoformat(), "plan": plan.id, "assignment": summary,
              "tasks": {"made": int(sum(by_kind.values())), "by_kind": by_kind, "new_in_database": loaded,
                        "reassigned_open_tasks": reassigned},
              "blocked": {"by_rule": blocked, "examples": examples,
                          "file": str(_part(data_dir, "blocked", month))},
              "seconds": clock.laps,
              "targets": {"unknown_members": int(unknown[0]), "example": unknown[1]} if unknown[0] else {}}
    _save_run(engine, "tasks_create", month, report)
    return report


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
    created = now()
    cols = tasks.COLUMNS
    sql = (f"INSERT INTO ops_tasks ({', '.join(cols)}, closed_at, closed_by, attempts, created_at) VALUES "
           f"({', '.join('?' * (len(cols) + 4))}) ON CONFLICT (task_id) DO NOTHING")
    cur = con.execute(f"SELECT {', '.join(cols)} FROM ops_kept ORDER BY task_id")
    before = _count(engine)
    with engine.begin() as conn:
        while True:
            batch = cur.fetchmany(INSERT_CHUNK)
            if not batch:
                break
            executemany(conn, sql, [(*r, created if r[12] == "done" else None, "system" if r[12] == "done" else None,
                                     0, created) for r in batch])
    return _count(engine) - before


def _sqlite_path(engine: Engine) -> Path | None:
    """The SQLite file behind ``engine`` (None for PostgreSQL or an in-memory database; tests replace it)."""
    return sqlite_file(engine)


def _write_files(con, plan: OperationsPlan, data_dir: Path, month: str) -> None:
    _write(con, f"SELECT * FROM ({assign.assignment_sql(plan)}) ORDER BY member_id",
           _part(data_dir, "assignments", month))
    _write(con, "SELECT * FROM ops_blocked ORDER BY member_id, task_id", _part(data_dir, "blocked", month))


LOADER = [sys.executable, "-m", "weixi.adapters.tasks_load"]  # the loading process (tests wrap it)


def _start_loader(path: Path, month: str, tasks_file: Path, managers_file: Path) -> subprocess.Popen:
    """Start loading the run's new tasks into the SQLite file, and moving the open tasks already there to their
    member's manager, in one write transaction of a process of its own (:mod:`weixi.adapters.tasks_load`
    says why a process, and how it stays all or nothing)."""
    args = {"db_path": str(path), "month": month, "tasks_file": str(tasks_file),
            "assignments_file": str(managers_file), "created": now().isoformat(), "columns": list(tasks.COLUMNS)}
    return subprocess.Popen([*LOADER, json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish_loader(loader: subprocess.Popen, path: Path, month: str) -> tuple[int, int, dict]:
    """Wait for the loading process: (new tasks, moved tasks, its step timings)."""
    out, err = loader.communicate()
    if loader.returncode != 0:
        last = (err.strip().splitlines() or [f"exit status {loader.returncode}"])[-1]
        raise OperationsError(f"loading the {month} tasks into {path} failed, nothing was loaded ({last}); "
                              "run weixi tasks create again")
    result = json.loads(out.strip().splitlines()[-1])
    return result["new"], result["moved"], result.get("seconds", {})


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(execute(conn, "SELECT count(*) FROM ops_tasks")[0][0])


def _follow_managers(engine: Engine, con) -> int:
    """Open queue tasks (any month) whose member now has another manager, or whose assignee left, move to the
    member's manager (or stay with the pool agent this run chose)."""
    with engine.connect() as conn:
        rows = execute(conn, "SELECT t.task_id, t.member_id, t.assignee FROM ops_tasks t WHERE t.status = 'open'"
                             " AND t.kind <> 'bind'")
    if not rows:
        return 0
    con.register("ops_open_in", pa.table({"task_id": [r[0] for r in rows], "member_id": [r[1] for r in rows],
                                          "assignee": pa.array([r[2] for r in rows], pa.string())}))
    moves = con.execute(MOVES_SQL).fetchall()
    with engine.begin() as conn:
        executemany(conn, "UPDATE ops_tasks SET assignee = ?, team = ? WHERE task_id = ? AND status = 'open'",
                    [(a, t, tid) for tid, a, t in moves])
    return len(moves)


def _save_run(engine: Engine, kind: str, period: str, report: dict) -> None:
    with engine.begin() as conn:
        execute(conn, "INSERT INTO ops_runs (run_id, kind, period, started_at, report) VALUES (?, ?, ?, ?, ?)",
                [uuid.uuid4().hex, kind, period, now(), json.dumps(report, ensure_ascii=False, default=str)])


# -- single tasks, queues, outcomes ---------------------------------------------------------------------------

TASK_FIELDS = ("task_id", "month", "member_id", "kind", "source", "sla_rule", "purpose", "reason", "offer_id",
               "offer_name", "template_id", "priority", "status", "assignee", "team", "created_on", "not_before",
               "due_on", "outcome", "outcome_reason", "outcome_note", "callback_at", "attempts", "closed_at",
               "closed_by", "escalated_to", "escalated_on", "parent_task_id")


def _task_row(r) -> dict:
    d = dict(zip(TASK_FIELDS, r))
    for k in ("created_on", "not_before", "due_on", "escalated_on"):
        d[k] = as_date(d[k]).isoformat() if d[k] is not None else None
    for k in ("callback_at", "closed_at"):
        d[k] = _ts(d[k]).astimezone(TZ).isoformat() if d[k] is not None else None
    d["channel"] = KIND_CHANNEL.get(d["kind"], "none")
    return d


def get_task(engine: Engine, task_id: str, conn=None) -> dict:
    sql = f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE task_id = ?"
    if conn is None:
        with engine.connect() as c:
            rows = execute(c, sql, [task_id])
    else:
        rows = execute(conn, sql, [task_id])
    if not rows:
        raise UnknownTask(f"no task {task_id!r}: check the id (weixi tasks queue AGENT lists an agent's tasks);"
                              " nothing was recorded")
    return _task_row(rows[0])


def queue(engine: Engine, staff_id: str, on: date | None = None, limit: int = 50) -> list[dict]:
    """An agent's open calls and visits that may be worked on ``on``: priority first, then due date."""
    on = on or today()
    kinds = ", ".join(_lit(k) for k in tasks.QUEUE_KINDS)
    with engine.connect() as conn:
        rows = execute(conn, f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE assignee = ? AND status = 'open'"
                             f" AND kind IN ({kinds}) AND (not_before IS NULL OR not_before <= ?)"
                             " ORDER BY priority DESC, due_on, task_id LIMIT ?", [staff_id, on, limit])
    return [_task_row(r) for r in rows]


def _member_counts(conn, plan: OperationsPlan, member_id: str, day: date) -> dict:
    first = policy.period_start(day, "quarter") - timedelta(days=7)
    last = day + timedelta(days=100)
    made = execute(conn, "SELECT channel, purpose, at FROM ops_contacts WHERE member_id = ? AND at >= ?",
                   [member_id, datetime.combine(first, datetime.min.time(), TZ)])
    planned = execute(conn, "SELECT kind, purpose, due_on FROM ops_tasks WHERE member_id = ? AND status = 'open'"
                            " AND due_on BETWEEN ? AND ?", [member_id, first, last])
    items = [(ch, p, _ts(at).astimezone(TZ).date()) for ch, p, at in made]
    items += [(KIND_CHANNEL.get(k, "none"), p, as_date(d)) for k, p, d in planned]
    counts: dict = {}
    for cap in plan.caps:
        for ch, p, d in items:
            if ch in cap.channels and p in cap.purposes:
                key = (cap.id, policy.period_start(d, cap.per))
                counts[key] = counts.get(key, 0) + 1
    return counts


def add_task(engine: Engine, plan: OperationsPlan, member_id: str, kind: str, due_on: date, assignee: str | None,
             reason: str | None = None, purpose: str = "marketing", priority: int = 0, created_by: str = "cli",
             on: date | None = None) -> dict:
    """One task by hand; refused (nothing created) when the contact policy stops it."""
    if kind not in KIND_CHANNEL:
        raise OperationsError(f"unknown task kind '{kind}' (one of {', '.join(KIND_CHANNEL)})")
    on = on or today()
    channel = KIND_CHANNEL[kind]
    block = policy.consent_block(consents(engine, member_id), channel, purpose)
    with engine.begin() as conn:
        if block is None:
            block = policy.cap_block(plan, channel, purpose, due_on, _member_counts(conn, plan, member_id, due_on))
        if block is not None:
            raise OperationsError(f"member {member_id}: no {kind} task created — {block.detail} (rule: {block.rule})")
        task_id = f"{on.strftime('%Y-%m')}/manual/{member_id}/{uuid.uuid4().hex[:8]}"
        team = execute(conn, "SELECT team FROM ops_staff WHERE staff_id = ?", [assignee]) if assignee else []
        execute(conn, f"INSERT INTO ops_tasks (task_id, month, member_id, kind, source, purpose, reason, priority, "
                      f"status, assignee, team, created_on, not_before, due_on, attempts, created_at, closed_by) VALUES "
                      f"(?, ?, ?, ?, 'manual', ?, ?, ?, 'open', ?, ?, ?, ?, ?, 0, ?, ?)",
                [task_id, on.strftime("%Y-%m"), member_id, kind, purpose, reason, priority, assignee,
                 team[0][0] if team else None, on, on, due_on, now(), None])
    return get_task(engine, task_id)


def record_outcome(engine: Engine, plan: OperationsPlan, data_dir: Path, task_id: str, kind: str, by: str,
                   reason: str | None = None, offer_id: str | None = None, note: str | None = None,
                   callback_at: datetime | None = None, order: dict | None = None, at: datetime | None = None,
                   attempt: int | None = None) -> dict:
    """Record what happened on a call or visit; see :mod:`weixi.operations.outcomes`. All or nothing.

    ``attempt`` (optional) is the try being recorded: the task's ``attempts`` + 1 when the caller loaded it. A
    retry of a try already recorded with the same outcome returns ``duplicate: true`` and records nothing; one
    recorded differently, or a try out of sequence, is refused (:class:`TaskClosed`)."""
    at = at or now()
    with engine.begin() as conn:
        if is_pg(conn):  # one outcome at a time per task (SQLite: the write transaction already is)
            execute(conn, "SELECT 1 FROM ops_tasks WHERE task_id = ? FOR UPDATE", [task_id])
        task = get_task(engine, task_id, conn)
        if attempt is not None:
            repeat = _repeated_try(conn, task, kind, attempt)
            if repeat is not None:
                return repeat
        if task["status"] != "open":
            raise TaskClosed(f"task {task_id} is already {task['status']} (outcome {task['outcome']} by "
                                  f"{task['closed_by']} at {task['closed_at']}); nothing was recorded")
        if task["kind"] not in tasks.QUEUE_KINDS:
            raise OperationsError(f"task {task_id} is a {task['kind']} task: its outcome is recorded by the outbox")
        offer_id = offer_id or (task["offer_id"] if kind == "accepted" else None)
        try:
            outcomes.check(outcomes.Outcome(kind, reason, offer_id, note))
        except outcomes.OutcomeError as exc:
            raise OperationsError(f"task {task_id}: {exc}; nothing was recorded") from None
        result: dict = {"task_id": task_id, "outcome": kind, "follow_ups": []}
        if kind == "callback":
            if callback_at is None:
                raise OperationsError(f"task {task_id}: callback needs --at (e.g. 2026-10-12T10:00:00+08:00)")
            if callback_at.tzinfo is None:
                callback_at = callback_at.replace(tzinfo=TZ)
            block = policy.quiet_block(plan, callback_at.astimezone(TZ))
            if block:
                raise OperationsError(f"task {task_id}: call back at {callback_at.isoformat()} refused — {block.detail};"
                                      " pick another time; nothing was recorded")
            if callback_at <= at:
                raise OperationsError(f"task {task_id}: the call-back time {callback_at.isoformat()} is not in the "
                                      "future; nothing was recorded")
        if kind == "unreachable" and task["attempts"] + 1 < outcomes.MAX_ATTEMPTS:
            execute(conn, "UPDATE ops_tasks SET attempts = attempts + 1, outcome_note = ? WHERE task_id = ?",
                    [note, task_id])
            result.update(status="open", attempts=task["attempts"] + 1,
                          note=f"still open: {outcomes.MAX_ATTEMPTS - task['attempts'] - 1} more try(ies) before it "
                               "closes as unreachable")
            return result
        execute(conn, "UPDATE ops_tasks SET status = 'done', outcome = ?, outcome_reason = ?, outcome_note = ?, "
                      "callback_at = ?, attempts = attempts + 1, closed_at = ?, closed_by = ?, offer_id = coalesce(?, "
                      "offer_id) WHERE task_id = ? AND status = 'open'",
                [kind, reason, note, callback_at, at, by, offer_id if kind == "accepted" else None, task_id])
        if kind in ("reached", "accepted", "declined", "callback"):
            execute(conn, "INSERT INTO ops_contacts (member_id, channel, purpose, source, campaign, at) VALUES "
                          "(?, ?, ?, ?, NULL, ?) ON CONFLICT (source, channel) DO NOTHING",
                    [task["member_id"], task["channel"], task["purpose"], task_id, at])
        if kind == "accepted":
            result["order"] = _order(conn, data_dir, task, offer_id, by, at, order or {})
        follow = _follow_up(conn, plan, task, kind, at, callback_at, by)
        if follow:
            result["follow_ups"].append(follow)
        result["status"] = "done"
    return result


def _repeated_try(conn, task: dict, kind: str, attempt: int) -> dict | None:
    """The first result when try ``attempt`` of ``task`` was already recorded as ``kind``; None when it is the
    next try; :class:`TaskClosed` when it was recorded otherwise or is out of sequence."""
    tid, done = task["task_id"], task["attempts"]
    if attempt > done + 1 or attempt < 1:
        raise TaskClosed(f"task {tid}: try {attempt} is out of sequence: the task has had {done} try(ies); reload "
                         "it; nothing was recorded")
    if attempt == done + 1:
        return None
    if kind == "unreachable":  # only unreachable tries leave a task open, so every try before the last was one
        same = task["status"] == "open" or attempt < done or task["outcome"] == "unreachable"
    else:
        same = attempt == done and task["outcome"] == kind
    if not same:
        raise TaskClosed(f"task {tid}: try {attempt} was already recorded ({task['outcome'] or 'unreachable'} by "
                         f"{task['closed_by'] or 'an agent'}); nothing was recorded")
    out: dict = {"task_id": tid, "outcome": kind, "status": task["status"], "attempts": done, "duplicate": True,
                 "follow_ups": [{"task_id": r[0], "kind": r[1], "not_before": as_date(r[2]).isoformat(),
                                 "due_on": as_date(r[3]).isoformat(), "reason": r[4]} for r in execute(
                     conn, "SELECT task_id, kind, not_before, due_on, reason FROM ops_tasks WHERE parent_task_id = ?"
                           " ORDER BY task_id", [tid])]}
    order = execute(conn, "SELECT order_id, staff_id, business, offer_id FROM ops_orders WHERE task_id = ?", [tid])
    if order:
        out["order"] = dict(zip(("order_id", "staff_id", "business", "offer_id"), order[0]))
    return out


def _order(conn, data_dir: Path, task: dict, offer_id: str, by: str, at: datetime, given: dict) -> dict:
    """The CRM retention order the incentive engine reads, credited to the agent who closed the deal."""
    member = archive.members_lookup(data_dir, task["member_id"]) or {}
    rent = given.get("monthly_rent_fen", member.get("monthly_rent_fen"))
    row = {
        "order_id": f"OPS-{task['task_id']}", "task_id": task["task_id"], "staff_id": given.get("staff_id") or by,
        "business": outcomes.OFFER_BUSINESS.get(offer_id, offer_id), "customer_id": task["member_id"],
        "number": given.get("number") or member.get("phone"), "card": given.get("card") or member.get("card_role"),
        "monthly_rent_fen": int(rent) if rent is not None else None,
        "network": given.get("network") or member.get("network"), "active": given.get("active", True),
        "cancels_unexpired_subsidy": bool(given.get("cancels_unexpired_subsidy", False)), "offer_id": offer_id,
        "created_at": at,
    }
    execute(conn, f"INSERT INTO ops_orders ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    out = {k: v for k, v in row.items() if k != "created_at"}
    out["created_at"] = at.isoformat()
    return out


def _follow_up(conn, plan: OperationsPlan, task: dict, kind: str, at: datetime, callback_at: datetime | None,
               by: str) -> dict | None:
    local = at.astimezone(TZ).date()
    rule = next(iter(plan.rules_on("follow_up")), None)
    if kind == "callback":
        day = callback_at.astimezone(TZ).date()
        new = ("callback", task["kind"], day, day, "call back as agreed at " + callback_at.isoformat(), task["purpose"])
    elif kind == "accepted" and rule is not None:
        start = calendar.add_working_days(local, 0)
        due = calendar.due_date(start, rule.amount, rule.unit)
        new = ("follow-up", "care_call", start, due, f"confirm the {task.get('offer_id') or 'offer'} is in place",
               "service")
    elif kind == "left":
        wb = next(iter(plan.rules_on("winback")), None)
        if wb is None:
            return None
        due = calendar.due_date(local, wb.amount, wb.unit)
        new = ("winback", wb.task or "retention_call", local, due, "win-back: the member has left", "marketing")
    else:
        return None
    label, kind_, not_before, due, reason, purpose = new
    new_id = f"{task['task_id']}/{label}"
    source = "winback" if label == "winback" else "follow_up"
    execute(conn, "INSERT INTO ops_tasks (task_id, month, member_id, kind, source, sla_rule, purpose, reason, offer_id,"
                  " offer_name, priority, status, assignee, team, created_on, not_before, due_on, attempts, created_at,"
                  " parent_task_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, 0, ?, ?)"
                  " ON CONFLICT (task_id) DO NOTHING",
            [new_id, local.strftime("%Y-%m"), task["member_id"], kind_, source, (rule.id if rule and label ==
             "follow-up" else None), purpose, reason, task["offer_id"], task["offer_name"],
             tasks.PRIORITY["follow_up"] if label != "winback" else task["priority"], task["assignee"] or by,
             task["team"], local, not_before, due, now(), task["task_id"]])
    return {"task_id": new_id, "kind": kind_, "not_before": not_before.isoformat(), "due_on": due.isoformat(),
            "reason": reason}


# -- escalation and SLA ------------------------------------------------------------------------------------------

def escalate(engine: Engine, plan: OperationsPlan, on: date | None = None) -> dict:
    """Open tasks past their due date by more than the plan's working days go to the assignee's team lead."""
    on = on or today()
    limit = calendar.add_working_days(on, -plan.escalate_after) if plan.escalate_after else on
    with engine.begin() as conn:
        rows = execute(conn, "SELECT t.task_id, t.assignee, t.team, t.due_on, s.team_lead FROM ops_tasks t "
                             "LEFT JOIN ops_staff s ON s.staff_id = t.assignee WHERE t.status = 'open' "
                             "AND t.escalated_to IS NULL AND t.due_on < ?", [limit])
        leads = dict(execute(conn, "SELECT team, min(staff_id) FROM ops_staff WHERE role = 'lead' GROUP BY team"))
        done, no_lead = [], []
        for task_id, assignee, team, due, lead in rows:
            to = lead or leads.get(team)
            if to is None:
                no_lead.append(task_id)
                continue
            done.append((to, on, task_id))
        executemany(conn, "UPDATE ops_tasks SET escalated_to = ?, escalated_on = ? WHERE task_id = ?", done)
    return {"date": on.isoformat(), "escalated": len(done), "no_team_lead": len(no_lead),
            "no_team_lead_examples": no_lead[:10],
            "rule": f"open past the due date by more than {plan.escalate_after} working day(s)"}


def sla_report(engine: Engine, plan: OperationsPlan, month: str | None = None, as_of: date | None = None,
               teams: list[str] | None = None) -> dict:
    """Per team and manager: tasks due (by ``as_of``), met on time, met late, open overdue, compliance.
    ``teams`` limits the report (overall included) to those teams' tasks."""
    as_of = as_of or today()
    met = ", ".join(_lit(m) for m in outcomes.MET)
    where, params = ("WHERE t.due_on <= ? AND t.month = ?", [as_of, month]) if month else ("WHERE t.due_on <= ?", [as_of])
    if teams is not None:
        where += f" AND t.team IN ({', '.join('?' for _ in teams) or 'NULL'})"
        params = [*params, *teams]
    with engine.connect() as conn:
        rows = execute(conn, f"""SELECT coalesce(t.team, '-'), coalesce(t.assignee, '-'), t.sla_rule,
                CASE WHEN t.outcome IN ({met}) AND t.closed_at IS NOT NULL THEN 'met' WHEN t.status = 'open'
                     THEN 'open' ELSE 'missed' END, t.due_on, t.closed_at, t.escalated_to
            FROM ops_tasks t {where} AND t.sla_rule IS NOT NULL""", params)
    groups: dict = {}
    for team, who, rule, state, due, closed, esc in rows:
        due = as_date(due)
        on_time = state == "met" and _ts(closed).astimezone(TZ).date() <= due
        for key in (("team", team, None), ("manager", team, who), ("rule", rule, None), ("all", None, None)):
            g = groups.setdefault(key, {"due": 0, "on_time": 0, "late": 0, "open_overdue": 0, "missed": 0,
                                        "escalated": 0})
            g["due"] += 1
            g["on_time"] += on_time
            g["late"] += state == "met" and not on_time
            g["open_overdue"] += state == "open" and due < as_of
            g["missed"] += state == "missed"
            g["escalated"] += esc is not None

    def line(g: dict) -> dict:
        rate = (Decimal(g["on_time"]) / g["due"]).quantize(Decimal("0.0001")) if g["due"] else None
        return {**g, "compliance": str(rate) if rate is not None else None,
                "meets_target": rate is not None and rate >= plan.sla_target}
    out = {"as_of": as_of.isoformat(), "month": month, "teams_filter": teams, "target": str(plan.sla_target),
           "target_percent": f"{plan.sla_target * 100:.0f}%", "overall": line(groups.get(("all", None, None),
                                                                                      {"due": 0, "on_time": 0, "late": 0,
                                                                                       "open_overdue": 0, "missed": 0,
                                                                                       "escalated": 0})),
           "teams": [], "managers": [], "rules": []}
    for (level, a, b), g in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        if level == "team":
            out["teams"].append({"team": a, **line(g)})
        elif level == "manager":
            out["managers"].append({"team": a, "staff_id": b, **line(g)})
        elif level == "rule":
            out["rules"].append({"sla_rule": a, **line(g)})
    return out


def team_view(engine: Engine, team: str | None, on: date | None = None) -> list[dict]:
    """Workload per agent: open tasks, due today, overdue, done this month."""
    on = on or today()
    where = "WHERE s.team = ?" if team else ""
    with engine.connect() as conn:
        rows = execute(conn, f"""SELECT s.staff_id, s.name, s.role, s.team, s.active,
              sum(CASE WHEN t.status = 'open' THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'open' AND t.due_on = ? THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'open' AND t.due_on < ? THEN 1 ELSE 0 END),
              sum(CASE WHEN t.status = 'done' AND t.month = ? THEN 1 ELSE 0 END)
            FROM ops_staff s LEFT JOIN ops_tasks t ON t.assignee = s.staff_id {where}
            GROUP BY s.staff_id, s.name, s.role, s.team, s.active ORDER BY s.team, s.staff_id""",
                       [on, on, on.strftime("%Y-%m")] + ([team] if team else []))
    return [{"staff_id": r[0], "name": r[1], "role": r[2], "team": r[3], "active": bool(r[4]),
             "open": int(r[5] or 0), "due_today": int(r[6] or 0), "overdue": int(r[7] or 0),
             "done_this_month": int(r[8] or 0)} for r in rows]


# -- retention orders for the incentive engine ------------------------------------------------------------------

ORDER_COLUMNS = ("order_id", "staff_id", "business", "customer_id", "number", "card", "monthly_rent", "network",
                 "active", "cancels_unexpired_subsidy", "created_at")


def orders(engine: Engine, month: str) -> tuple[list[dict], list[dict]]:
    """(orders the incentive engine pays, accepted offers of other kinds) for ``month``."""
    from weixi.incentives.model import BUSINESSES

    first = datetime.combine(date.fromisoformat(month + "-01"), datetime.min.time(), TZ)
    last = datetime.combine(calendar.add_months(first.date(), 1), datetime.min.time(), TZ)
    with engine.connect() as conn:
        rows = execute(conn, "SELECT order_id, staff_id, business, customer_id, number, card, monthly_rent_fen, network,"
                             " active, cancels_unexpired_subsidy, created_at, task_id, offer_id FROM ops_orders "
                             "WHERE created_at >= ? AND created_at < ? ORDER BY created_at, order_id", [first, last])
    paid, other = [], []
    for r in rows:
        rent = r[6]
        d = dict(zip(ORDER_COLUMNS, (r[0], r[1], r[2], r[3], r[4], r[5],
                                     f"{Decimal(rent) / 100:.2f}" if rent is not None else None, r[7],
                                     None if r[8] is None else ("true" if r[8] else "false"),
                                     "true" if r[9] else "false", _ts(r[10]).astimezone(TZ).isoformat())))
        d.update(task_id=r[11], offer_id=r[12])
        (paid if d["business"] in BUSINESSES else other).append(d)
    return paid, other


def export_orders(engine: Engine, month: str, out: Path) -> dict:
    from weixi.adapters import spreadsheet

    paid, other = orders(engine, month)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = spreadsheet.csv_writer(f)  # no cell can start a formula
        w.writerow(ORDER_COLUMNS)
        for d in paid:
            w.writerow([d[c] if d[c] is not None else "" for c in ORDER_COLUMNS])
    tmp.replace(out)
    return {"month": month, "file": str(out), "orders": len(paid),
            "not_incentive_business": [{"order_id": d["order_id"], "offer_id": d["offer_id"]} for d in other]}


def member_tasks(engine: Engine, member_id: str) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(conn, f"SELECT {', '.join(TASK_FIELDS)} FROM ops_tasks WHERE member_id = ? ORDER BY created_on DESC,"
                             " task_id", [member_id])
    return [_task_row(r) for r in rows]


def runs(engine: Engine, limit: int = 20) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(conn, "SELECT run_id, kind, period, started_at, report FROM ops_runs ORDER BY started_at DESC "
                             "LIMIT ?", [limit])
    return [{"run_id": r[0], "kind": r[1], "period": r[2], "started_at": _ts(r[3]).isoformat(),
             "report": json.loads(r[4])} for r in rows]


def message_kinds() -> tuple[str, ...]:
    return MESSAGE_KINDS
