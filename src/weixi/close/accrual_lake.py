"""The close's accrual into the lake (``WEIXI_LEDGER_STORE=lake``): a month of bills and recharges becomes one
Delta commit of the ``accruals`` table instead of an event, a lot and journal rows per bill in the SQL ledger.

The rows are the ones the set-based SQL path writes (:mod:`weixi.close.accrual_sql`, the same statements, no second
arithmetic), one row per posted bill or recharge: the event's columns, its lot's expiry (a lot exists when
``earned > 0``) and its earn entries (rule id, points, note) in posting order (a base rule's note NULL: the fold
writes its text from the rule and the amount). DuckDB writes them sorted by member in
row groups a member lookup skips by their min/max (a close's rows sorted once, as read: :mod:`accrual_order`);
:func:`weixi.adapters.lake.commit_files` commits them with the application transaction ``(weixi-accrual, YYYYMM)``:
a rerun that finds the month in skips the write.

Then, in one SQL transaction, the members are brought up to date (new members inserted; a member's first spend day
and paid flag set, as the SQL path does) and the month is recorded in ``lake_months`` (the committed watermark: a
member's fold reads the months it names, at the Delta version it names). No member's SQL balance changes
(:mod:`weixi.close.lake_apply`). A crash between
the Delta commit and that transaction leaves the lake month in and the SQL untouched; the rerun finds it in and
applies it. Members the Book must handle (a debt, a negative-balance lot, a referral waiting) are left out of the
lake: :mod:`weixi.close.accrual` posts their events through the Book as today.

Event ids are deduplicated by anti-join against the SQL ledger's events and rejections and the lake's other months
(no MERGE on the big partition).

``weixi events post`` (:mod:`weixi.close.post_lake`) takes the same path for a file's bills and recharges: each post
is a partition of its own, keyed ``<last closed month>+<n>`` (:func:`post_key`), committed with the application
transaction ``(weixi-post, n)``. A post whose commit is in but whose SQL step is not (a crash between them) is applied
by the next post or close (:func:`roll_forward_posts`).

One writer at a time: a post, the close's accrual and ``weixi ledger upgrade-lake`` hold :func:`lake_lock` (``flock``
on ``lake/.post.lock``, freed by the kernel when its holder dies) while they write; a second one waits.
"""

from __future__ import annotations

import fcntl
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from weixi.adapters import duck, lake
from weixi.adapters.sql import execute
from weixi.close import (
    accrual_load,
    accrual_order,
    accrual_sql,
    lake_apply,
    lake_carry,
    lake_ids,
    lake_sums,
    lake_write,
    ledger_proc,
    ledger_read,
    moment_text,
    post_read,
)
from weixi.close.lake_apply import apply
from weixi.ledger import bulk
from weixi.ledger.fold import ACCRUALS, accruals_dir
from weixi.plans.model import Plan

APP = "weixi-accrual"
POST_APP = "weixi-post"  # a posted batch's application id; its version is the post's number n
LOCK = ".post.lock"  # under DATA/lake: held by whoever writes the lake's accruals (see the module doc)

ACCRUAL_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("member_id", pa.string()),
        ("type", pa.string()),
        ("occurred_at", pa.string()),  # the ledger's ISO text of the moment
        ("day", pa.date32()),
        ("amount_fen", pa.int64()),
        ("attrs", pa.string()),
        ("earned", pa.int64()),
        ("plan_version", pa.int64()),
        ("expires_on", pa.date32()),  # the lot's expiry (a lot exists when earned > 0)
        ("seq", pa.int64()),  # posting order within the month
        (
            "entries",
            # note: a tier extra's text; NULL for a base rule's entry (older months may hold its text)
            pa.list_(pa.struct([("rule_id", pa.string()), ("points", pa.int64()), ("note", pa.string())])),
        ),
    ]
)


def month_version(month: str) -> int:
    """The month as the accrual's application version: ``2026-09`` -> 202609 (grows month by month)."""
    return int(month.replace("-", ""))


def post_key(last_close: str, n: int) -> str:
    """A posted batch's partition key: after ``last_close`` (the latest close month in the lake, '' none) and every
    earlier post, before the next close month (``2026-10`` < ``2026-10+000001`` < ``2026-10+000002`` < ``2026-11``)."""
    return f"{last_close}+{n:06d}"


_POST_KEY = re.compile(r"/month=([^/]*\+\d{6})/")


def post_number(key: str) -> int | None:
    """``n`` of a posted batch's key; None for a close month."""
    return int(key.rsplit("+", 1)[1]) if "+" in key else None


