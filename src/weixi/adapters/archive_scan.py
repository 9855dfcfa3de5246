"""Where the member archive's rows are and the SQL that reads their current rows (:func:`scan_sql`), without
PyArrow: the close starts reading a month's bills while the command's other modules are still being imported
(:mod:`weixi.close.early`). PyArrow is imported only for what needs a table's Arrow schema: a table with no file
(its empty rows), one with load files (its columns named), a member's lookup (the files' footers).

:mod:`weixi.adapters.archive` holds the rest, and the layout of the data directory.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from weixi.adapters.duck import lit
from weixi.errors import Invalid

JOURNAL = "loads.json"

KEYS: dict[str, tuple[str, ...]] = {
    "members": ("member_id",),
    "bills": ("bill_id",),
    "recharges": ("recharge_id",),
    "usage": ("member_id", "month"),
    "complaints": ("complaint_id",),
    "surveys": ("survey_id",),
    "portout_inquiries": ("inquiry_id",),
    "churn_labels": ("member_id",),
    "contracts": ("member_id",),
}
MONTHLY = frozenset({"bills", "usage", "recharges", "complaints", "surveys", "portout_inquiries"})
CONTRACT_COLUMNS = ("contract_start", "contract_end", "subsidy_end")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ArchiveError(Invalid):
    """A read of the archive that cannot be answered: an unknown table, a bad month."""


def read_journal(data: str | os.PathLike) -> dict[str, Any]:
    path = Path(data) / JOURNAL
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"schema_version": 1, "next_seq": 1, "loads": []}


def part_files(data: str | os.PathLike, table: str) -> list[Path]:
    return sorted((Path(data) / table).glob("part-*.parquet"))


def load_files(data: str | os.PathLike, table: str, journal: dict | None = None) -> list[tuple[int, Path]]:
    """(sequence, path) of the committed load files of ``table``, oldest first."""
    journal = journal if journal is not None else read_journal(data)
    out = []
    for entry in journal.get("loads", []):
        if entry.get("store") == table and entry.get("file"):
            out.append((int(entry["seq"]), Path(data) / entry["file"]))
    return sorted(out)


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(lit(p) for p in paths) + "]"


def _month_filter(month: str | list[str] | None) -> str:
    if month is None:
        return ""
    months = [month] if isinstance(month, str) else list(month)
    for m in months:
        if not isinstance(m, str) or not _MONTH_RE.match(m):
            raise ArchiveError("archive_bad_month", month=m)
    if not months:
        return "FALSE"
    return "month = " + lit(months[0]) if len(months) == 1 else "month IN (" + ", ".join(map(lit, months)) + ")"


def scan_sql(
    data: str | os.PathLike, table: str, month: str | list[str] | None = None, member_id: str | None = None
) -> str:
    """SQL text (DuckDB) of the current rows of ``table``; see :func:`weixi.adapters.archive.scan`. With ``member_id`` (a lookup),
    only the generated parts whose row-group statistics can hold that member are read (every load file
    still is, so a later load's correction always wins); the caller still filters on the member."""
    if table == "contracts":
        cols = ", ".join(CONTRACT_COLUMNS)
        cond = " OR ".join(f"{c} IS NOT NULL" for c in CONTRACT_COLUMNS)
        return f"SELECT member_id, {cols} FROM ({scan_sql(data, 'members')}) WHERE {cond}"
    if table not in KEYS:
        raise ArchiveError("archive_unknown_table", table=table, tables=list(KEYS))
    if month is not None and table not in MONTHLY:
        raise ArchiveError("archive_not_monthly", table=table)
    where = _month_filter(month)
    parts = part_files(data, table)
    if member_id is not None:
        from weixi.adapters.archive import file_ranges  # (PyArrow's footers)

        parts = [p for p in parts if any(lo <= member_id <= hi for lo, hi in file_ranges(p))]
    loads = load_files(data, table)
    extra = ""
    if table == "members":  # generator parts have no star_level
        extra = ", CAST(NULL AS TINYINT) AS star_level"
    base = f"SELECT *{extra} FROM read_parquet({_files(parts)})" if parts else None
    if not loads:
        if base is None:
            from weixi.adapters.archive import empty_sql  # (the table's Arrow schema)

            return empty_sql(table)
        return base + (f" WHERE {where}" if where else "")
    key = KEYS[table]
    if len(loads) == 1:
        latest = f"SELECT * FROM read_parquet({lit(loads[0][1])})"
    else:
        part = ", ".join(key)
        latest = (
            f"SELECT * EXCLUDE (_seq) FROM (SELECT *, CAST(regexp_extract(filename, 'load-([0-9]+)-', 1) AS BIGINT)"
            f" AS _seq FROM read_parquet({_files([p for _, p in loads])}, filename = true)) "
            f"QUALIFY row_number() OVER (PARTITION BY {part} ORDER BY _seq DESC) = 1"
        )
    from weixi.adapters.archive import SCHEMAS  # (the tables' Arrow schemas)

    names = ", ".join(f.name for f in SCHEMAS[table])
    latest = f"SELECT {names} FROM ({latest})"
    loaded = "SELECT * FROM _latest" + (f" WHERE {where}" if where else "")
    if base is None:
        return f"WITH _latest AS ({latest}) {loaded}"
    on = " AND ".join(f"_l.{k} = _b.{k}" for k in key)
    base_where = f"{where} AND " if where else ""
    return (
        f"WITH _latest AS ({latest}) "
        f"SELECT {names} FROM ({base}) _b WHERE {base_where}NOT EXISTS (SELECT 1 FROM _latest _l WHERE {on}) "
        f"UNION ALL {loaded}"
    )
