"""Customer-value input and output files: load a CSV/Parquet file (or Arrow table) into DuckDB, check its columns
and rows set-based (every problem a coded :class:`weixi.clv.DataError` naming the file, the column and the first
rows or lines that fail), and write results atomically (a temporary file renamed into place)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from weixi.adapters import duck, spreadsheet
from weixi.clv.errors import DataError

META_KEY = b"weixi.clv"

# a row check: (SQL condition a bad row meets, the column it is about, the error code, extra params)
Check = tuple[str, str, str, dict]


def connect() -> duckdb.DuckDBPyConnection:
    con = duck.connect()
    con.execute("SET preserve_insertion_order = true")
    return con


def load(con, source: str | Path | pa.Table, name: str) -> tuple[str, int]:
    """Load a CSV/Parquet file or Arrow table as table ``name`` (text columns for CSV); return (label, offset)
    where ``offset`` turns a 0-based rowid into the number shown to people (CSV: file line)."""
    if isinstance(source, pa.Table):
        con.register(f"{name}_arrow", source)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
        return "the input table", 1
    path = Path(source)
    if not path.is_file():
        raise DataError("clv_file_missing", path=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet(?)", [str(path)])
            return str(path), 1
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, all_varchar=true, header=true)", [str(path)])
    except duckdb.Error as exc:
        kind = "Parquet" if path.suffix.lower() == ".parquet" else "CSV"
        raise DataError("clv_file_unreadable", path=str(path), kind=kind, detail=str(exc).splitlines()[0]) from None
    return str(path), 2


def columns(con, name: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]


def require(con, name: str, label: str, wanted: dict[str, str | None]) -> None:
    have = columns(con, name)
    missing = [f"{opt} {col!r}" for opt, col in wanted.items() if col is not None and col not in have]
    if missing:
        raise DataError("clv_no_column", label=label, missing=missing, columns=have)


def count(con, name: str) -> int:
    return con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]


def quote(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _bad_rows(con, name: str, label: str, offset: int, check: Check, n: int):
    """Raise the check's error: the count and up to three examples with row/line numbers."""
    condition, col, code, extra = check
    rows = con.execute(
        f"SELECT rowid, CAST({quote(col)} AS VARCHAR) FROM {name} WHERE {condition} ORDER BY rowid LIMIT 3"
    ).fetchall()
    examples = [f"{r + offset}: {v!r}" for r, v in rows]
    raise DataError(
        code, label=label, column=col, n=n, rows_as="line" if offset == 2 else "row", examples=examples, **extra
    )


def check_rows(con, name: str, label: str, offset: int, checks: list[Check]) -> None:
    """Count every check's bad rows in one scan; raise the first check that any row fails."""
    if not checks:
        return
    counts = con.execute(
        "SELECT " + ", ".join(f"count(*) FILTER (WHERE {c[0]})" for c in checks) + f" FROM {name}"
    ).fetchone()
    for check, n in zip(checks, counts):
        if n:
            _bad_rows(con, name, label, offset, check, n)


def num(col: str) -> str:
    return f"TRY_CAST({quote(col)} AS DOUBLE)"


def nonnumeric(col: str) -> str:
    return f"{num(col)} IS NULL OR NOT isfinite({num(col)})"


def as_date(col: str) -> str:
    v = f"trim(CAST({quote(col)} AS VARCHAR))"
    return (
        f"COALESCE(TRY_CAST({v} AS DATE), CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE), "
        f"CAST(TRY_STRPTIME({v}, '%Y%m%d') AS DATE))"
    )


def param_values(params: dict, names: tuple[str, ...], model: str) -> tuple[float, ...]:
    """A model's parameters (given as a dict, e.g. from ``clv fit --json``) in the model's order, checked."""
    missing = [n for n in names if n not in params]
    if missing:
        raise DataError("clv_params_missing", model=model, missing=missing, names=names)
    values = tuple(float(params[n]) for n in names)
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise DataError("clv_params_not_positive", model=model, given=params)
    return values


def write_table(table: pa.Table, out: str | Path) -> Path:
    """Write Parquet (or CSV for a .csv name) to a temporary file beside ``out`` and rename it into place."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            pacsv.write_csv(spreadsheet.table(table), tmp)  # no cell can start a formula
        else:
            pq.write_table(table, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