@dataclass
class LakePart:
    """What the lake took of the month; ``book_ids`` are the events the Book must post (members it must handle)."""

    posted: int
    duplicates: int
    rejected: int
    reasons: dict
    book_ids: pa.Table
    version: int | None  # the Delta version the part is read at (None: a post with nothing new)
    # posted events only: per input row (seq) not posted its outcome and rejection reason (``posted`` counts the rest)
    outcomes: pa.Table | None = None
    counts: dict | None = None  # a close's rows by type (``bill``, ``recharge``), read with its days


def done(engine: Engine, month: str, inputs: list) -> dict | None:
    """The month's accrual result when it is complete with the same input files (a rerun after a later step)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT result FROM lake_months WHERE month = ?", [month])
    if not rows or not rows[0][0]:
        return None
    stored = json.loads(rows[0][0])
    return stored["result"] if stored.get("inputs") == inputs else None


def finish(engine: Engine, month: str, inputs: list, result: dict) -> None:
    with engine.begin() as conn:
        execute(
            conn,
            "UPDATE lake_months SET result = ? WHERE month = ?",
            [json.dumps({"inputs": inputs, "result": result}), month],
        )


SERVICE_TYPES = 64  # at most this many service types' attrs written as literals (more: every one built)


def _probe(con, plan: Plan) -> tuple[list, int, dict, list[str], tuple]:
    """The days, the rows out of the bulk path's range (no day, a negative amount, one at or above its limit), the
    rows by type, the service types (up to :data:`SERVICE_TYPES`; none: more) and the least and greatest moment
    (microseconds since the epoch; None, None: none) of ``acc_all``, in one scan."""
    rows = con.execute(
        f"SELECT type, day, count(*), count(*) FILTER (WHERE day IS NULL OR amount_fen < 0 "
        f"OR amount_fen >= {bulk.fen_limit(plan)}), list_sort(list(DISTINCT service_type)[:{SERVICE_TYPES + 1}]), "
        "epoch_us(min(moment)), epoch_us(max(moment)) FROM acc_all GROUP BY type, day"
    ).fetchall()
    counts: dict = {}
    for t, _, n, *_ in rows:
        counts[t] = counts.get(t, 0) + int(n)
    types = sorted({s for r in rows for s in r[4] if s is not None})
    days = sorted({r[1] for r in rows if r[1] is not None})
    lows, highs = [r[5] for r in rows if r[5] is not None], [r[6] for r in rows if r[6] is not None]
    moments = (min(lows), max(highs)) if lows else (None, None)
    return days, sum(int(r[3]) for r in rows), counts, types if len(types) <= SERVICE_TYPES else [], moments


def applicable(plan: Plan | None, days: list, out_of_range: int) -> bool:
    """Whether the set-based statements take the month (else the whole month goes through the batches)."""
    if plan is None:
        return False
    compiled = bulk.compile_plan(plan)
    return compiled.ok and not out_of_range and not any(m.window.contains(d) for m in compiled.blockers for d in days)


_held = threading.local()  # the lock files this thread holds (a post holds the lock around its call of post())


@contextmanager
def lake_lock(data_dir: Path) -> Iterator[None]:
    """Hold the lake's writer lock (``DATA/lake/.post.lock``): waits while another process or thread holds it.
    Reentrant in one thread."""
    folder = Path(data_dir) / "lake"
    folder.mkdir(parents=True, exist_ok=True)
    path = str((folder / LOCK).resolve())
    held = _held.__dict__.setdefault("paths", set())
    if path in held:
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        held.add(path)
        try:
            yield
        finally:
            held.discard(path)
            fcntl.flock(fh, fcntl.LOCK_UN)


def post(
    engine: Engine,
    data_dir: Path,
    month: str,
    plan: Plan,
    version: int | None,
    source_sql,
    days: list | None,
    *,
    app: str = APP,
    app_version: int | None = None,
    post_rows: pa.Table | None = None,
) -> LakePart | None:
    """Compute the month's rows with the set-based statements, commit them to the lake (unless the month is in),
    apply them to the SQL members and watermark (unless applied). Returns what was posted and the events left to
    the Book.

    ``source_sql``: the rows' query (over ``post_src`` for a post), or a callable that returns a DuckDB connection
    holding ``acc_all`` (the close: :func:`weixi.close.accrual.stage_source`; its rows sorted by member as they
    were read, :mod:`weixi.close.accrual_order`, and written in that order).
    ``days`` None (the close): the days and the rows by type are read from the month's rows once they are in
    DuckDB (not by a scan of the input of their own); None is returned, and nothing written, when the statements
    do not take the month (:func:`applicable`).

    ``month`` is the partition key, committed as ``(app, app_version)`` (default: the close's, the month's number).
    ``post_rows``: the rows of posted events (:mod:`weixi.close.post_lake`), which ``source_sql`` reads as
    ``post_src``; then the part's ``outcomes`` say what became of each, and a post with nothing new commits nothing.
    Holds :func:`lake_lock` throughout."""
    with lake_lock(data_dir):
        return _post(engine, data_dir, month, plan, version, source_sql, days, app, app_version, post_rows)


def _post(engine, data_dir, month, plan, version, source_sql, days, app, app_version, post_rows) -> LakePart:
    compiled = bulk.compile_plan(plan)
    table = accruals_dir(data_dir)
    roll_forward_posts(engine, data_dir)
    ledger = None  # the close: the SQL ledger's rows, read while the month's rows are staged
    con = None
    try:
        if post_rows is None:
            default = plan.default_tier()
            ledger = _read_ledger(engine, default.id if default else None)
        if callable(source_sql):  # the close: staged, its memory bounded
            con = source_sql()
        else:
            con = duck.connect()
            duck.bound_memory(con, data_dir)
            if post_rows is None:
                # in no order: every reader orders what it reads (the lake's rows by member and seq)
                con.execute(f"CREATE TEMP TABLE acc_all AS SELECT * FROM ({source_sql})")
            else:  # read where it is (in seq order, the file's): no copy
                con.register("post_src", post_rows)
                con.execute(f"CREATE TEMP VIEW acc_all AS {source_sql}")
        counts, service_types, moments = None, None, (None, None)
        if days is None:
            days, out_of_range, counts, service_types, moments = _probe(con, plan)
            if not applicable(plan, days, out_of_range):
                ledger, _ = None, ledger()  # the read's answer taken (the loading process serves the next request)
                return None
        con.register(
            "acc_days_in",
            accrual_load.days_table(accrual_sql.day_columns(compiled), accrual_sql.day_rows(compiled, plan, days)),
        )
        con.execute("CREATE TEMP TABLE acc_days AS SELECT * FROM acc_days_in")
        if post_rows is None:
            rows, ledger = ledger(), None
            _take_ledger(con, rows)
        else:
            post_read.read_posted(con, engine, post_rows)
        ours = _seen_in_lake(con, data_dir, month)
        st = accrual_sql.statements(
            compiled, version, posted=post_rows is not None, distinct_ids=post_read.distinct(post_rows)
        )
        ordered = callable(source_sql)  # the close: the rows sorted by member once, the files written in that order
        if ordered:
            accrual_order.mark(con)
            day_rows = accrual_sql.day_rows(compiled, plan, days)
            offset = moment_text.fixed_offset(con, *moments)  # the recharges' moments written without a zone lookup
            con.execute(
                accrual_sql.lake_events(
                    compiled, version, days=day_rows, service_types=service_types, moment_offset=offset
                )
            )
        else:
            con.execute(  # a view: the statements read it once (a copy of every column cost more than the filter)
                "CREATE TEMP VIEW acc_src AS SELECT * FROM acc_all WHERE member_id NOT IN (SELECT member_id FROM acc_book)"
            )
            # then the lake's rows, entries and all, row by row (st.base to st.members: the SQL path's)
            con.execute(st.new)
            con.execute(accrual_sql.lake_events(compiled, version, posted=post_rows is not None))
        posted, duplicates = con.execute(st.outcome).fetchone()
        reasons = {r: int(n) for r, n in con.execute(accrual_sql.REJECTIONS_SQL).fetchall()}
        mv = month_version(month) if app_version is None else app_version
        committed = lake.app_version(table, app)
        held = None  # the close's members' update (lake_apply.hold)
        if committed is not None and committed >= mv:
            # in the lake already (a rerun): what it holds was posted before, the rest is the Book's
            month_files = lake.file_uris(table, partition={"month": month})
            in_month = (
                con.execute(
                    f"SELECT count(*) FROM acc_new WHERE event_id IN (SELECT event_id FROM read_parquet({month_files!r}))"
                ).fetchone()[0]
                if month_files
                else 0
            )
            posted, duplicates = 0, duplicates + in_month
        elif posted or post_rows is None:  # a post with nothing new leaves no trace
            held = (  # the close's sorted rows: acc_events is acc_new's rows one for one, with their points
                lake_apply.hold(con, engine, data_dir, month, "acc_new" if ordered else "acc_events")
                if post_rows is None and posted
                else None
            )
            try:
                files = (
                    lake_write.write_partition(con, table, {"month": month}, posted, ordered, "acc_all")
                    if posted
                    else []
                )
                schema = pq.read_schema(files[0]) if files else ACCRUAL_SCHEMA
                lake.commit_files(table, files, {"month": month}, schema, app, mv)
            except BaseException:
                if isinstance(held, ledger_proc.HeldUpdate):
                    held.abort()
                raise
            sql_done = None
            if isinstance(held, ledger_proc.HeldUpdate):  # the members' update commits with the watermark
                mark = lake_apply.watermark(data_dir, month, lake.table_version(table))
                sql_done, held = held.commit_later([(lake_apply.WATERMARK, mark)]), None
            try:
                if files:  # the partition's id ranges (those of its input hold its rows') and sums, while the
                    # ledger process commits (caches: a crash before they are kept leaves them to be read from the
                    # files). The sums from the files just written (three columns, read back from the page cache),
                    # not from acc_events, whose points each row computes again: 0.34 s against 0.93 s at 10,000,000
                    lake_ids.keep(Path(data_dir) / "lake", month, files, ours)
                    lake_sums.keep(
                        con, Path(data_dir) / "lake", month, files, rows=duck.scan_files(list(map(str, files)))
                    )
            finally:
                if sql_done is not None:
                    try:
                        ledger_proc.work_while_committing()
                    finally:
                        sql_done()
        in_lake_before = committed is not None and committed >= mv
        if post_rows is not None:  # the outcomes name the Book's rows
            outcomes, book_ids = _outcomes(con, in_lake_before), pa.table({"event_id": pa.nulls(0, pa.string())})
        else:
            # the events nobody has posted: those of the members the Book must handle (and, on a rerun, any the lake
            # lacks). The other months' ids among them are in acc_seen already (_seen_in_lake). When this run wrote the
            # month, every other row is posted, seen, rejected or a later row of a posted id: only the Book's members'
            # rows are looked at, against acc_new (the files just written are not read back); a rerun reads the files
            outcomes, rows, in_lake_ids = None, "acc_all WHERE member_id IN (SELECT member_id FROM acc_book)", ""
            if in_lake_before:
                in_lake = lake.file_uris(table, partition={"month": month})
                rows = "acc_all"
                in_lake_ids = f"(SELECT event_id FROM read_parquet({in_lake!r}))" if in_lake else ""
            elif con.execute("SELECT count(*) FROM acc_book").fetchone()[0]:
                in_lake_ids = "(SELECT event_id FROM acc_new)"
            book_ids = con.execute(
                f"SELECT event_id FROM (SELECT event_id FROM {rows}) WHERE "
                + (f"event_id NOT IN {in_lake_ids} AND " if in_lake_ids else "")
                + "event_id NOT IN (SELECT event_id FROM acc_seen) "
                "AND event_id NOT IN (SELECT event_id FROM acc_rejected) GROUP BY event_id"
            ).fetch_arrow_table()
    finally:
        if ledger is not None:  # a failure before the read's answer was taken: take it (its error is not this one)
            try:
                ledger()
            except Exception:  # noqa: BLE001
                pass
        if con is not None and callable(source_sql):  # the close's: its memory given back beside the steps after
            threading.Thread(target=con.close, name="weixi-accrual-duckdb").start()  # (0.05 s at 1,000,000 members)
        elif con is not None:
            con.close()
    applied = (
        lake_apply.apply(engine, data_dir, month, held if isinstance(held, pa.Table) else None)
        if post_rows is None or posted or in_lake_before
        else None
    )
    return LakePart(int(posted), int(duplicates), sum(reasons.values()), reasons, book_ids, applied, outcomes, counts)


def _outcomes(con, in_lake: bool) -> pa.Table:
    """Per posted row (seq) that is not posted now: ``book`` (its member is the Book's), ``rejected`` (a repeat of
    a rejected id: with the first reason) or ``duplicate`` (posted before, or earlier in the input)."""
    new = "'duplicate'" if in_lake else "'posted'"
    return con.execute(
        "SELECT * FROM (SELECT a.seq, CASE WHEN a.member_id IN (SELECT member_id FROM acc_book) THEN 'book' "
        f"WHEN a.seq IN (SELECT seq FROM acc_new) THEN {new} "
        "WHEN a.event_id IN (SELECT event_id FROM acc_seen) THEN 'duplicate' "
        "WHEN r.event_id IS NOT NULL THEN 'rejected' ELSE 'duplicate' END AS outcome, r.reason "
        "FROM acc_all a LEFT JOIN acc_rejected r USING (event_id)) WHERE outcome <> 'posted' ORDER BY seq"
    ).fetch_arrow_table()


_LEDGER_QUERY = (
    # no NULL in a column: ADBC's SQLite types a column by its first values ('' stands for a NULL tier)
    "SELECT 'm', member_id, coalesce(tier, ''), debt FROM members "
    "WHERE (tier IS NOT NULL AND tier <> ?) OR debt > 0 UNION ALL "
    "SELECT 'r', event_id, coalesce(reason, ''), 0 FROM rejections UNION ALL SELECT 'e', event_id, '', 0 FROM events "
    "UNION ALL SELECT 'b', member_id, '', 0 FROM lots WHERE deficit = ? AND remaining < 0 UNION ALL "
    "SELECT 'b', referee_id, '', 0 FROM referrals WHERE awarded_on IS NULL",
)
_LEDGER_SCHEMA = pa.schema([("k", pa.string()), ("id", pa.string()), ("text", pa.string()), ("n", pa.int64())])


def _read_ledger(engine: Engine, default_tier: str | None):
    """Start reading what :func:`_take_ledger` makes of the SQL ledger: one query, read by the loading process on
    SQLite while the caller stages the month's rows in DuckDB (at 10,000,000 members it scans the members' table:
    1.9 s of the close when it was read after them); call the function returned for the rows."""
    later = ledger_read.ledger_arrows_later(
        engine,
        [_LEDGER_QUERY + ([default_tier or "", True], _LEDGER_SCHEMA)],
    )
    return lambda: later()[0]


def _take_ledger(con, rows: pa.Table) -> None:
    """acc_seen and acc_rejected (the SQL ledger's ids), acc_stored (the members whose stored tier gives other
    extras than no tier, the plan's default, and those in debt), acc_book (the members the Book must handle), from
    the rows :func:`_read_ledger` read. A member of the default tier or none is left out of acc_stored: the
    statements give a member they do not find the default tier's extras (at 10,000,000 members, most of whom hold
    the default tier, reading them all took 6 s)."""
    con.register("acc_ledger", rows)
    con.execute("CREATE TEMP TABLE acc_seen AS SELECT id AS event_id FROM acc_ledger WHERE k = 'e'")
    con.execute("CREATE TEMP TABLE acc_rejected AS SELECT id AS event_id, text AS reason FROM acc_ledger WHERE k = 'r'")
    con.execute(
        "CREATE TEMP TABLE acc_stored AS SELECT id AS member_id, nullif(text, '') AS tier, n AS debt FROM acc_ledger "
        "WHERE k = 'm'"
    )
    con.execute(
        "CREATE TEMP TABLE acc_book AS SELECT id AS member_id FROM acc_ledger WHERE k = 'b' "
        "UNION SELECT member_id FROM acc_stored WHERE debt > 0"
    )
    con.unregister("acc_ledger")


def _seen_in_lake(con, data_dir: Path, month: str) -> lake_ids.Ranges:
    """Add to acc_seen the ids of ``acc_all`` the lake's other partitions hold: a semi-join that reads only the
    ``event_id`` column of the partitions whose id ranges meet the input's (:mod:`weixi.close.lake_ids`), instead
    of every id the lake holds. Returns the input's id ranges (those of the partition it writes)."""
    ours = lake_ids.ranges(con, "acc_all")
    partitions = lake_carry.by_key(lake.file_uris(accruals_dir(data_dir)))
    partitions.pop(month, None)
    others = lake_ids.holding(con, Path(data_dir) / "lake", partitions, ours) if ours else []
    if others:
        con.execute(
            f"INSERT INTO acc_seen SELECT event_id FROM read_parquet({others!r}) "
            "WHERE event_id IN (SELECT event_id FROM acc_all)"
        )
    return ours


def roll_forward_posts(engine: Engine, data_dir: Path) -> list[str]:
    """Apply the posted batches the lake holds and ``lake_months`` lacks (a crash between a post's Delta commit and
    its SQL step), in key order; their keys. Nothing (one file listing) when every post is applied."""
    table = accruals_dir(data_dir)
    if lake.app_version(table, POST_APP) is None:
        return []
    keys = {m.group(1) for u in lake.file_uris(table) if (m := _POST_KEY.search(u))}
    if not keys:
        return []
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        have = {r[0] for r in execute(conn, "SELECT month FROM lake_months WHERE month LIKE ?", ["%+%"])}
    missing = sorted(keys - have)
    for key in missing:
        lake_apply.apply(engine, data_dir, key)
    return missing


__all__ = [
    "ACCRUALS",
    "APP",
    "POST_APP",
    "LakePart",
    "apply",
    "applicable",
    "done",
    "finish",
    "month_version",
    "post",
    "post_key",
    "post_number",
    "roll_forward_posts",
]
