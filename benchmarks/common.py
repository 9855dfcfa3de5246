"""Shared benchmark helpers: a fresh ledger database, the same-run bare-insert baseline, timing."""

from __future__ import annotations

import os
import platform
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import executemany


def fresh_db(workdir: Path, name: str):
    path = workdir / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = make_engine(str(path))
    schema.upgrade(engine)
    return engine


def bare_insert_seconds(engine, rows: list[tuple]) -> float:
    """The baseline: executemany of the same number of rows into a plain table in the same database."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_bare")
        conn.exec_driver_sql(
            "CREATE TABLE bench_bare (event_id TEXT, member_id TEXT, type TEXT, occurred_at TEXT, "
            "amount TEXT, points TEXT, ref TEXT, attrs TEXT)"
        )
    start = time.perf_counter()
    with engine.begin() as conn:
        executemany(conn, "INSERT INTO bench_bare VALUES (?,?,?,?,?,?,?,?)", rows)
    seconds = time.perf_counter() - start
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_bare")
    return seconds


@contextmanager
def timer(out: dict, key: str):
    start = time.perf_counter()
    yield
    out[key] = round(time.perf_counter() - start, 3)


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f", {int(fh.readline().split()[1]) // 1024 // 1024} GiB"
    except OSError:
        pass
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((l.split(":", 1)[1].strip() for l in fh if l.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} cores{mem}, {cpu or platform.processor()}, Python {platform.python_version()}"


def cleanup(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)
