"""DuckDB connections of province-sized batch work stay inside the machine."""

from __future__ import annotations

import os
from pathlib import Path

MEMORY_ENV = "WEIXI_DUCKDB_MEMORY"


def bound_memory(duck, data_dir: Path) -> None:
    """Keep a DuckDB connection under ``WEIXI_DUCKDB_MEMORY`` (default 6GB), spilling to
    ``DATA/close/.spill`` beyond it."""
    spill = Path(data_dir) / "close" / ".spill"
    spill.mkdir(parents=True, exist_ok=True)
    duck.execute(f"SET memory_limit = '{os.environ.get(MEMORY_ENV, '6GB')}'")
    duck.execute(f"SET temp_directory = '{spill}'")
