"""Point and prefix lookups in Parquet files sorted (or grouped) by a key column (``member_id`` by default).

The footer's min/max statistics of the key per row group, cached per file, column and modification time,
name the row groups that can hold the key; only those are read. The cost does not grow with the number of
rows in the file.
"""

from __future__ import annotations

import bisect
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

_lock = threading.Lock()
_FOOTERS: dict[tuple[Path, str], tuple[int, object, list]] = {}
TOP = "\U0010ffff"  # sorts after every character: the end of a prefix's range


def _footer(path: Path, column: str = "member_id"):
    stamp = path.stat().st_mtime_ns
    with _lock:
        hit = _FOOTERS.get((path, column))
    if hit is None or hit[0] != stamp:
        meta = pq.read_metadata(path)
        col = meta.schema.to_arrow_schema().get_field_index(column)
        ranges = []
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(col).statistics
            ranges.append((stats.min, stats.max) if stats is not None and stats.has_min_max else (None, None))
        hit = (stamp, meta, ranges)
        with _lock:
            _FOOTERS[(path, column)] = hit
    return hit[1], hit[2]


def member_rows(path: Path, member_id: str, columns: list[str] | None = None, sorted_ids: bool = True) -> list[dict]:
    """The rows of ``member_id`` in the Parquet file ``path`` (``columns``: all when None). ``sorted_ids``:
    the file is sorted by member id, so the candidate row groups are found by bisection."""
    meta, ranges = _footer(Path(path))
    if any(lo is None for lo, _ in ranges):
        groups = list(range(len(ranges)))  # no statistics: read everything (correct, only slower)
    elif sorted_ids:  # from the first group whose max reaches the id, while their min does
        i = bisect.bisect_left([hi for _, hi in ranges], member_id)
        groups = []
        while i < len(ranges) and ranges[i][0] <= member_id:
            groups.append(i)
            i += 1
    else:
        groups = [i for i, (lo, hi) in enumerate(ranges) if lo <= member_id <= hi]
    if not groups:
        return []
    table = pq.ParquetFile(path, metadata=meta).read_row_groups(groups, columns=columns)
    return table.filter(pc.equal(table["member_id"], member_id)).to_pylist()


def rows_of_many(path: Path, ids: list[str], columns: list[str] | None = None) -> list[dict]:
    """The rows of any of ``ids`` in ``path`` (grouped by member id, not necessarily sorted): each row group that
    can hold one of them is read once. ``columns`` the file lacks are left out of its rows."""
    meta, ranges = _footer(Path(path))
    wanted = sorted(set(ids))
    if not wanted:
        return []
    groups = [
        i
        for i, (lo, hi) in enumerate(ranges)
        if lo is None or bisect.bisect_right(wanted, hi) > bisect.bisect_left(wanted, lo)
    ]
    if not groups:
        return []
    if columns is not None:  # only the columns this file has (older files may lack newer ones)
        names = set(meta.schema.names)
        columns = [c for c in columns if c in names]
    table = pq.ParquetFile(path, metadata=meta).read_row_groups(groups, columns=columns)
    return table.filter(pc.is_in(table["member_id"], value_set=pa.array(wanted))).to_pylist()


def prefix_rows(path: Path, column: str, prefix: str, limit: int, columns: list[str] | None = None) -> list[dict]:
    """Up to ``limit`` rows whose ``column`` starts with ``prefix``, in file order, from a file sorted by
    ``column``: row groups are read one by one from the first that can hold the prefix, until enough."""
    meta, ranges = _footer(Path(path), column)
    found: list[dict] = []
    end = prefix + TOP
    for i, (lo, hi) in enumerate(ranges):
        if lo is not None and (hi < prefix or lo > end):
            if lo > end:
                break
            continue
        table = pq.ParquetFile(path, metadata=meta).read_row_group(i, columns=columns)
        hits = table.filter(pc.starts_with(table[column], prefix))
        found += hits.slice(0, limit - len(found)).to_pylist()
        if len(found) >= limit:
            break
    return found
