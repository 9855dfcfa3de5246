"""Where the close keeps its results under the data directory: Delta tables, one commit per month.

DATA/close/history/       one row per member with activity that month          partitioned by month
DATA/close/tier_events/   upgraded / will_downgrade / downgraded                partitioned by month
DATA/close/star_events/   star level upgraded / downgraded (星级)                partitioned by month
DATA/snapshots/           every member's state at the month end                 partitioned by month
DATA/close/closes/        one row per closed month: the close's manifest and summary and the versions of
                          every lake table it built on (written last: the month is closed once it is in)

Each table is a Delta table (``_delta_log/`` beside ``month=YYYY-MM/`` folders): DuckDB writes the month's
Parquet file under a fresh name (a month of history or snapshots of more than :data:`FILE_ROWS` members: a file
per member range, :func:`write_query`) and :func:`weixi.adapters.lake.commit_files` replaces the month's partition in one
commit carrying the application transaction ``weixi-close-<dataset>`` → ``YYYYMM``. A reader sees the old month or
the new one, never half; a crash before the commit leaves an orphan file no version lists; earlier versions stay
readable (time travel: :func:`uris` with ``version``, the versions a close recorded in :func:`close_versions`).
A data folder of the earlier layout (``month=M/part-0.parquet`` and ``close/YYYY-MM.json``) is upgraded in place
on first use (:func:`upgrade`): its files are committed where they are.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from weixi.adapters import archive, lake, parquet_lookup
from weixi.adapters.duck import PARQUET, lit
from weixi.adapters.duck import rows as duck_rows
from weixi.adapters.parquet_lookup import member_rows  # noqa: F401  (lookups in the close's files)
from weixi.close.layout import CLOSES, partition, table_dir  # noqa: F401  (the tables' folders, public here too)
from weixi.errors import Conflict

DATASETS = ("history", "tier_events", "star_events", "snapshots")
ROW_GROUP = 4_096  # sorted by member id in row groups small enough that a member 360 lookup reads little:
# at 10M members p95 48 ms with 4,096 rows a group against 53-57 ms with 16,384; the files grow ~5%
SPLIT = frozenset({"history", "snapshots"})  # a row per member a month: a big month is cut into member ranges
FILE_ROWS = 524_288  # rows per file of a cut month, about (~128 row groups): a member 360 lookup reads the footer
# of the one file a month whose range holds its member (weixi.adapters.parquet_lookup keeps each file's range). At
# 10,000,000 members one file a month is ~2,450 row groups; twelve months of snapshots and six of history were
# more footers than the lookups' cache holds, so each lookup parsed them all again (p50 1.6 s)
SAMPLE = 20_000  # member ids sampled to cut by when the members' files have too few row groups to
LEGACY_FILE = "part-0.parquet"  # the one file per month of the layout before the lake
MONTH_DIR = "month=[0-9][0-9][0-9][0-9]-[0-9][0-9]"  # not the .tmp / .old folders of a legacy write in progress


def app_id(dataset: str) -> str:
    return f"weixi-close-{dataset}"


def month_number(month: str) -> int:
    """``2026-09`` → ``202609``: the application version of a month's commit."""
    return int(month.replace("-", ""))


# ---------------------------------------------------------------------------------------------------- reading


_CURRENT: dict[str, tuple[tuple, dict[str, list[str]]]] = {}


def _by_month(data_dir: Path, dataset: str) -> dict[str, list[str]]:
    """The current version's files of ``dataset`` per month, after adopting any month of the earlier layout."""
    found = _committed(table_dir(data_dir, dataset))
    if _legacy(data_dir, dataset, found):
        upgrade_table(data_dir, dataset)
        found = _committed(table_dir(data_dir, dataset))
    return found


def _log_stamp(table: Path) -> tuple | None:
    log = table / "_delta_log"
    try:
        return os.stat(log).st_mtime_ns, len(os.listdir(log))
    except FileNotFoundError:
        return None


def _committed(table: Path) -> dict[str, list[str]]:
    """The current version's files per month (cached while the table's log is unchanged)."""
    stamp = _log_stamp(table)
    if stamp is None:
        return {}
    hit = _CURRENT.get(str(table))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    out: dict[str, list[str]] = {}
    for uri in lake.file_uris(table):
        folder = Path(uri).parent.name
        out.setdefault(folder[len("month=") :] if folder.startswith("month=") else "", []).append(uri)
    found = {m: sorted(out[m]) for m in sorted(out)}
    _CURRENT[str(table)] = (stamp, found)
    return found


_LEARNT: dict[str, tuple] = {}


