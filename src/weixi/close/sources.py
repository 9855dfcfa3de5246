"""Where the close reads the member archive (see docs/operator-data.md and docs/member-intake.md).

Always through :func:`weixi.adapters.archive_scan.scan_sql`, which applies loaded corrections (a later load
replaces a row by its key) on top of the generated or first-loaded parts.
"""

from __future__ import annotations

from pathlib import Path

from weixi.adapters import archive_scan as archive  # (no PyArrow: weixi.close.early reads through it)

MONTHLY = tuple(sorted(archive.MONTHLY))


def files(data_dir: Path, table: str) -> list[Path]:
    return archive.part_files(data_dir, table) + [p for _, p in archive.load_files(data_dir, table)]


def scan_sql(data_dir: Path, table: str, month: str | None = None) -> str:
    """DuckDB SQL for the current rows of an archive table, filtered to ``month`` for monthly tables."""
    return archive.scan_sql(Path(data_dir), table, month if table in MONTHLY else None)
