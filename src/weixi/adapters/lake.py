"""The lake: Delta tables (delta-rs) under the data folder, written as Parquet by DuckDB or Spark and committed here.

A writer puts its Parquet files inside the table's folder (:func:`new_file` names one under the partition's
``key=value`` folder) and then :func:`commit_files` records them in one Delta commit carrying an application
transaction ``(app_id, version)``. Until that commit a file is an orphan that no reader sees (:func:`file_uris`
lists only what a table version names), so a crash between writing and committing leaves the table as it was.
Application versions only grow (the close uses the month, ``YYYYMM``): a commit whose version is at or below the
app's last committed one is skipped, which is how a rerun sees a month is already in.

Readers take :func:`file_uris` (of the current or any earlier version: time travel) to DuckDB's
``read_parquet([...])``; DuckDB's own delta extension cannot be loaded here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import DeltaError
from deltalake.transaction import AddAction, create_table_with_add_actions

from weixi.adapters.duck import lit

MODES = ("append", "overwrite-partition")


# the tables :func:`tables_kept` keeps: folder -> (its log's making, :func:`_made`; the table as last brought up to
# date)
_KEPT: ContextVar[dict | None] = ContextVar("weixi_lake_tables_kept", default=None)


@contextmanager
def tables_kept() -> Iterator[None]:
    """Within the block, in this thread, each table's log is read once and then only brought up to date at each use
    (``update_incremental``: the commits made since, by this process or any other), instead of read again from its
    start or last checkpoint: a close asks its tables about fifty times, 2 ms a load. A table whose log was made
    again meanwhile (:func:`_made`) is read afresh. Threads started inside the block load their own (it is a context
    variable: a new thread starts without it). Nested blocks keep the outer one's tables."""
    if _KEPT.get() is not None:
        yield
        return
    token = _KEPT.set({})
    try:
        yield
    finally:
        _KEPT.reset(token)


def _table(table_dir: Path | str, version: int | None = None) -> DeltaTable:
    """The table (at ``version``, default the current one); from :func:`tables_kept`'s when inside its block."""
    kept = _KEPT.get()
    if kept is None:
        return DeltaTable(str(table_dir), version=version)
    key = str(table_dir)
    made = _made(key)
    known = kept.get(key)
    if known is None or known[0] != made:
        table = DeltaTable(key)
        kept[key] = (made, table)
    else:
        table = known[1]
        table.update_incremental()
    if version is not None and version != table.version():
        return DeltaTable(key, version=version)
    return table


def _made(table_dir: str) -> tuple:
    """What tells one making of a table's log from another at the same place: the log folder's inode and its first
    commit's inode and modification time (a folder deleted and made again may get the freed inode back; its first
    commit is written anew)."""
    log = os.stat(Path(table_dir, "_delta_log"))
    try:
        first = os.stat(Path(table_dir, "_delta_log", f"{0:020d}.json"))
        return log.st_dev, log.st_ino, first.st_ino, first.st_mtime_ns
    except FileNotFoundError:  # the log's start cleaned up after a checkpoint
        return log.st_dev, log.st_ino


def is_table(table_dir: Path | str) -> bool:
    return Path(table_dir, "_delta_log").is_dir() and DeltaTable.is_deltatable(str(table_dir))


def table_version(table_dir: Path | str) -> int | None:
    """The table's current version, or ``None`` when there is no table yet."""
    return _table(table_dir).version() if is_table(table_dir) else None


def app_version(table_dir: Path | str, app_id: str) -> int | None:
    """The last application version ``app_id`` committed to the table (``None``: none, or no table)."""
    return _table(table_dir).transaction_version(app_id) if is_table(table_dir) else None


def file_uris(table_dir: Path | str, version: int | None = None, partition: dict | None = None) -> list[str]:
    """The Parquet files of the table (at ``version``, default the current one; only ``partition``'s, if given),
    as absolute paths, sorted: what ``read_parquet([...])`` takes. An absent table has none."""
    if not is_table(table_dir):
        return []
    table = _table(table_dir, version)
    where = [(k, "=", str(v)) for k, v in (partition or {}).items()] or None
    return sorted(table.file_uris(file_pruning_predicate=where))


def file_spans(table_dir: Path | str, version: int | None = None, column: str = "member_id") -> list[tuple]:
    """:func:`file_uris` with what the log says of each file: ``(path, size, least, greatest)`` of ``column``
    (``None`` where the log has no statistics of it), sorted by path."""
    if not is_table(table_dir):
        return []
    table = _table(table_dir, version)
    # read as a stream: pa.table() of it would import pandas (its test for a data frame)
    actions = pa.RecordBatchReader.from_stream(table.get_add_actions(flatten=True)).read_all()
    n = actions.num_rows
    lows, highs = (
        actions.column(f"{k}.{column}").to_pylist() if f"{k}.{column}" in actions.column_names else [None] * n
        for k in ("min", "max")
    )
    root = Path(table_dir).resolve()
    found = {
        str(root / unquote(rel)): (size, lo, hi)
        for rel, size, lo, hi in zip(
            actions.column("path").to_pylist(), actions.column("size_bytes").to_pylist(), lows, highs
        )
    }
    return [(uri, *found.get(str(Path(uri).resolve()), (None, None, None))) for uri in sorted(table.file_uris())]


