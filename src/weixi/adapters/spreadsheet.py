"""Cells that leave Weixi in a CSV or XLSX file never become formulas (CSV/formula injection, OWASP).

A CRM file can carry a city such as ``=cmd|' /C calc'!A0``; a spreadsheet that opens an export with it would run it.
Every CSV and XLSX writer in Weixi passes its cells through this module: a text cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading single quote (``'=cmd…``), so it is shown as text.
Numbers stay numbers: only ``str`` cells are escaped, and a text cell that is exactly a number (``-12.50``,
``+8613800001111``) is left alone, since a spreadsheet reads it as that number and runs nothing.

- :func:`cell` / :func:`row`: one value, one row (for openpyxl's ``append`` and anything else);
- :func:`csv_writer`: :func:`csv.writer` whose ``writerow`` / ``writerows`` escape every cell;
- :func:`sheet`: an openpyxl worksheet whose ``append`` escapes every cell;
- :func:`table`: an Arrow table with its text columns escaped (for ``pyarrow.csv.write_csv``).
"""

from __future__ import annotations

import csv
import re
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_IS_NUMBER = re.compile(_NUMBER)


def cell(value: Any) -> Any:
    """``value`` as a cell that cannot start a formula: text with a risky first character gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _IS_NUMBER.fullmatch(value):
        return "'" + value
    return value


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


class _SafeWriter:
    def __init__(self, writer):
        self._writer = writer

    def writerow(self, values: Iterable[Any]):
        return self._writer.writerow(row(values))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for values in rows:
            self.writerow(values)


def csv_writer(fh, **kwargs) -> _SafeWriter:
    """:func:`csv.writer` over ``fh`` that escapes every cell it writes."""
    return _SafeWriter(csv.writer(fh, **kwargs))


class _SafeSheet:
    def __init__(self, ws):
        self._ws = ws

    def append(self, values: Iterable[Any]) -> None:
        self._ws.append(row(values))


def sheet(ws) -> _SafeSheet:
    """An openpyxl worksheet (``Workbook(write_only=True).create_sheet(...)``) whose ``append`` escapes every cell."""
    return _SafeSheet(ws)


def table(t: pa.Table) -> pa.Table:
    """``t`` with every text column escaped like :func:`cell` (other columns as they are)."""
    risky = "^[=+\\-@\\t\\r]"
    for i, field in enumerate(t.schema):
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            continue
        col = t.column(i).cast(kind) if kind is not field.type else t.column(i)
        flagged = pc.and_(
            pc.match_substring_regex(col, risky), pc.invert(pc.match_substring_regex(col, f"^{_NUMBER}$"))
        )
        if not pc.any(flagged).as_py():
            continue
        escaped = pc.binary_join_element_wise(pa.scalar("'", kind), col, pa.scalar("", kind))
        t = t.set_column(i, pa.field(field.name, kind, field.nullable), pc.if_else(flagged, escaped, col))
    return t


XLSX_MAX_ROWS = 1_048_575  # a sheet's rows, less the header


def table_bytes(head: list, rows: list[list], fmt: str, sheet_name: str) -> bytes:
    """``rows`` under ``head`` as CSV (UTF-8 with a BOM, for Excel) or XLSX (one sheet), no cell starting a formula.
    The caller refuses more than :data:`XLSX_MAX_ROWS` rows for XLSX with its own code."""
    import io
    import os
    import tempfile
    from pathlib import Path

    if fmt == "csv":
        buf = io.StringIO()
        w = csv_writer(buf)
        w.writerow(head)
        w.writerows([["" if v is None else v for v in r] for r in rows])
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = sheet(wb.create_sheet(sheet_name))
    ws.append(head)
    for r in rows:
        ws.append(r)
    fd, tmp = tempfile.mkstemp(prefix=f"weixi-{sheet_name}-", suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(tmp)
        return Path(tmp).read_bytes()
    finally:
        os.unlink(tmp)
