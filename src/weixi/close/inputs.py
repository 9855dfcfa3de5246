"""Which inputs a month's close needs, and what is missing."""

from __future__ import annotations

from pathlib import Path

from weixi.adapters import duck
from weixi.close.sources import files, scan_sql

REQUIRED_MONTHLY = ("bills", "usage")  # every operator has these every month
OPTIONAL_MONTHLY = ("recharges", "complaints", "surveys", "portout_inquiries")


def missing_inputs(data_dir: Path, month: str) -> list[str]:
    """Human-readable list of what is missing for ``month``; empty when the close can run."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return [f"data directory {data_dir} does not exist (generate one with 'weixi generate' or load exports)"]
    missing = []
    if not files(data_dir, "members"):
        missing.append(f"members: no files in {data_dir / 'members'}")
    with duck.reader() as con:  # (no DuckDB of its own: 11-14 ms to make, more beside the close's early staging)
        for table in REQUIRED_MONTHLY + OPTIONAL_MONTHLY:
            if not files(data_dir, table):
                missing.append(f"{table}: no files in {data_dir / table}")
                continue
            if table in REQUIRED_MONTHLY:
                # a row of the month, not their count: the scan stops at the first one
                if con.execute(f"SELECT 1 FROM ({scan_sql(data_dir, table, month)}) LIMIT 1").fetchone() is None:
                    missing.append(f"{table}: no rows for {month}")
    return missing