def files_at(table_dir: Path | str, version: int) -> list[str] | None:
    """:func:`file_uris` at ``version``, or None when that version cannot be read any more (its log is gone)."""
    try:
        return file_uris(table_dir, version)
    except DeltaError:
        return None


def new_file(table_dir: Path | str, partition: dict | None = None) -> Path:
    """A fresh file name inside the table's folder (under ``key=value`` folders for ``partition``): a rewrite of
    a partition never touches the files an earlier version lists."""
    folder = Path(table_dir, *(f"{k}={v}" for k, v in (partition or {}).items()))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"part-{uuid.uuid4().hex}.parquet"


def write_ranges(con, query: str, cuts: list[str], table_dir: Path | str, partition: dict, options: str) -> list[Path]:
    """DuckDB writes the rows of ``query`` (sorted by ``member_id``) into one file per member range, cut before each
    of ``cuts`` (sorted), in one pass of the query; returns the files (not committed), under one fresh name of the
    partition numbered in member order (so the table's file list, sorted by name, is in member order). None for an
    empty range; none at all for an empty query. ``options``: the ``COPY``'s Parquet options.

    Each range goes to a folder of its own (``PARTITION_BY``): the rows arrive sorted, so each row group holds a
    narrow run of members, but the groups of a file are written in any order
    (:mod:`weixi.adapters.parquet_lookup` reads such a file by each group's range)."""
    stem = new_file(table_dir, partition).with_suffix("")
    scratch = stem.with_suffix(".ranges")
    ranges = " ".join(f"WHEN member_id < {lit(c)} THEN {i}" for i, c in enumerate(cuts))
    con.execute(
        f"COPY (SELECT *, CASE {ranges} ELSE {len(cuts)} END AS weixi_range FROM ({query})) TO '{scratch}' "
        f"({options}, PARTITION_BY (weixi_range), WRITE_PARTITION_COLUMNS false)"
    )
    found = sorted(scratch.glob("weixi_range=*/*.parquet"), key=lambda f: (int(f.parent.name.split("=")[1]), f.name))
    files = [stem.with_name(f"{stem.name}-{i:05d}.parquet") for i in range(len(found))]
    for f, target in zip(found, files):
        f.rename(target)
    shutil.rmtree(scratch, ignore_errors=True)
    return files


