"""Where the close reads the member archive: ``DATA/<table>/*.parquet`` (see docs/operator-data.md)."""

from __future__ import annotations

from pathlib import Path

MONTHLY = ("bills", "recharges", "usage", "complaints", "surveys", "portout_inquiries")


def files(data_dir: Path, table: str) -> list[Path]:
    return sorted((Path(data_dir) / table).glob("*.parquet"))


def scan_sql(data_dir: Path, table: str, month: str | None = None) -> str:
    """DuckDB SQL for the current rows of an archive table (loaded corrections replace rows by key)."""
    try:
        from weixi.members import archive
    except ImportError:
        archive = None
    if archive is not None and hasattr(archive, "scan_sql"):
        return archive.scan_sql(Path(data_dir), table, month)
    paths = ", ".join(f"'{p}'" for p in files(data_dir, table))
    sql = f"SELECT * FROM read_parquet([{paths}])"
    return sql + (f" WHERE month = '{month}'" if month and table in MONTHLY else "")
