"""Which month can be closed next, and what each later month still lacks: the close page proposes a month from it.

Months close in order (:mod:`weixi.close.run`), so the month to close is the one after the last closed month (or,
before any close, the first month the monthly files hold). A month is ready when the member archive has members and
the month has rows in every required monthly table (:data:`weixi.close.inputs.REQUIRED_MONTHLY`). The months the
monthly tables hold are read from the files' ``month`` column (a DuckDB scan of that one column per table) and
kept while the files are the same (their paths, sizes and modification times).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from weixi.adapters import archive, duck
from weixi.close import store
from weixi.close.inputs import OPTIONAL_MONTHLY, REQUIRED_MONTHLY
from weixi.close.months import next_month
from weixi.close.sources import files, scan_sql

TABLES = REQUIRED_MONTHLY + OPTIONAL_MONTHLY
MONTHS_SHOWN = 6


@dataclass(frozen=True)
class MonthInputs:
    """A month after the last closed one: which monthly tables have rows for it, and whether it can close now
    (ready, and every month before it closed)."""

    month: str
    present: tuple[str, ...]
    missing: tuple[str, ...]  # required tables without rows for the month (``members`` when there are none)
    next_in_order: bool

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def optional_missing(self) -> tuple[str, ...]:
        return tuple(t for t in OPTIONAL_MONTHLY if t not in self.present)


def months_in_files(data_dir: Path) -> dict[str, frozenset[str]]:
    """Each monthly table's months (``YYYY-MM``) that have at least one row in its files."""
    stamps = tuple(tuple(s) for s in archive.file_stamps(data_dir, TABLES))
    return _months(str(data_dir), stamps)


@lru_cache(maxsize=8)
def _months(data_dir: str, stamps: tuple) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    con = duck.connect()
    try:
        for table in TABLES:
            paths = files(Path(data_dir), table)
            if not paths:
                out[table] = frozenset()
                continue
            listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
            rows = con.execute(
                f"SELECT DISTINCT month FROM read_parquet([{listed}], union_by_name = true) WHERE month IS NOT NULL"
            ).fetchall()
            out[table] = frozenset(str(r[0]) for r in rows)
    finally:
        con.close()
    return out


def upcoming(data_dir: Path, shown: int = MONTHS_SHOWN) -> list[MonthInputs]:
    """The months after the last closed one, in order, up to the latest month any monthly file holds (at most
    ``shown``; the next month in order is always listed, even when no file holds it yet)."""
    data_dir = Path(data_dir)
    closed = store.closed_months(data_dir) if data_dir.is_dir() else []
    held = months_in_files(data_dir) if data_dir.is_dir() else {t: frozenset() for t in TABLES}
    has_members = data_dir.is_dir() and bool(files(data_dir, "members"))
    every = sorted(set().union(*held.values()))
    if closed:
        first = next_month(closed[-1])
    elif every:
        first = every[0]
    else:
        return []
    last = max([first, *every])
    out, month = [], first
    while month <= last and len(out) < shown:
        out.append(_inputs(month, held, has_members, month == first))
        month = next_month(month)
    return out


def inputs_of(data_dir: Path, month: str) -> MonthInputs:
    """What ``month``'s close has and lacks (whatever its place in the order)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return _inputs(month, {t: frozenset() for t in TABLES}, False, False)
    closed = store.closed_months(data_dir)
    in_order = (month == next_month(closed[-1])) if closed else True
    return _inputs(month, months_in_files(data_dir), bool(files(data_dir, "members")), in_order)


def _inputs(month: str, held: dict[str, frozenset[str]], has_members: bool, in_order: bool) -> MonthInputs:
    present = tuple(t for t in TABLES if month in held[t])
    missing = (() if has_members else ("members",)) + tuple(t for t in REQUIRED_MONTHLY if t not in present)
    return MonthInputs(month, present, missing, in_order)


def proposed(months: list[MonthInputs]) -> MonthInputs | None:
    """The month to close now: the next month in order when all its inputs are present."""
    return next((m for m in months if m.next_in_order and m.ready), None)


def month_rows(data_dir: Path, month: str, tables: tuple[str, ...] = ("bills", "recharges")) -> dict[str, int]:
    """How many current rows ``month`` has in each of ``tables`` (what its close accrues from)."""
    data_dir = Path(data_dir)
    con = duck.connect()
    try:
        return {
            t: int(con.execute(f"SELECT count(*) FROM ({scan_sql(data_dir, t, month)})").fetchone()[0])
            if files(data_dir, t)
            else 0
            for t in tables
        }
    finally:
        con.close()
