"""What ``weixi verify`` checks of the lake ledger against the close's own files (issue 21,
``WEIXI_LEDGER_STORE=lake``); the ledger's checks are :mod:`weixi.ledger.verify`, which cannot read the close's.

- **Every point explained**: each closed lake month is computed again from its source bills and recharges in the data
  folder, at the plan version its close recorded, by the close's own statements (:func:`weixi.close.accrual.source_sql`
  and :mod:`weixi.close.accrual_sql`), and compared with the rows of that month's ``accruals`` partition both ways by
  event id: a lake row no source bill explains (``lake-accrual-extra``), a bill the lake lacks that the SQL ledger
  (the Book's members) and the lake's other partitions do not hold either (``lake-accrual-missing``), and a row whose
  points, expiry or earn entries differ (``lake-accrual-points``). A month whose source rows are gone is skipped and
  counted (``lake_months_skipped``).
- **The latest snapshot re-derived**: per member, the ``points_balance`` of the latest closed month's snapshot, read
  at the Delta version its close recorded, equals the SQL journal up to the month end (with the expiries of the
  close's expiry day) plus the member's unfolded lake lots earned by then and not expired, read at the ``accruals``
  version that close recorded (``snapshot-balance``). A member with entries dated after the month end (a redemption,
  an adjustment since) changed after the close: skipped and counted (``snapshot_members_skipped``).
- **The records kept per partition**: its id ranges and its sums (:mod:`weixi.close.lake_ids`,
  :mod:`weixi.close.lake_sums`) against its files (``lake-ids-record``, ``lake-sums-record``).

Set-based: DuckDB over the month's files and the ledger's rows read as Arrow (no loop over members or bills).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.bulk_sql import select_ids
from weixi.adapters.sql import execute
from weixi.close import accrual_load, accrual_sql, lake_carry, lake_ids, lake_sums, lake_write, store
from weixi.close.accrual import source_sql
from weixi.close.ledger_bridge import ledger_arrow
from weixi.close.months import first_day, month_end, next_month, previous_month
from weixi.ledger import bulk, fold, fold_read
from weixi.ledger.verify import Mismatch
from weixi.plans.service import check_text
from weixi.plans.service import version as plan_version_row

COUNTS = (
    "lake_months",
    "lake_months_skipped",
    "lake_posts_not_recomputed",  # a posted batch's source is the posted file, which the data folder does not keep
    "lake_rows",
    "snapshot_members",
    "snapshot_members_skipped",
    "lake_records",  # a partition's kept id ranges and sums (lake_ids, lake_sums) checked against its files
)


def verify_lake(engine: Engine, data_dir: Path | str, limit: int = 1000) -> tuple[list[Mismatch], dict[str, int]]:
    """The mismatches (up to ``limit`` per check) and what was checked; nothing without lake months."""
    data_dir = Path(data_dir)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        keys, lake_dir, version = fold.watermark(conn)
    if not keys:
        return [], {}
    closed = store.closed_months(data_dir)
    counts = dict.fromkeys(COUNTS, 0)
    counts["lake_posts_not_recomputed"] = sum(1 for k in keys if "+" in k)
    out: list[Mismatch] = []
    for month in [k for k in keys if "+" not in k and k in closed]:  # a close's month, not a post's batch
        found = _month(engine, data_dir, month, keys, lake_dir, version, limit)
        if found is None:
            counts["lake_months_skipped"] += 1
            continue
        counts["lake_months"] += 1
        counts["lake_rows"] += found[1]
        out += found[0]
    bad, counts["lake_records"] = _records(Path(lake_dir), version, limit)
    out += bad
    if closed:
        bad, checked, skipped = _snapshot(engine, data_dir, closed[-1], keys, lake_dir, limit)
        out += bad
        counts["snapshot_members"], counts["snapshot_members_skipped"] = checked, skipped
    return out, counts


def _records(lake_dir: Path, version: int, limit: int) -> tuple[list[Mismatch], int]:
    """Each partition's kept id ranges and sums against its files at ``version``: ranges that miss ids its files
    hold (``lake-ids-record``: an accrual would not read the partition for them), sums that are not its files'
    (``lake-sums-record``: the programme figures would be wrong). A record kept for other files is not used, nor
    checked. The mismatches and the records checked."""
    by_key = lake_carry.by_key(fold_read.version_files(lake_dir / fold_read.ACCRUALS, version))
    out, checked = [], 0
    con = duck.connect()
    try:
        for key, mine in sorted(by_key.items()):
            rows = f"read_parquet({mine!r})"
            kept = lake_ids.read_record(lake_dir, lake_ids.IDS, key, mine)
            if isinstance(kept, dict):
                checked += 1
                held = lake_ids.ranges(con, rows)
                missed = sum(
                    1 for c, (lo, hi) in held.items() if c not in kept or not (kept[c][0] <= lo and hi <= kept[c][1])
                )
                if missed:
                    out.append(Mismatch("lake-ids-record", key, 0, missed, "the kept id ranges miss ids of its files"))
            kept = lake_ids.read_record(lake_dir, lake_sums.SUMS, key, mine)
            if isinstance(kept, list):
                checked += 1
                held = lake_sums.sums(con, rows)
                if _rows(held) != _rows(kept):
                    total = sum(r[3] for r in held), sum(r[3] for r in kept if isinstance(r, list) and len(r) == 4)
                    note = "the kept sums are not those of its files"
                    out.append(Mismatch("lake-sums-record", key, total[0], total[1], note))
    finally:
        con.close()
    return out[:limit], checked


def _rows(rows: list) -> Counter:
    return Counter(tuple(r) if isinstance(r, list) else repr(r) for r in rows)


def _plan(engine: Engine, data_dir: Path, month: str):
    """The plan version the close of ``month`` ran at (None: not recorded)."""
    number = (store.read_manifest(data_dir, month) or {}).get("plan_version")
    row = plan_version_row(engine, int(number)) if number is not None else None
    return (int(number), check_text(row["content"], row["source"])) if row else (None, None)


def _month(engine: Engine, data_dir: Path, month: str, keys: list, lake_dir: Path, version: int, limit: int):
    """(mismatches, lake rows compared) of one closed lake month; None when its source rows are gone."""
    number, plan = _plan(engine, data_dir, month)
    if plan is None:
        return None
    compiled = bulk.compile_plan(plan)
    con = duck.connect()
    try:
        duck.bound_memory(con, data_dir)
        con.execute(
            f"CREATE TEMP TABLE acc_src AS SELECT * FROM ({source_sql(data_dir, month, ZoneInfo(plan.timezone))})"
        )
        days = [
            r[0] for r in con.execute("SELECT DISTINCT day FROM acc_src WHERE day IS NOT NULL ORDER BY 1").fetchall()
        ]
        if not days or not compiled.ok:
            return None
        con.register(
            "acc_days_in",
            accrual_load.days_table(accrual_sql.day_columns(compiled), accrual_sql.day_rows(compiled, plan, days)),
        )
        con.execute("CREATE TEMP TABLE acc_days AS SELECT * FROM acc_days_in")
        # every bill of the month is computed (none seen or rejected): the comparison below tells them apart
        con.execute("CREATE TEMP TABLE acc_seen (event_id VARCHAR)")
        con.execute("CREATE TEMP TABLE acc_rejected (event_id VARCHAR, reason VARCHAR)")
        _tiers_before(con, data_dir, month)
        st = accrual_sql.statements(compiled, number)
        con.execute(st.new)
        con.execute(accrual_sql.lake_events(compiled, number))
        con.execute(f"CREATE TEMP TABLE v_rec AS {lake_write.ROWS_SQL}")
        lake = fold.lake_sql(lake_dir, version, [month], "")
        con.execute(
            "CREATE TEMP TABLE v_lake AS "
            + (
                f"SELECT event_id, member_id, earned, expires_on, {_without_base_notes(compiled)} FROM ({lake})"
                if lake
                else "SELECT * FROM v_rec WHERE false"
            )
        )
        rows = con.execute("SELECT count(*) FROM v_lake").fetchone()[0]
        out = _compare(con, limit)
        candidates = con.execute(
            "SELECT r.event_id, r.earned FROM v_rec r ANTI JOIN v_lake l USING (event_id) ORDER BY r.event_id"
        ).fetchall()
        others = fold.lake_sql(lake_dir, version, [k for k in keys if k != month], "") if candidates else None
        if others:
            con.execute(
                "CREATE TEMP TABLE v_missing AS SELECT r.event_id FROM v_rec r ANTI JOIN v_lake USING (event_id)"
            )
            elsewhere = {
                r[0]
                for r in con.execute(
                    f"SELECT event_id FROM ({others}) WHERE event_id IN (SELECT event_id FROM v_missing)"
                ).fetchall()
            }
            candidates = [c for c in candidates if c[0] not in elsewhere]
    finally:
        con.close()
    out += _missing(engine, month, candidates, limit)
    return out, int(rows)


def _without_base_notes(compiled) -> str:
    """The lake rows' entries as the close writes them now: a base rule's without its note (which months written
    before held; the fold writes its text from the rule, :func:`weixi.ledger.fold.fill_notes`)."""
    ids = ", ".join("'" + i.replace("'", "''") + "'" for i in bulk.base_rules(compiled))
    if not ids:
        return "entries"
    return (
        "list_transform(entries, lambda e: struct_pack(rule_id := e.rule_id, points := e.points, "
        f"note := CASE WHEN e.rule_id IN ({ids}) THEN NULL ELSE e.note END)) AS entries"
    )


def _tiers_before(con, data_dir: Path, month: str) -> None:
    """``acc_stored``: each member's tier when the month's accrual ran, the one the close before it gave them (the
    previous month's snapshot; none before the first close)."""
    previous = store.source(data_dir, "snapshots", previous_month(month))
    con.execute(
        f"CREATE TEMP TABLE acc_stored AS SELECT CAST(member_id AS VARCHAR) AS member_id, CAST(tier AS VARCHAR) AS tier, "
        f"CAST(0 AS BIGINT) AS debt FROM {previous}"
        if previous
        else "CREATE TEMP TABLE acc_stored (member_id VARCHAR, tier VARCHAR, debt BIGINT)"
    )


def _compare(con, limit: int) -> list[Mismatch]:
    extra = con.execute(
        f"SELECT l.event_id, l.earned FROM v_lake l ANTI JOIN v_rec r USING (event_id) ORDER BY 1 LIMIT {limit}"
    ).fetchall()
    changed = con.execute(
        "SELECT r.event_id, r.earned, l.earned, r.member_id IS DISTINCT FROM l.member_id, "
        "r.expires_on IS DISTINCT FROM l.expires_on, r.entries IS DISTINCT FROM l.entries "
        "FROM v_rec r JOIN v_lake l USING (event_id) WHERE r.earned IS DISTINCT FROM l.earned "
        "OR r.member_id IS DISTINCT FROM l.member_id OR r.expires_on IS DISTINCT FROM l.expires_on "
        f"OR r.entries IS DISTINCT FROM l.entries ORDER BY 1 LIMIT {limit}"
    ).fetchall()
    out = [
        Mismatch("lake-accrual-extra", e, 0, int(p or 0), "a lake accrual no source bill of its month explains")
        for e, p in extra
    ]
    for event_id, want, got, member, expiry, entries in changed:
        what = [n for n, bad in (("member", member), ("expiry", expiry), ("earn entries", entries)) if bad]
        note = f"recomputed {want} points, the lake holds {got}" + (f"; {', '.join(what)} differ" if what else "")
        out.append(Mismatch("lake-accrual-points", event_id, int(want), int(got or 0), note))
    return out


def _missing(engine: Engine, month: str, candidates: list, limit: int) -> list[Mismatch]:
    """The month's bills the lake lacks that the SQL ledger does not hold either (the Book posts the events of the
    members it must handle; an event it rejected is in ``rejections``)."""
    if not candidates:
        return []
    ids = [c[0] for c in candidates]
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        held = {r[0] for r in select_ids(conn, "SELECT event_id FROM events WHERE event_id {ids}", ids)}
        held |= {r[0] for r in select_ids(conn, "SELECT event_id FROM rejections WHERE event_id {ids}", ids)}
    return [
        Mismatch("lake-accrual-missing", e, int(p), 0, f"a bill of {month} in neither the lake nor the SQL ledger")
        for e, p in candidates
        if e not in held
    ][:limit]


def _snapshot(engine: Engine, data_dir: Path, month: str, keys: list, lake_dir: Path, limit: int):
    """(mismatches, members compared, members skipped) of the snapshot of ``month`` (the latest closed month)."""
    recorded = store.close_versions(data_dir, month)
    snap = store.source(data_dir, "snapshots", month, version=recorded.get("snapshots"))
    acc_version = recorded.get(f"lake/{fold.ACCRUALS}")
    if snap is None or acc_version is None:
        return [], 0, 0
    cut, as_of = month_end(month), first_day(next_month(month))
    # the balance the close saw: entries up to the month end, and the expiries of its expiry day (dated the lots'
    # expires_on); an entry dated later (not an expiry) is what a member did after the close
    sql = ledger_arrow(
        engine,
        "SELECT member_id, sum(CASE WHEN day <= ? OR (kind = 'expire' AND day <= ?) THEN points ELSE 0 END), "
        "max(CASE WHEN day > ? AND kind <> 'expire' THEN 1 ELSE 0 END) FROM journal GROUP BY member_id",
        [cut, as_of, cut],
        pa.schema([("member_id", pa.string()), ("points", pa.int64()), ("later", pa.int64())]),
    )
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        folds = execute(conn, "SELECT member_id, month FROM ledger_folds")
    lake = fold.lake_sql(lake_dir, acc_version, keys, "")
    con = duck.connect()
    try:
        con.register("v_sql", sql)
        con.register(
            "v_folds",
            fold.marks_table(folds),
        )
        # an unfolded lake lot is never spent: its points count unless the lake expired it by the expiry day
        lake_points = (
            f"SELECT a.member_id, sum(a.earned) AS points FROM ({lake}) a LEFT JOIN v_folds f USING (member_id) "
            f"WHERE (f.month IS NULL OR f.month < a.month) AND a.earned > 0 AND a.day <= DATE '{cut}' "
            f"AND (a.expires_on IS NULL OR a.expires_on > DATE '{as_of}') GROUP BY a.member_id"
            if lake
            else "SELECT NULL::VARCHAR AS member_id, 0 AS points WHERE false"
        )
        con.execute(
            "CREATE TEMP TABLE v_snap AS SELECT CAST(s.member_id AS VARCHAR) AS member_id, "
            "CAST(coalesce(q.points, 0) + coalesce(k.points, 0) AS BIGINT) AS expected, "
            "CAST(s.points_balance AS BIGINT) AS found, coalesce(q.later, 0) = 1 AS later "
            f"FROM {snap} s LEFT JOIN v_sql q ON q.member_id = s.member_id "
            f"LEFT JOIN ({lake_points}) k ON k.member_id = s.member_id"
        )
        checked, skipped = con.execute(
            "SELECT count(*) FILTER (NOT later), count(*) FILTER (later) FROM v_snap"
        ).fetchone()
        bad = con.execute(
            f"SELECT member_id, expected, found FROM v_snap WHERE NOT later AND expected <> found ORDER BY 1 LIMIT {limit}"
        ).fetchall()
    finally:
        con.close()
    note = f"snapshot {month}: the ledger and the lake at the close's versions say {{}}, the snapshot {{}}"
    return [Mismatch("snapshot-balance", m, int(e), int(f), note.format(e, f)) for m, e, f in bad], checked, skipped