def learn_ranges(data_dir: Path, dataset: str) -> None:
    """Hand the member lookups (:mod:`weixi.adapters.parquet_lookup`) each current file's member range from the
    Delta log's statistics, once per change of the table's log: a process's first lookup then reads the footers of
    the files that can hold its member, not every file's (at 10,000,000 members and twelve months, ~600 files)."""
    table = table_dir(data_dir, dataset)
    stamp = _log_stamp(table)
    if stamp is None or _LEARNT.get(str(table)) == stamp:
        return
    for path, size, lo, hi in lake.file_spans(table):
        parquet_lookup.learn(path, size, lo, hi)
    _LEARNT[str(table)] = stamp


def months(data_dir: Path, dataset: str) -> list[str]:
    """The months ``dataset`` holds, oldest first."""
    return list(_by_month(data_dir, dataset))


def files(data_dir: Path, dataset: str) -> list[Path]:
    """The monthly files of ``dataset`` the table's current version lists, oldest month first (a write in
    progress, an orphan of a crash and a month's earlier file are not listed)."""
    return [Path(f) for fs in _by_month(data_dir, dataset).values() for f in fs]


def uris(data_dir: Path, dataset: str, month: str | None = None, version: int | None = None) -> list[str]:
    """The files of ``dataset`` (of ``month`` only, if given) at the table's ``version`` (default: current):
    what DuckDB's ``read_parquet([...])`` takes."""
    if version is None:
        found = _by_month(data_dir, dataset)
        return list(found.get(month, [])) if month else [f for fs in found.values() for f in fs]
    _by_month(data_dir, dataset)
    return lake.file_uris(table_dir(data_dir, dataset), version, {"month": month} if month else None)


def path(data_dir: Path, dataset: str, month: str, version: int | None = None) -> Path | None:
    """The month's Parquet file of ``dataset`` (at ``version``, default current), or ``None`` when that month has
    none. For a month known to be one file (a small operator's, the tests'); a month of several files (history and
    snapshots at scale, Spark's) is read with :func:`uris` or :func:`source`, as every reader in Weixi does."""
    found = uris(data_dir, dataset, month, version)
    if len(found) > 1:
        raise ValueError(f"{dataset} {month} has {len(found)} files: read it with store.uris()")
    return Path(found[0]) if found else None


def source(data_dir: Path, dataset: str, month: str, version: int | None = None) -> str | None:
    """The month's rows for DuckDB SQL: ``read_parquet([...])`` over its files (one from DuckDB, several from
    Spark), or ``None`` when the month has none."""
    found = uris(data_dir, dataset, month, version)
    return "read_parquet([" + ", ".join("'" + f.replace("'", "''") + "'" for f in found) + "])" if found else None


def stamp(data_dir: Path, dataset: str, month: str) -> list | None:
    """What the month's files are now (names and sizes): a cache built from them is stale when this changes."""
    found = uris(data_dir, dataset, month)
    return [[f, os.stat(f).st_size] for f in found] if found else None


def file(data_dir: Path, dataset: str, month: str) -> Path:
    """Like :func:`path`, but a month without a file gives a path that does not exist (for callers that test
    ``.exists()``)."""
    return path(data_dir, dataset, month) or partition(data_dir, dataset, month) / LEGACY_FILE


def read(data_dir: Path, dataset: str, month: str, version: int | None = None) -> pa.Table | None:
    found = uris(data_dir, dataset, month, version)
    return pa.concat_tables([pq.read_table(f) for f in found]) if found else None


# ---------------------------------------------------------------------------------------------------- writing


def write(data_dir: Path, dataset: str, month: str, table: pa.Table) -> Path:
    """Replace the month's partition with ``table`` (one commit)."""
    return _commit(
        data_dir,
        dataset,
        month,
        lambda target: pq.write_table(table, target, compression="snappy", row_group_size=ROW_GROUP),  # as write_query
    )


def write_query(duck, data_dir: Path, dataset: str, month: str, sql: str) -> Path | list[Path]:
    """Replace the month's partition with the rows of a DuckDB query (sorted by member), streamed to Parquet (the
    query is never held in memory whole; DuckDB spills to its temp directory), then committed. Returns the file,
    or the files when a month of :data:`SPLIT` is cut into member ranges (:func:`member_cuts`)."""
    cuts = member_cuts(data_dir) if dataset in SPLIT else []
    if cuts:
        table = table_dir(data_dir, dataset)
        _by_month(data_dir, dataset)
        files = lake.write_ranges(duck, sql, cuts, table, {"month": month}, f"{PARQUET}, ROW_GROUP_SIZE {ROW_GROUP}")
        if files:
            _commit_files(data_dir, dataset, month, files)
            return files
    return _commit(
        data_dir,
        dataset,
        month,
        lambda target: duck.execute(f"COPY ({sql}) TO '{target}' ({PARQUET}, ROW_GROUP_SIZE {ROW_GROUP})"),
    )