def commit_files(
    table_dir: Path | str,
    files: list[Path],
    partition: dict,
    schema: pa.Schema,
    app_id: str,
    version: int,
    *,
    mode: str = "append",
    replace: bool = False,
    also: dict[str, int] | None = None,
) -> int:
    """Commit ``files`` (Parquet, already inside ``table_dir``) as one Delta commit with the application
    transaction ``(app_id, version)`` (and one per item of ``also``, read back by :func:`app_version`); returns the
    table's version after it.

    ``mode="append"`` adds the files; ``"overwrite-partition"`` replaces what ``partition`` holds with them.
    The table is created by its first commit, partitioned by ``partition``'s keys (string columns). When the app
    has already committed ``version`` (or a later one) nothing is written and the current version is returned,
    unless ``replace``: then the files are committed again (for tables that are pure functions of their inputs,
    whose rerun replaces a month with the same rows)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    table_dir = Path(table_dir)
    partition = {k: str(v) for k, v in partition.items()}
    done = app_version(table_dir, app_id)
    if done is not None and done >= version and not replace:
        return table_version(table_dir)
    actions = [_add_action(table_dir, Path(f), partition) for f in files]
    full = _with_partition_columns(schema, partition)
    by = list(partition) or None
    props = CommitProperties(
        app_transactions=[Transaction(app_id, version), *(Transaction(k, v) for k, v in (also or {}).items())]
    )
    if not is_table(table_dir):
        table_dir.mkdir(parents=True, exist_ok=True)
        create_table_with_add_actions(
            str(table_dir),
            DeltaSchema.from_arrow(full),
            actions,
            mode="error",
            partition_by=by,
            commit_properties=props,
        )
    elif mode == "append" or not partition:
        table = _table(table_dir)
        table.create_write_transaction(
            actions,
            "append" if mode == "append" else "overwrite",
            full,
            partition_by=by,
            commit_properties=props,
        )
    else:
        table = _table(table_dir)
        table.create_write_transaction(
            actions,
            "overwrite",
            full,
            partition_by=by,
            partition_filters=[(k, "=", v) for k, v in partition.items()],
            commit_properties=props,
        )
    return _table(table_dir).version()


CHECKERS = 4  # threads reading footers in check()


def check(table_dir: Path | str, deep: bool = False) -> list[dict]:
    """The files the table's current version lists that are damaged: ``{"code", "file", ...}`` with code
    ``lake_file_missing``, ``lake_file_size`` (another size than the log says) or ``lake_file_corrupt`` (not
    Parquet, or another row count than the log says; with ``deep`` every row group is read, so a damaged page
    inside the file is found too)."""
    table_dir = Path(table_dir)
    # read as a stream: pa.table() of it would import pandas (its test for a data frame), 0.3 s of a close's start
    actions = pa.RecordBatchReader.from_stream(_table(table_dir).get_add_actions(flatten=True)).read_all()
    sizes = actions.column("size_bytes").to_pylist()
    rows = actions.column("num_records").to_pylist() if "num_records" in actions.column_names else [None] * len(sizes)
    files = [table_dir / unquote(rel) for rel in actions.column("path").to_pylist()]

    def problem(i: int) -> dict | None:
        file, found = files[i], {"file": str(files[i])}
        if not file.exists():
            return {"code": "lake_file_missing", **found}
        if file.stat().st_size != sizes[i]:
            return {"code": "lake_file_size", **found, "expected": sizes[i], "actual": file.stat().st_size}
        error = _unreadable(file, rows[i], deep)
        return {"code": "lake_file_corrupt", **found, "error": error} if error else None

    # the files read side by side (the Parquet reader lets go of the interpreter): a year-old lake of 10,000,000
    # members has about 700 files, whose footers took 0.8-1.0 s one after another
    with ThreadPoolExecutor(max_workers=CHECKERS) as pool:
        return [p for p in pool.map(problem, range(len(files))) if p]


def _unreadable(file: Path, records: int | None, deep: bool) -> str | None:
    try:
        pf = pq.ParquetFile(file)
        if records is not None and pf.metadata.num_rows != records:
            return f"{pf.metadata.num_rows} rows, the log says {records}"
        if deep:
            for i in range(pf.metadata.num_row_groups):
                pf.read_row_group(i)
    except Exception as exc:  # whatever the Parquet reader says is wrong with the bytes
        return f"{exc.__class__.__name__}: {(str(exc).splitlines() or [''])[0]}"
    return None


def _with_partition_columns(schema: pa.Schema, partition: dict) -> pa.Schema:
    missing = [pa.field(k, pa.string()) for k in partition if k not in schema.names]
    return pa.schema([*schema, *missing])


def _add_action(table_dir: Path, file: Path, partition: dict) -> AddAction:
    if not file.is_absolute() and not file.exists():  # named inside the table (else relative to here, as made)
        file = table_dir / file
    rel = file.resolve().relative_to(table_dir.resolve()).as_posix()
    st = os.stat(file)
    return AddAction(rel, st.st_size, dict(partition), int(st.st_mtime * 1000), True, json.dumps(_stats(file)))


def _stats(file: Path) -> dict:
    """Delta's per-file statistics from the Parquet footer: rows, and each plain column's min, max and nulls
    (so a member lookup can skip files whose member range does not hold it)."""
    meta = pq.ParquetFile(file).metadata
    out: dict = {"numRecords": meta.num_rows, "minValues": {}, "maxValues": {}, "nullCount": {}}
    schema = meta.schema.to_arrow_schema()
    for i, fld in enumerate(schema):
        if not (
            pa.types.is_integer(fld.type)
            or pa.types.is_string(fld.type)
            or pa.types.is_large_string(fld.type)
            or pa.types.is_date(fld.type)
            or pa.types.is_boolean(fld.type)
        ):
            continue
        col = _column_index(meta, fld.name, i)
        if col is None:
            continue
        lo = hi = None
        nulls: int | None = 0
        bounded = True  # every row group with a value gave its min and max: a reader may prune on them
        for rg in range(meta.num_row_groups):
            s = meta.row_group(rg).column(col).statistics
            if s is None:
                nulls, bounded = None, False
                break
            nulls = nulls + s.null_count if nulls is not None and s.has_null_count else None
            if s.has_min_max:
                lo = s.min if lo is None else min(lo, s.min)
                hi = s.max if hi is None else max(hi, s.max)
            elif not (s.has_null_count and s.null_count == meta.row_group(rg).num_rows):
                bounded = False
        if nulls is not None:
            out["nullCount"][fld.name] = nulls
        if bounded and lo is not None:
            out["minValues"][fld.name] = _json_value(lo)
            out["maxValues"][fld.name] = _json_value(hi)
    return out


def _column_index(meta, name: str, guess: int) -> int | None:
    cols = meta.row_group(0).num_columns if meta.num_row_groups else 0
    for j in [guess, *range(cols)]:
        if j < cols and meta.row_group(0).column(j).path_in_schema == name:
            return j
    return None


def _json_value(v):
    if isinstance(v, bytes):
        v = v.decode("utf-8", errors="replace")
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v
