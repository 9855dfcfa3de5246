"""DuckDB connections are opened one way, without the progress bar that DuckDB prints on standard output (even
into a pipe) for a query longer than two seconds — at operator scale it landed inside ``--json`` answers."""

from __future__ import annotations

import re
from pathlib import Path

from weixi.adapters import duck
from weixi.close import backends

SRC = Path(__file__).resolve().parents[3] / "src" / "weixi"


def _progress_bar(con) -> bool:
    return con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]


def test_connections_are_quiet():
    assert _progress_bar(duck.connect()) is False
    assert _progress_bar(duck.connect(config={"threads": 1})) is False
    assert backends.connect("duckdb").raw_sql("SELECT current_setting('enable_progress_bar')").fetchone()[0] is False


def test_no_module_opens_duckdb_another_way():
    others = []
    for path in SRC.rglob("*.py"):
        if path.name == "duck.py" and path.parent.name == "adapters":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"(?<!ibis\.)\bduckdb\.connect\(", line):  # backends.connect (Ibis) is checked above
                others.append(f"{path.relative_to(SRC)}:{n}")
    assert others == [], f"use weixi.adapters.duck.connect(): {others}"
