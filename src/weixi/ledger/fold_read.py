"""The fold's read of the lake (:mod:`weixi.ledger.fold`): the members' accrual rows of the months they have not
folded, at the Delta version the watermark names, and the points the lake expired of those lots.

:func:`read` reads each file directly (:func:`weixi.adapters.parquet_lookup.rows_table`): only the row groups whose
member range can hold one of the members, with the footers cached (a Delta file never changes) and the string
columns the writer dictionary-encoded read as dictionaries.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from weixi.adapters import lake, parquet_lookup

ACCRUALS = "accruals"
EXPIRIES = "expiries"

_FILES: dict[tuple[str, int], list[str]] = {}  # a Delta version never changes: its file list is read once


def version_files(table_dir: Path, version: int) -> list[str]:
    """The files of the table's ``version``; their member ranges, as its log gives them, are handed to the
    lookups (a first fold skips the files that cannot hold its members without reading their footers)."""
    key = (str(table_dir), version)
    if key not in _FILES:
        if len(_FILES) > 64:
            _FILES.clear()
        spans = lake.file_spans(table_dir, version)
        for path, size, lo, hi in spans:
            parquet_lookup.learn(path, size, lo, hi)
        _FILES[key] = [s[0] for s in spans]
    return _FILES[key]


def month_files(files: list[str], month: str) -> list[str]:
    """The files of ``files`` (a table version's) in the ``month=`` partition ``month``."""
    return [f for f in files if f"/month={month}/" in f]


def read(lake_dir: Path, version: int, months: list[str], todo: dict[str, str], exp_version: int | None):
    """The members' unfolded lake rows (in month and posting order, each with its ``month``) and the points the lake
    expired per lot. ``todo``: member -> the month folded through ('' none)."""
    files = version_files(lake_dir / ACCRUALS, version)
    everyone = sorted(todo)
    same = len(set(todo.values())) == 1  # the usual case: nobody folded yet, or all through the same month
    rows = []
    for m in months:
        mine = month_files(files, m)
        wanted = everyone if same else [x for x in everyone if todo[x] < m]
        if not mine or not wanted or (same and todo[everyone[0]] >= m):
            continue
        for f in mine:
            table = parquet_lookup.rows_table(f, wanted, dictionaries=True)
            if table is not None and table.num_rows:
                rows += _pylist(table, m)
    rows.sort(key=lambda r: (r["month"], r["seq"]))
    expired: dict[str, int] = {}
    if rows and exp_version is not None:
        lots = {r["event_id"] for r in rows}
        for f in version_files(lake_dir / EXPIRIES, exp_version):
            table = parquet_lookup.rows_table(f, everyone, ["lot_id", "points"])
            if table is None:
                continue
            for lot, points in zip(table.column("lot_id").to_pylist(), table.column("points").to_pylist()):
                if lot in lots:
                    expired[lot] = expired.get(lot, 0) + int(points)
    return rows, expired


def _pylist(table: pa.Table, month: str) -> list[dict]:
    """``table.to_pylist()`` with each row's ``month``; a dictionary column's values looked up in Python (half the
    cost of Arrow's conversion of them)."""
    names = [*table.column_names, "month"]
    columns = []
    for column in table.columns:
        if pa.types.is_dictionary(column.type):
            values: list = []
            for chunk in column.chunks:
                if len(chunk.dictionary) > len(chunk):  # a filtered chunk keeps its whole dictionary
                    values += chunk.to_pylist()
                    continue
                words = chunk.dictionary.to_pylist()
                values += [None if i is None else words[i] for i in chunk.indices.to_pylist()]
            columns.append(values)
        else:
            columns.append(column.to_pylist())
    columns.append([month] * table.num_rows)
    return [dict(zip(names, row)) for row in zip(*columns)]