def member_cuts(data_dir: Path) -> list[str]:
    """Member ids cutting the operator's members into ranges of about :data:`FILE_ROWS`, at the quantiles of the
    members archive's row groups' least ids (read from their footers, not their rows); none up to
    :data:`FILE_ROWS` members."""
    files = [p for _, p in archive.load_files(data_dir, "members")] + archive.part_files(data_dir, "members")
    rows, lows = 0, []
    for f in files:
        hit = parquet_lookup.footer(f)
        rows += hit.meta.num_rows
        lows += [lo for lo, _ in hit.ranges if lo is not None]
    parts = -(-rows // FILE_ROWS)
    if parts <= 1:
        return []
    if len(lows) < 4 * parts:  # too few row groups to cut by (files of many small loads): a sample of the ids
        listed = ", ".join(lit(str(f)) for f in files)
        lows = [
            r[0]
            for r in duck_rows(
                f"SELECT member_id FROM (SELECT member_id FROM read_parquet([{listed}]) WHERE member_id IS NOT NULL) "
                f"USING SAMPLE reservoir({SAMPLE} ROWS) REPEATABLE (1)"
            )
        ]
    lows.sort()
    return sorted({lows[len(lows) * i // parts] for i in range(1, parts)} - {lows[0]})


def _commit(data_dir: Path, dataset: str, month: str, writer, upgrading: bool = False) -> Path:
    """Write the month's file under a fresh name inside the table, then commit it in place of the month's files.
    A rerun of a month replaces it again (the close's tables are pure functions of its inputs), so a rerun after
    a crash gives what a clean run gives."""
    table = table_dir(data_dir, dataset)
    if not upgrading:
        _by_month(data_dir, dataset)
    target = lake.new_file(table, {"month": month})
    writer(target)
    _commit_files(data_dir, dataset, month, [target])
    return target


def _commit_files(data_dir: Path, dataset: str, month: str, files: list[Path]) -> None:
    lake.commit_files(
        table_dir(data_dir, dataset),
        files,
        {"month": month},
        pq.read_schema(files[0]),
        app_id(dataset),
        month_number(month),
        mode="overwrite-partition",
        replace=True,
    )


# ---------------------------------------------------------------------------------------------------- the closes


CLOSES_SCHEMA = pa.schema(
    [
        ("month", pa.string()),
        ("status", pa.string()),
        ("written_at", pa.string()),
        ("lake", pa.string()),  # JSON {table: version} of the lake tables the close built on
        ("manifest", pa.string()),  # JSON: the close's manifest and summary
    ]
)


def lake_tables(data_dir: Path) -> dict[str, Path]:
    """Every Delta table under the data folder, by its path relative to it (``close/history``, ``snapshots``,
    and those of the ledger's lake), the closes' own table left out."""
    data_dir = Path(data_dir)
    out = {}
    for log in sorted(data_dir.glob("**/_delta_log")):
        table = log.parent
        if table != table_dir(data_dir, CLOSES) and lake.is_table(table):
            out[table.relative_to(data_dir).as_posix()] = table
    return out


def versions(data_dir: Path) -> dict[str, int]:
    """The current version of every lake table (what a close records it built on)."""
    return {name: lake.table_version(t) for name, t in lake_tables(data_dir).items()}


def manifest_path(data_dir: Path, month: str) -> Path:
    """Where the layout before the lake kept the month's manifest (read only by :func:`upgrade`)."""
    return Path(data_dir) / "close" / f"{month}.json"


_CLOSES: dict[tuple[str, ...], dict[str, dict]] = {}


def _closes(data_dir: Path) -> dict[str, dict]:
    """The closes' rows by month (cached by their files: a file is never rewritten, a new row is a new file)."""
    found = tuple(uris(data_dir, CLOSES))
    if not found:
        return {}
    hit = _CLOSES.get(found)
    if hit is None:
        # ParquetFile, not read_table: no pyarrow.dataset (and pandas) at a command's start (backends.warm loads it)
        hit = {r["month"]: r for r in pa.concat_tables([pq.ParquetFile(f).read() for f in found]).to_pylist()}
        if len(_CLOSES) > 64:
            _CLOSES.clear()
        _CLOSES[found] = hit
    return hit


def read_manifest(data_dir: Path, month: str) -> dict | None:
    row = _closes(data_dir).get(month)
    return json.loads(row["manifest"]) if row else None


def close_versions(data_dir: Path, month: str) -> dict[str, int]:
    """The lake tables' versions the close of ``month`` built on (``{}`` when it recorded none)."""
    row = _closes(data_dir).get(month)
    return json.loads(row["lake"]) if row and row["lake"] else {}


def write_manifest(data_dir: Path, month: str, manifest: dict) -> None:
    """Record the month's close (its manifest and the lake tables' versions now): the last write of a close."""
    built_on = versions(data_dir)
    manifest = {**manifest, "lake": built_on}
    _write_close_row(data_dir, month, manifest, built_on)


def _write_close_row(data_dir: Path, month: str, manifest: dict, built_on: dict, upgrading: bool = False) -> None:
    row = {
        "month": month,
        "status": str(manifest.get("status", "")),
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "lake": json.dumps(built_on, sort_keys=True),
        "manifest": json.dumps(manifest, ensure_ascii=False, default=str),
    }
    table = pa.Table.from_pylist([row], schema=CLOSES_SCHEMA)
    _commit(data_dir, CLOSES, month, lambda target: pq.write_table(table, target), upgrading)


def closed_months(data_dir: Path) -> list[str]:
    return sorted(m for m, r in _closes(data_dir).items() if r["status"] == "closed")


# ---------------------------------------------------------------------------------------------------- checking


def damage(data_dir: Path, deep: bool = False) -> list[dict]:
    """What is wrong with the lake's files: per table, each file its current version lists that is missing, of
    another size than its log says, or not Parquet (``{"code", "table", "file", ...}``; ``[]`` when sound).
    ``deep`` reads every row group of every file (``weixi verify``); otherwise the footers only (the close)."""
    data_dir = Path(data_dir)
    for dataset in (*DATASETS, CLOSES):
        try:
            _by_month(data_dir, dataset)  # a folder of the layout before the lake is checked once upgraded
        except Exception:  # noqa: S112  (a log that cannot be read is reported below)
            continue
    tables = {**lake_tables(data_dir), "close/closes": table_dir(data_dir, CLOSES)}
    out = []
    for name, table in sorted(tables.items()):
        if not lake.is_table(table):
            continue
        try:
            out += [{**p, "table": name} for p in lake.check(table, deep)]
        except Exception as exc:  # the log itself cannot be read: every file of the table is in doubt
            error = f"{exc.__class__.__name__}: {(str(exc).splitlines() or [''])[0]}"
            out.append({"code": "lake_log_corrupt", "table": name, "file": str(table / "_delta_log"), "error": error})
    return out


def refuse_if_damaged(data_dir: Path) -> None:
    """Raise :class:`~weixi.errors.Conflict` naming the first damaged lake file: the close does not build on it."""
    found = damage(data_dir)
    if not found:
        return
    where = {"table": found[0]["table"], "file": found[0]["file"], "count": len(found)}
    if found[0]["code"] == "lake_file_missing":
        raise Conflict("lake_file_missing", **where)
    if found[0]["code"] == "lake_file_size":
        raise Conflict("lake_file_size", **where)
    if found[0]["code"] == "lake_log_corrupt":
        raise Conflict("lake_log_corrupt", **where)
    raise Conflict("lake_file_corrupt", **where)


# ---------------------------------------------------------------------------------------------------- upgrading


@contextmanager
def _upgrade_lock(data_dir: Path):
    lock = Path(data_dir) / "close" / ".lake-upgrade.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _legacy_files(data_dir: Path, dataset: str) -> dict[str, Path]:
    """The months of the earlier layout: ``month=M/part-0.parquet`` (or ``close/M.json`` for the closes)."""
    if dataset == CLOSES:
        return {p.stem: p for p in Path(data_dir, "close").glob("????-??.json")}
    return {p.name[len("month=") :]: p / LEGACY_FILE for p in table_dir(data_dir, dataset).glob(MONTH_DIR)}


def _legacy(data_dir: Path, dataset: str, committed: dict[str, list[str]]) -> dict[str, Path]:
    """The months of the earlier layout the table does not hold yet."""
    return {m: f for m, f in _legacy_files(data_dir, dataset).items() if m not in committed and f.exists()}


def upgrade_table(data_dir: Path, dataset: str) -> bool:
    """Commit the months of the earlier layout the table does not hold, where their files are (the JSON
    manifests as rows of ``closes``); ``True`` if it committed any."""
    table = table_dir(data_dir, dataset)
    if not _legacy(data_dir, dataset, _committed(table)):
        return False
    with _upgrade_lock(data_dir):
        todo = _legacy(data_dir, dataset, _committed(table))  # another process may have done it meanwhile
        for month, legacy in sorted(todo.items()):
            if dataset == CLOSES:
                _write_close_row(data_dir, month, json.loads(legacy.read_text(encoding="utf-8")), {}, upgrading=True)
                continue
            lake.commit_files(
                table,
                [legacy],
                {"month": month},
                pq.read_schema(legacy),
                app_id(dataset),
                month_number(month),
                mode="overwrite-partition",
                replace=True,
            )
        return bool(todo)


def upgrade(data_dir: Path) -> list[str]:
    """Upgrade a data folder of the layout before the lake in place (each table's months committed where their
    files are, the JSON manifests into ``closes``); returns the tables upgraded. Idempotent."""
    return [d for d in (*DATASETS, CLOSES) if Path(data_dir).is_dir() and upgrade_table(data_dir, d)]
