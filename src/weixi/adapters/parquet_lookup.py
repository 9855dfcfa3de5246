"""Point and prefix lookups in Parquet files sorted (or grouped) by a key column (``member_id`` by default).

The footer's min/max statistics of the key per row group, cached per file and column (a file replaced by another
of a different size or modification time is read again), name the row groups that can hold the key; only those
are read. The cost does not grow with the number of rows in the file.

Each file's whole key range is kept apart from the footers (a few hundred bytes a file), for every file whose footer
was read or whose range the Delta log gave (:func:`learn`), after its footer has left the cache: a file whose range
cannot hold the key is skipped without reading its footer. A month cut into files by member range (snapshots,
history and the lake's accruals at scale) costs a lookup one footer a month, not one per file.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from weixi import settings

_lock = threading.Lock()
_SPANS: dict[tuple[str, str], tuple[tuple[int, int], object, object]] = {}  # (path, key) -> (stamp, lo, hi)
MAX_SPANS = 1_000_000  # files whose range is kept (~250 bytes each); past it the ranges are forgotten and read again
_FOOTERS: OrderedDict[tuple[str, str], Footer] = OrderedDict()  # least recently used first
_HELD = [0]  # column chunks (row groups x columns) of the footers kept
# A parsed footer takes ~0.8 KB a column chunk (measured at 10,000,000 members: snapshots 19.5 KB a row group of 24
# columns, the lake's accruals 12.2 KB of 15, history 5.9 KB of 7). Past the budget (settings.LOOKUP_MEMORY) the
# least recently used files' footers are dropped. A year-old 10,000,000-member operator's lookups read ~1.1 GB of
# footers: with 32,768 row groups (~500 MB) kept, as before, member 360 took 130 ms (p50), 66 ms with 1,024 MB;
# re-reading a footer costs ~14 us a row group
CHUNK_BYTES = 820


def max_chunks() -> int:
    """The column chunks whose footers are kept: ``WEIXI_LOOKUP_MEMORY`` MB."""
    return max(1, settings.LOOKUP_MEMORY.value()) * 2**20 // CHUNK_BYTES


MAX_READERS = 32  # files kept open with their reader (a fold reads the same twelve months' files again and again)
CHUNK_GROUPS = 64  # row groups read at once: a batch wanting most of a large file is filtered slice by slice
TOP = "\U0010ffff"  # sorts after every character: the end of a prefix's range


@dataclass(frozen=True)
class Footer:
    """A file's footer and its key column's ``(min, max)`` per row group (``(None, None)``: no statistics)."""

    stamp: tuple[int, int]  # size and modification time: what the cache checks
    meta: pq.FileMetaData
    ranges: list
    ordered: bool  # every group has statistics and each starts at or after the previous one's end (sorted by key)
    names: frozenset  # the file's top-level column names
    # the top-level string columns the writer dictionary-encoded (in the first row group): read as dictionaries they
    # cost an index per row instead of a string copied per row (a fifth of an accrual row group's read). Not those in
    # a list: Arrow reads a nested dictionary column only one row group at a time
    dictionaries: tuple = ()


def footer(path: Path | str, column: str = "member_id") -> Footer:
    """``path``'s footer and ``column``'s row-group ranges, from the cache while the file keeps its size and
    modification time (a Delta file never changes; a file replaced by another is read again)."""
    st = os.stat(path)
    stamp, key = (st.st_size, st.st_mtime_ns), (str(path), column)
    with _lock:
        hit = _FOOTERS.get(key)
        if hit is not None:
            _FOOTERS.move_to_end(key)
    if hit is None or hit.stamp != stamp:
        meta = pq.read_metadata(path)
        col = [meta.schema.column(i).path for i in range(meta.num_columns)].index(column)  # the key's leaf column
        ranges = []
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(col).statistics
            ranges.append((stats.min, stats.max) if stats is not None and stats.has_min_max else (None, None))
        ordered = all(lo is not None for lo, _ in ranges) and all(
            ranges[i][1] <= ranges[i + 1][0] for i in range(len(ranges) - 1)
        )
        names = frozenset(meta.schema.to_arrow_schema().names)
        hit = Footer(stamp, meta, ranges, ordered, names, _dictionaries(meta, names))
        lo, hi = _bounds(ranges)
        with _lock:
            if len(_SPANS) >= MAX_SPANS:
                _SPANS.clear()
            _SPANS[key] = (stamp, lo, hi)
            old = _FOOTERS.pop(key, None)
            _HELD[0] += _chunks(hit) - (_chunks(old) if old is not None else 0)
            _FOOTERS[key] = hit
            budget = max_chunks()
            while _HELD[0] > budget and len(_FOOTERS) > 1:
                _HELD[0] -= _chunks(_FOOTERS.popitem(last=False)[1])
    return hit


def forget(ranges: bool = False) -> None:
    """Drop the kept footers (and with ``ranges`` the files' kept ranges): what a new process starts with."""
    with _lock:
        _FOOTERS.clear()
        _HELD[0] = 0
        if ranges:
            _SPANS.clear()


def _chunks(hit: Footer) -> int:
    return hit.meta.num_row_groups * hit.meta.num_columns


def _bounds(ranges: list) -> tuple:
    if not ranges or any(lo is None for lo, _ in ranges):
        return None, None  # empty, or a group without statistics: nothing is known
    return min(lo for lo, _ in ranges), max(hi for _, hi in ranges)


def learn(path: Path | str, size: int | None, lo, hi, column: str = "member_id") -> None:
    """Keep ``path``'s range of ``column`` as another source says it (the Delta log's statistics of the file), so a
    first lookup skips the file without reading its footer. Ignored unless the file has the size that source gives
    (a file replaced by hand is read), or when a range of it is kept already."""
    if lo is None or hi is None or size is None:
        return
    key = (str(path), column)
    try:
        st = os.stat(path)
    except OSError:
        return
    stamp = (st.st_size, st.st_mtime_ns)
    if st.st_size != size or (key in _SPANS and _SPANS[key][0] == stamp):
        return
    with _lock:
        if len(_SPANS) >= MAX_SPANS:
            _SPANS.clear()
        _SPANS[key] = (stamp, lo, hi)


def cuts(files: list, column: str = "member_id") -> list:
    """Each file's least ``column`` value but the least of all, sorted: where to cut other rows so that each of
    these files' ranges falls in one piece (none when any file's range is not known from its footer)."""
    lows = []
    for f in files:
        lo, _ = _bounds(footer(f, column).ranges)
        if lo is None:
            return []
        lows.append(lo)
    return sorted(set(lows))[1:]


def cannot_hold(path: Path | str, wanted: list, column: str = "member_id") -> bool:
    """Whether ``path`` certainly holds none of ``wanted`` (sorted), by the range kept from its footer (False when
    the file's range is not known yet: its footer is read to find out)."""
    hit = _SPANS.get((str(path), column))
    if hit is None or hit[1] is None:
        return False
    st = os.stat(path)
    if hit[0] != (st.st_size, st.st_mtime_ns):
        return False
    i = bisect.bisect_left(wanted, hit[1])
    return i == len(wanted) or wanted[i] > hit[2]


def _dictionaries(meta: pq.FileMetaData, names: frozenset) -> tuple:
    if not meta.num_row_groups:
        return ()
    group = meta.row_group(0)
    chunks = [group.column(i) for i in range(meta.num_columns)]
    return tuple(
        c.path_in_schema
        for c in chunks
        if c.path_in_schema in names and c.physical_type == "BYTE_ARRAY" and c.has_dictionary_page
    )


def _open(path: Path | str, hit: Footer, dictionaries: list[str] | None) -> pq.ParquetFile:
    # a local file: its column chunks are read as they are decoded (pre-buffering hands each read to Arrow's I/O
    # threads, ~4% more CPU for the fold's small reads)
    return pq.ParquetFile(path, metadata=hit.meta, read_dictionary=dictionaries, pre_buffer=False)


_READERS: OrderedDict[tuple, tuple[threading.Lock, pq.ParquetFile]] = OrderedDict()  # least recently used first


@contextmanager
def _reader(path: Path | str, hit: Footer, dictionaries: list[str] | None):
    """An open reader of ``path`` (the file ``hit`` describes), kept for the next read of the same file: opening
    one costs as much as decoding a few columns of a row group. A reader in use by another thread is not shared
    (a read sets options on it): a fresh one is opened instead."""
    key = (str(path), hit.stamp, tuple(dictionaries or ()))
    with _lock:
        entry = _READERS.get(key)
        if entry is not None:
            _READERS.move_to_end(key)
    if entry is None:
        entry = (threading.Lock(), _open(path, hit, dictionaries))
        with _lock:
            _READERS[key] = entry
            while len(_READERS) > MAX_READERS:  # closed when the last user lets go of it
                _READERS.popitem(last=False)
    busy, reader = entry
    if not busy.acquire(blocking=False):
        yield _open(path, hit, dictionaries)
        return
    try:
        yield reader
    finally:
        busy.release()


def _footer(path: Path, column: str = "member_id"):
    hit = footer(path, column)
    return hit.meta, hit.ranges


def groups_holding(ranges: list, ordered: bool, wanted: list[str]) -> list[int]:
    """The row groups (ascending) whose ``(min, max)`` in ``ranges`` can hold one of ``wanted`` (sorted, distinct).
    ``ordered`` groups (a file sorted by the key) are found by bisection per wanted key, or per group when the keys
    outnumber the groups; a group without statistics is always read."""
    if not wanted or not ranges:
        return []
    if ordered and len(wanted) < len(ranges):
        his = [hi for _, hi in ranges]
        out: set[int] = set()
        for key in wanted:  # a key's rows may run on over group boundaries: every group from the first whose max
            i = bisect.bisect_left(his, key)  # reaches it, while their min does
            while i < len(ranges) and ranges[i][0] <= key:
                out.add(i)
                i += 1
        return sorted(out)
    return [
        i
        for i, (lo, hi) in enumerate(ranges)
        if lo is None or bisect.bisect_right(wanted, hi) > bisect.bisect_left(wanted, lo)
    ]


def rows_table(
    path: Path | str,
    wanted: list[str],
    columns: list[str] | None = None,
    column: str = "member_id",
    dictionaries: bool = False,
):
    """The rows of ``path`` whose ``column`` is one of ``wanted`` (sorted, distinct), in file order, as a table
    (None when no row group can hold them): only the row groups whose statistics can hold one are read, at most
    :data:`CHUNK_GROUPS` at a time. ``columns``: all when None; those the file lacks are left out.
    ``dictionaries``: the top-level string columns the writer dictionary-encoded come as dictionary arrays (the
    same values in ``to_pylist``, less decoding)."""
    if cannot_hold(path, wanted, column):
        return None
    hit = footer(path, column)
    groups = groups_holding(hit.ranges, hit.ordered, wanted)
    if not groups:
        return None
    read = None
    if columns is not None:  # only the columns this file has (older files may lack newer ones), and the key
        columns = [c for c in columns if c in hit.names]
        read = columns if column in columns else [*columns, column]
    values = pa.array(wanted, pa.string())
    coded = [c for c in hit.dictionaries if c != column] if dictionaries else None
    parts = []
    with _reader(path, hit, coded) as pf:
        for start in range(0, len(groups), CHUNK_GROUPS):
            table = pf.read_row_groups(groups[start : start + CHUNK_GROUPS], columns=read, use_threads=False)
            parts.append(table.filter(pc.is_in(table[column], value_set=values)))
    table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
    return table if read is columns else table.select(columns)


def member_rows(path: Path | str, member_id: str, columns: list[str] | None = None) -> list[dict]:
    """The rows of ``member_id`` in the Parquet file ``path`` (``columns``: all when None; those the file lacks
    are left out): :func:`rows_table` of one member, so only a row group whose range can hold it is read, found by
    bisection when the file's groups follow each other in member order."""
    table = rows_table(path, [member_id], columns)
    return [] if table is None else table.to_pylist()


def rows_of_many(path: Path, ids: list[str], columns: list[str] | None = None) -> list[dict]:
    """The rows of any of ``ids`` in ``path`` (grouped by member id, not necessarily sorted): each row group that
    can hold one of them is read once. ``columns`` the file lacks are left out of its rows."""
    table = rows_table(path, sorted(set(ids)), columns)
    return [] if table is None else table.to_pylist()


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
