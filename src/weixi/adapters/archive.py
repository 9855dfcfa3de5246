"""The member archive (客户档案): where an operator's tables live and how to read their current rows.

Layout of the data directory (``--data DIR``, else ``$WEIXI_DATA``, else ``./weixi-data``)::

    DIR/manifest.json                          # written by `weixi generate` (optional)
    DIR/<table>/part-NNNNN.parquet             # generator output: "load 0"
    DIR/<table>/load-<seq:06d>-<sha8>.parquet  # one file per `weixi load` that changed rows
    DIR/loads.json                             # the load journal: every load, in sequence order
    DIR/quarantine/<table>-<seq:06d>-<sha8>.csv

A load file holds complete rows (the canonical columns of the table) with unique keys.  The current row of
a key is the one from the load with the highest sequence number, generator parts counting as sequence 0.
Only load files listed in ``loads.json`` are read, and the journal is replaced atomically after the load
file is in place, so a load is visible entirely or not at all.

:func:`scan` gives the current rows of a table as a DuckDB relation (:func:`scan_sql` as SQL text).
:func:`members_lookup` reads one member for member 360.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import threading
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from weixi import settings
from weixi.adapters import archive_schema
from weixi.adapters.archive_scan import (  # noqa: F401  (the archive's API: the reads without PyArrow)
    CONTRACT_COLUMNS,
    JOURNAL,
    KEYS,
    MONTHLY,
    ArchiveError,
    load_files,
    part_files,
    read_journal,
    scan_sql,
)
from weixi.adapters.parquet_lookup import member_rows, rows_of_many

DATA_ENV = settings.DATA.name
DEFAULT_DATA = settings.DATA.default
LOCK = ".weixi-load.lock"


# Stored tables and their schemas: the generator's, plus the CRM-recorded star level of members.
SCHEMAS: dict[str, pa.Schema] = dict(archive_schema.TABLES)
SCHEMAS["members"] = archive_schema.MEMBERS.append(pa.field("star_level", pa.int8()))
TABLES = tuple(SCHEMAS) + ("contracts",)

_LOAD_RE = re.compile(r"^load-(\d{6,})-([0-9a-f]{8})\.parquet$")
_DUCK_TYPES = {
    pa.string(): "VARCHAR", pa.date32(): "DATE", pa.int64(): "BIGINT", pa.int32(): "INTEGER",
    pa.int8(): "TINYINT", pa.bool_(): "BOOLEAN",
}  # fmt: skip


# --------------------------------------------------------------------------- directory and journal
def data_dir(option: str | os.PathLike | None = None) -> Path:
    """The data directory: the ``--data`` option, else ``$WEIXI_DATA``, else ``./weixi-data``."""
    return Path(option or settings.DATA.value())


def write_journal(data: str | os.PathLike, journal: dict[str, Any]) -> None:
    """Replace ``loads.json`` atomically (temp file, fsync, rename)."""
    path = Path(data) / JOURNAL
    tmp = path.with_name(JOURNAL + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(journal, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(data: str | os.PathLike) -> Iterator[None]:
    """Serialise loads into one data directory (an exclusive ``flock`` on ``DIR/.weixi-load.lock``)."""
    Path(data).mkdir(parents=True, exist_ok=True)
    with open(Path(data) / LOCK, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def file_stamps(data: str | os.PathLike, tables: tuple[str, ...]) -> list[list]:
    """[path relative to ``data``, size, modification time] of every file holding ``tables``' rows (generated
    parts and committed loads): what a derived file was built from, to tell when it is stale."""
    out = []
    for table in tables:
        for p in part_files(data, table) + [p for _, p in load_files(data, table)]:
            st = p.stat()
            out.append([str(p.relative_to(data)), st.st_size, st.st_mtime_ns])
    return out


# --------------------------------------------------------------------------------------- scanning


def empty_sql(table: str) -> str:
    cols = ", ".join(f"CAST(NULL AS {duck_type(f.type)}) AS {f.name}" for f in SCHEMAS[table])
    return f"SELECT {cols} LIMIT 0"


def duck_type(t: pa.DataType) -> str:
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ"
    return _DUCK_TYPES[t]


def scan(
    con: duckdb.DuckDBPyConnection, data: str | os.PathLike, table: str, month: str | list[str] | None = None
) -> duckdb.DuckDBPyRelation:
    """The current rows of ``table`` in the archive at ``data`` as a DuckDB relation.

    Generator parts plus committed loads; a row loaded later replaces a row with the same key
    (:data:`KEYS`).  ``month`` (``YYYY-MM`` or a list of them) filters a monthly table; the filter is
    applied inside the Parquet scans, so row groups of other months are skipped.  Without loads the
    relation is a plain ``read_parquet`` of the parts.  ``contracts`` is the view of the members'
    contract columns (``member_id, contract_start, contract_end, subsidy_end``) where any is set.
    """
    return con.sql(scan_sql(data, table, month))


# ---------------------------------------------------------------------------------- member lookup
_stats_lock = threading.Lock()
_stats_cache: dict[str, tuple[int, int, list[tuple[str, str]]]] = {}


def file_ranges(path: Path) -> list[tuple[str, str]]:
    """(min, max) member_id of each row group of a Parquet file, cached by path, size and mtime."""
    st = path.stat()
    key = str(path)
    with _stats_lock:
        hit = _stats_cache.get(key)
        if hit and hit[0] == st.st_mtime_ns and hit[1] == st.st_size:
            return hit[2]
    md = pq.ParquetFile(path).metadata
    col = md.schema.names.index("member_id")
    ranges = []
    for g in range(md.num_row_groups):
        s = md.row_group(g).column(col).statistics
        if md.row_group(g).num_rows == 0:
            continue
        ranges.append((s.min, s.max) if s is not None and s.has_min_max else ("", "\uffff"))
    with _stats_lock:
        _stats_cache[key] = (st.st_mtime_ns, st.st_size, ranges)
    return ranges


def members_lookup(data: str | os.PathLike, member_id: str) -> dict[str, Any] | None:
    """The current row of one member as a dict (phone and ID number in clear: mask with
    :func:`weixi.members.pii.mask_row` before showing), or None.

    Load files are searched newest first, then the generator part whose row-group statistics cover the id;
    only files whose ``member_id`` range holds the id are opened (cached Parquet statistics), so the cost
    does not grow with the number of members.
    """
    candidates = [p for _, p in reversed(load_files(data, "members"))] + part_files(data, "members")
    for path in candidates:
        if not any(lo <= member_id <= hi for lo, hi in file_ranges(path)):
            continue
        rows = member_rows(path, member_id)
        if rows:
            out = rows[0]
            out.setdefault("star_level", None)
            return out
    return None


def members_rows(data: str | os.PathLike, member_ids: list[str], columns: list[str]) -> dict[str, dict[str, Any]]:
    """The current rows (``columns`` only) of several members, by member id: :func:`members_lookup` for a set,
    each file's candidate row groups read once."""
    left = set(member_ids)
    out: dict[str, dict[str, Any]] = {}
    for path in [p for _, p in reversed(load_files(data, "members"))] + part_files(data, "members"):
        if not left:
            break
        for row in rows_of_many(path, sorted(left), columns):
            if row["member_id"] in left:
                left.discard(row["member_id"])
                out[row["member_id"]] = {c: row.get(c) for c in columns}
    return out
