"""Reading an intake file (CSV in UTF-8, UTF-8 with BOM, GBK/GB18030; or Parquet) as columns of text.

Every cell is read as a string (``""`` for an empty cell) so that validation sees exactly what the file
says.  Each data row carries its row number: for CSV the **line number in the file** (the header is line 1,
so the first data row is 2 — the row number Excel shows), for Parquet the 1-based row index.  A CSV line
with the wrong number of cells is not a data row: it is reported in ``invalid`` and quarantined.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from weixi.adapters import spreadsheet
from weixi.errors import Invalid

BLOCK = 16 << 20
ENCODINGS = ("auto", "utf-8", "gbk")


class SourceError(Invalid):
    """The file cannot be read at all (missing, unreadable, undecodable, no header)."""


@dataclass
class Source:
    path: Path
    format: str  # csv | parquet
    encoding: str | None
    sha256: str
    headers: list[str]
    table: pa.Table  # columns c0 … cN-1 (strings), in file order
    rows: np.ndarray  # row number of each data row
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # (row, text, coded reason: code␞{params})
    row_numbers: str = "line"  # line | index

    @property
    def data_rows(self) -> int:
        return self.table.num_rows + len(self.invalid)


def _cells(expected: int, found: int) -> str:
    """The coded reason of a line with the wrong number of cells (as :mod:`weixi.members.intake_checks` codes
    reasons: ``code␞{json params}``)."""
    return "intake_wrong_cell_count\x1e" + json.dumps({"expected": expected, "found": found})


def read_source(path: str | Path, encoding: str = "auto") -> Source:
    path = Path(path)
    if encoding not in ENCODINGS:
        raise SourceError("intake_unknown_encoding", encoding=encoding)
    if not path.is_file():
        raise SourceError("intake_no_such_file", path=str(path))
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise SourceError("intake_file_unreadable", path=str(path), reason=exc.strerror) from None
    if path.suffix.lower() in (".parquet", ".pq") or magic == b"PAR1":
        return _read_parquet(path)
    return _read_csv(path, encoding)


# ------------------------------------------------------------------------------------------ CSV
def _scan_bytes(path: Path) -> tuple[str, int, bool, bool, bool]:
    """sha256, newline count, BOM, valid UTF-8, ends with a newline — in one streaming pass."""
    h = hashlib.sha256()
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    newlines, utf8, first, last = 0, True, True, b""
    bom = False
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            if first:
                bom = block.startswith(codecs.BOM_UTF8)
                first = False
            h.update(block)
            newlines += block.count(b"\n")
            last = block[-1:]
            if utf8:
                try:
                    dec.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
    if utf8:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return h.hexdigest(), newlines, bom, utf8, last == b"\n"


def _first_line(path: Path, encoding: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.readline(1 << 20)
    try:
        return raw.decode(encoding).lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise SourceError("intake_header_not_decodable", path=str(path), encoding=encoding) from None


def _read_csv(path: Path, encoding: str) -> Source:
    sha, newlines, bom, utf8, ends_nl = _scan_bytes(path)
    if encoding == "auto":
        enc = "utf-8" if (bom or utf8) else "gb18030"
    elif encoding == "utf-8":
        if not utf8:
            raise SourceError("intake_not_utf8", path=str(path))
        enc = "utf-8"
    else:
        enc = "gb18030"  # a superset of GBK
    label = "utf-8-sig" if enc == "utf-8" and bom else ("utf-8" if enc == "utf-8" else "gb18030")
    header_line = _first_line(path, enc)
    if not header_line.strip():
        raise SourceError("intake_empty_file", path=str(path))
    delim = max(",\t|;", key=header_line.count) if any(c in header_line for c in ",\t|;") else ","
    headers = next(csv.reader([header_line], delimiter=delim))
    headers = [h.strip() for h in headers]
    names = [f"c{i}" for i in range(len(headers))]
    total_lines = newlines + (0 if ends_nl else 1)
    invalid: list[tuple[int | None, str, str]] = []

    def handler(row) -> str:
        invalid.append((row.number, row.text, _cells(row.expected_columns, row.actual_columns)))
        return "skip"

    def arrow_read(use_threads: bool) -> pa.Table:
        invalid.clear()
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding="utf8" if enc == "utf-8" else enc, column_names=names, skip_rows=1,
                use_threads=use_threads, block_size=BLOCK,
            ),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=handler),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip

    try:
        table = arrow_read(True)
        if invalid and any(n is None for n, _, _ in invalid):
            table = arrow_read(False)  # single-threaded parsing reports line numbers
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise SourceError("intake_csv_unreadable", path=str(path), encoding=enc, reason=str(exc)) from None
    if 1 + table.num_rows + len(invalid) == total_lines and all(n is not None for n, _, _ in invalid):
        # one record per physical line: data rows are the lines 2.. except the invalid ones
        bad = np.array(sorted(n for n, _, _ in invalid), dtype=np.int64)
        rows = np.setdiff1d(np.arange(2, total_lines + 1, dtype=np.int64), bad, assume_unique=True)
        return Source(path, "csv", label, sha, headers, table, rows, [(int(n), t, r) for n, t, r in invalid])  # type: ignore[arg-type]
    return _read_csv_exact(path, label, sha, headers, delim)


def _read_csv_exact(path: Path, label: str, sha: str, headers: list[str], delim: str) -> Source:
    """Slow path for files with multi-line cells or blank lines: Python's csv module tracks line numbers."""
    n = len(headers)
    cols: list[list[str]] = [[] for _ in range(n)]
    rows: list[int] = []
    invalid: list[tuple[int, str, str]] = []
    with open(path, encoding=label, newline="") as fh:
        reader = csv.reader(fh, delimiter=delim)
        next(reader, None)
        start = reader.line_num + 1
        for rec in reader:
            if not rec:  # blank line
                start = reader.line_num + 1
                continue
            if len(rec) != n:
                invalid.append((start, delim.join(rec), _cells(n, len(rec))))
            else:
                rows.append(start)
                for c, v in zip(cols, rec):
                    c.append(v)
            start = reader.line_num + 1
    table = pa.table({f"c{i}": pa.array(c, pa.string()) for i, c in enumerate(cols)})
    return Source(path, "csv", label, sha, headers, table, np.array(rows, dtype=np.int64), invalid)


# -------------------------------------------------------------------------------------- Parquet
def _as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    if pa.types.is_timestamp(t):
        fmt = "%Y-%m-%dT%H:%M:%S%z" if t.tz else "%Y-%m-%d %H:%M:%S"
        col = pc.strftime(col, format=fmt)
    elif pa.types.is_boolean(t):
        col = pc.if_else(col, "true", "false")
    elif pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
    if not pa.types.is_string(col.type):
        col = col.cast(pa.string())
    return pc.fill_null(col, "")


def _read_parquet(path: Path) -> Source:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(BLOCK):
            h.update(block)
    try:
        t = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError("intake_parquet_unreadable", path=str(path), reason=str(exc)) from None
    table = pa.table({f"c{i}": _as_text(t.column(i)) for i in range(t.num_columns)})
    rows = np.arange(1, t.num_rows + 1, dtype=np.int64)
    return Source(path, "parquet", None, h.hexdigest(), list(t.column_names), table, rows, [], "index")


def write_csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    spreadsheet.csv_writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()
