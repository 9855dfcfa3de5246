"""Point lookups of one member in Parquet files sorted (or grouped) by member id.

The footer's min/max statistics of ``member_id`` per row group, cached per file and modification time,
name the row groups that can hold the id; only those are read. The cost does not grow with the number of
members in the file.
"""

from __future__ import annotations

import bisect
import threading
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

_lock = threading.Lock()
_FOOTERS: dict[Path, tuple[int, object, list]] = {}


def _footer(path: Path):
    stamp = path.stat().st_mtime_ns
    with _lock:
        hit = _FOOTERS.get(path)
    if hit is None or hit[0] != stamp:
        meta = pq.read_metadata(path)
        col = meta.schema.to_arrow_schema().get_field_index("member_id")
        ranges = []
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(col).statistics
            ranges.append((stats.min, stats.max) if stats is not None and stats.has_min_max else (None, None))
        hit = (stamp, meta, ranges)
        with _lock:
            _FOOTERS[path] = hit
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
