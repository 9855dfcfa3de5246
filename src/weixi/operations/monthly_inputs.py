"""The inputs of the month's tasks (:mod:`weixi.operations.monthly_tasks`) as Arrow tables and SQL for DuckDB: the
roster, the consents in force, the open tasks per staff member, the contacts made and planned that a cap counts,
and the month's target list."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import execute
from weixi.operations import policy
from weixi.operations.clock import local, start_of, zone
from weixi.operations.errors import OperationsError
from weixi.operations.plan import KIND_CHANNEL, OperationsPlan
from weixi.operations.service import consents, lit


def staff_arrow(engine: Engine) -> pa.Table:
    with engine.connect() as conn:
        rows = execute(conn, "SELECT staff_id, role, team, shift, active, team_lead FROM ops_staff")
    cols = list(zip(*rows)) if rows else [[]] * 6
    return pa.table(
        {
            "staff_id": pa.array(cols[0], pa.string()),
            "role": pa.array(cols[1], pa.string()),
            "team": pa.array(cols[2], pa.string()),
            "shift": pa.array(cols[3], pa.string()),
            "active": pa.array([bool(x) for x in cols[4]], pa.bool_()),
            "team_lead": pa.array(cols[5], pa.string()),
        }
    )


def blocks_arrow(engine: Engine) -> pa.Table:
    by: dict[str, list] = {}
    for c in consents(engine):
        by.setdefault(c.member_id, []).append(c)
    active = [b for recs in by.values() for b in policy.active_blocks(recs)]
    return pa.table(
        {
            "member_id": pa.array([b.member_id for b in active], pa.string()),
            "kind": pa.array([b.kind for b in active], pa.string()),
            "channel": pa.array([b.channel for b in active], pa.string()),
            "purpose": pa.array([b.purpose for b in active], pa.string()),
            "source": pa.array([b.source for b in active], pa.string()),
            "recorded_at": pa.array([b.recorded_at for b in active], pa.timestamp("us", tz="UTC")),
        }
    )


def open_counts(engine: Engine, staff_ids: list[str]) -> dict[str, int]:
    """Open tasks per staff member of ``staff_ids`` (the assignee index; not a scan of every month's tasks)."""
    load: dict[str, int] = {}
    with engine.connect() as conn:
        for i in range(0, len(staff_ids), 500):
            chunk = staff_ids[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            load.update(
                execute(
                    conn,
                    f"SELECT assignee, count(*) FROM ops_tasks WHERE assignee IN ({marks}) "
                    "AND status = 'open' GROUP BY assignee",
                    chunk,
                )
            )
    return load


def planned_since(plan: OperationsPlan, earliest_due: date) -> date:
    """The first day whose contacts (made or planned) a cap can count against a new task due on ``earliest_due``
    or later: a contact counts only in its own period of a cap (week, month or quarter), so nothing before the
    earliest such period of any cap can stop a task (with weekly and monthly caps, the open tasks of two months
    back need not be read at all)."""
    return min((policy.period_start(earliest_due, cap.per) for cap in plan.caps), default=earliest_due)


def planned_arrow(engine: Engine, plan: OperationsPlan, first: date, last: date) -> tuple[pa.Table, pa.Table]:
    """Contacts made (``ops_contacts``) and planned (open tasks) from ``first`` to ``last`` that a cap of ``plan``
    counts (its channels and purposes). The open tasks come as columns, not a Python object per row (there are
    millions once a few months are open): ``day`` is the stored due date, cast by the caller."""
    kinds = [k for k, ch in KIND_CHANNEL.items() if any(ch in cap.channels for cap in plan.caps)]
    purposes = sorted({p for cap in plan.caps for p in cap.purposes})
    with engine.connect() as conn:
        tz = zone(conn)
        made = execute(
            conn,
            "SELECT member_id, channel, purpose, at FROM ops_contacts WHERE at >= ? AND at < ?",
            [start_of(first, tz), start_of(last + timedelta(days=1), tz)],
        )
        planned = (
            execute(
                conn,
                f"SELECT member_id, kind, purpose, due_on, task_id FROM ops_tasks WHERE status = 'open'"
                f" AND due_on BETWEEN ? AND ? AND kind IN ({', '.join('?' for _ in kinds) or 'NULL'})"
                f" AND purpose IN ({', '.join('?' for _ in purposes) or 'NULL'})",
                [first, last, *kinds, *purposes],
            )
            if kinds and purposes
            else []
        )
    cols = list(zip(*planned)) if planned else [[]] * 5
    try:
        days = pa.array(cols[3], pa.string())  # SQLite: 'YYYY-MM-DD' text
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        days = pa.array([str(d) for d in cols[3]], pa.string())  # PostgreSQL: dates
    opened = pa.table(
        {
            "member_id": pa.array(cols[0], pa.string()),
            "kind": pa.array(cols[1], pa.string()),
            "purpose": pa.array(cols[2], pa.string()),
            "day": days,
            "task_id": pa.array(cols[4], pa.string()),
        }
    )
    rows = [(m, ch, p, local(at, tz).date()) for m, ch, p, at in made]
    cols = list(zip(*rows)) if rows else [[]] * 4
    contacts = pa.table(
        {
            "member_id": pa.array(cols[0], pa.string()),
            "channel": pa.array(cols[1], pa.string()),
            "purpose": pa.array(cols[2], pa.string()),
            "day": pa.array(cols[3], pa.date32()),
        }
    )
    return contacts, opened


def planned_sql() -> str:
    """``ops_planned`` from the registered ``ops_contacts_in`` and ``ops_open_tasks_in`` (see
    :func:`planned_arrow`); a task this run makes again (a rerun) is not counted twice."""
    channel = " ".join(f"WHEN {lit(k)} THEN {lit(ch)}" for k, ch in KIND_CHANNEL.items())
    return f"""CREATE TEMP TABLE ops_planned AS
        SELECT member_id, channel, purpose, day FROM ops_contacts_in
        UNION ALL
        SELECT member_id, CASE kind {channel} ELSE 'none' END, purpose, CAST(left(CAST(day AS VARCHAR), 10) AS DATE)
        FROM ops_open_tasks_in p WHERE p.task_id NOT IN (SELECT task_id FROM ops_candidates)"""


def targets_sql(data_dir: Path, month: str, targets_file: str | Path | None) -> str | None:
    """The month's target list: ``--targets FILE`` (member_id required; list, priority, reason, reason_en,
    offer_id, offer_name, group optional; churn scores give reason_1_zh and reason_1) or DATA/targets/month=M/part-0.parquet from ``weixi targets build``."""
    if targets_file is not None:
        path = Path(targets_file)
        if not path.exists():
            raise OperationsError("ops_targets_file_missing", path=str(path))
        src = (
            f"read_parquet({lit(path)})"
            if path.suffix in (".parquet", ".pq")
            else f"read_csv({lit(path)}, all_varchar=true, header=true)"
        )
    else:
        path = Path(data_dir) / "targets" / f"month={month}" / "part-0.parquet"
        if not path.exists():
            return None
        src = f"read_parquet({lit(path)})"
    try:
        cols = {r[0] for r in duck.rows(f"DESCRIBE SELECT * FROM {src}")}
    except duckdb.Error as exc:
        raise OperationsError("ops_targets_file_unreadable", path=str(path), detail=str(exc).splitlines()[0]) from None
    if "member_id" not in cols:
        raise OperationsError("ops_targets_missing_member_id", path=str(path))
    reason = (
        "coalesce(CAST(reason_1_zh AS VARCHAR), CAST(reason_1 AS VARCHAR))"
        if "reason_1_zh" in cols
        else ("CAST(reason AS VARCHAR)" if "reason" in cols else "CAST(NULL AS VARCHAR)")
    )
    # The churn scores carry both languages (reason_1, reason_1_zh); a target list's own ``reason`` is kept as given.
    reason_en = (
        "CAST(reason_1 AS VARCHAR)"
        if "reason_1" in cols
        else ("CAST(reason_en AS VARCHAR)" if "reason_en" in cols else "CAST(NULL AS VARCHAR)")
    )
    priority = "priority_fen" if "priority_fen" in cols else ("priority" if "priority" in cols else "0")
    bad = duck.rows(
        f"SELECT count(*) FROM {src} WHERE try_cast({priority} AS BIGINT) IS NULL AND {priority} IS NOT NULL"
    )[0][0]
    if bad:
        raise OperationsError("ops_targets_bad_priority", path=str(path), bad=bad)
    group = '"group"' if "group" in cols else "'treatment'"

    def col(name):
        return f"CAST({name} AS VARCHAR)" if name in cols else "CAST(NULL AS VARCHAR)"

    return (
        f"SELECT CAST(member_id AS VARCHAR) AS member_id, {col('list')} AS list, CAST({priority} AS BIGINT) "
        f"AS priority, {reason} AS reason, {reason_en} AS reason_en, {col('offer_id')} AS offer_id, {col('offer_name')} AS offer_name "
        f"FROM {src} WHERE coalesce(CAST({group} AS VARCHAR), 'treatment') <> 'control'"
    )


INTRO_COLUMNS = ("member_id", "staff_id", "introduced_at")


def introductions_sql(path: str | Path | None) -> str:
    """One row per member (member_id, introducer, introduced_at): the first introduction on record. The file is
    CSV or Parquet with :data:`INTRO_COLUMNS`; without one, no member has an introducer."""
    empty = (
        "SELECT CAST(NULL AS VARCHAR) AS member_id, CAST(NULL AS VARCHAR) AS introducer, "
        "CAST(NULL AS TIMESTAMP) AS introduced_at WHERE FALSE"
    )
    if path is None:
        return empty
    path = Path(path)
    if not path.exists():
        raise OperationsError("ops_introductions_file_missing", path=str(path))
    src = (
        f"read_parquet({lit(path)})"
        if path.suffix in (".parquet", ".pq")
        else f"read_csv({lit(path)}, all_varchar=true, header=true)"
    )
    try:
        cols = {r[0] for r in duck.rows(f"DESCRIBE SELECT * FROM {src}")}
    except duckdb.Error as exc:
        raise OperationsError(
            "ops_introductions_file_unreadable", path=str(path), detail=str(exc).splitlines()[0]
        ) from None
    missing = [c for c in INTRO_COLUMNS if c not in cols]
    if missing:
        raise OperationsError("ops_introductions_missing_columns", path=str(path), missing=missing)
    when = "try_cast(introduced_at AS TIMESTAMP)"
    n = duck.rows(f"SELECT count(*) FROM {src} WHERE {when} IS NULL OR member_id IS NULL OR staff_id IS NULL")[0][0]
    if n:
        raise OperationsError("ops_introductions_bad_rows", path=str(path), bad=n)
    return (
        f"SELECT CAST(member_id AS VARCHAR) AS member_id, arg_min(CAST(staff_id AS VARCHAR), ({when}, staff_id)) "
        f"AS introducer, min({when}) AS introduced_at FROM {src} GROUP BY 1"
    )
