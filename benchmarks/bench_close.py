"""Monthly close at scale: wall time, peak memory, the ratio to the ledger-free floor (:mod:`bench_close_floor`)
and to a bare DuckDB scan of the month's input Parquet, all measured in the same run; the SQL ledger's growth in
bytes per bill of the closed month; member 360 lookup latency (p50/p95) after the close. The close's CPU-seconds
(its process and the ledger's) against the floor's, and the ratio the close would reach with every core busy from
its start to its end (its CPU-seconds over the cores, over the floor's wall): what a close of that much work can
reach on this machine, however its steps are laid out.

The ledger store is a knob: ``WEIXI_BENCH_CLOSE_STORE`` (``lake``, the default: ``WEIXI_LEDGER_STORE=lake``, the
month's accruals in the Delta table; ``sql``: every bill into the SQL ledger, the measurement before issue 21).
Issue 21's targets: the close within 1.5x the floor, peak memory under 12 GB, the SQL ledger growing by at most 50
bytes per bill of a closed month.

``repeats`` (``WEIXI_BENCH_CLOSE_REPEATS``, default 1): the measured month closed that many times from the same
state (the ledger file and the data folder copied before the first and put back before each other), each close
followed by the floor, and the ratios' median taken: on a shared two-core machine one pair's ratio moved by
+-0.15 within minutes (1,000,000 members: 1.51-1.72x in eight pairs of one quiet half-hour). The state is copied
whole, so repeats suit the smaller operators (`close_1m`: 1,000,000 members, five pairs).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks import bench_close_floor
from weixi.close.months import window

ROOT = Path(__file__).resolve().parent.parent
WEIXI = [sys.executable, "-m", "weixi"]
STORES = ("lake", "sql")
END_MONTH = "2026-10"  # the month measured: the operator's last
MONTHS_ENV = "WEIXI_BENCH_CLOSE_MONTHS"  # the operator's months (default 2): all but the last closed first
REPEATS_ENV = "WEIXI_BENCH_CLOSE_REPEATS"  # closes of the measured month, each with the floor (default 1)


def bench_months(n: int | None = None) -> list[str]:
    """The operator's months, oldest first: ``n`` (default :data:`MONTHS_ENV`, 2) months ending in
    :data:`END_MONTH`. The first close brings the members in; the last month is the one measured, after every
    other is closed (with 12, the close of a year-old operator: its window full, the lake's earlier partitions
    all there)."""
    n = n or int(os.environ.get(MONTHS_ENV, "2"))
    if n < 2:
        raise ValueError(f"{MONTHS_ENV}={n}: at least 2 (one to bring the members in, one measured)")
    return window(END_MONTH, n)


def _run(args: list[str], env: dict, cpu: dict | None = None) -> tuple[float, dict, int]:
    """Run ``weixi ARGS`` in a child; wall seconds, its JSON output, the peak RSS in MiB of the child or of any
    process it waited for (the close's loading process), measured for this child alone (``wait4``). Its CPU
    seconds (user + system, the child's and those of the processes it waited for) into ``cpu["seconds"]`` when
    given, as :func:`benchmarks.bench_churn._run` does."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(WEIXI + args + ["--json"], stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if cpu is not None:
            cpu["seconds"] = usage.ru_utime + usage.ru_stime
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if child.returncode != 0:
        raise RuntimeError(f"weixi {' '.join(args)} failed: {stdout[-2000:]} {stderr[-2000:]}")
    return seconds, json.loads(stdout), usage.ru_maxrss // 1024


def bare_scan_seconds(data: Path, month: str) -> float:
    """Read every column of the month's bills, usage and recharges once with DuckDB: the floor of any close."""
    con = duckdb.connect()
    start = time.perf_counter()
    for table in ("bills", "usage", "recharges"):
        con.execute(
            f"SELECT count(*), sum(hash(COLUMNS(*))) FROM read_parquet('{data}/{table}/*.parquet') "
            f"WHERE month = '{month}'"
        ).fetchall()
    return time.perf_counter() - start


def sqlite_bytes(db: Path) -> int:
    """The SQLite database's size on disk: the file and its WAL after a checkpoint (no other connection open)."""
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())


def _operator(workdir: Path, members: int, months: list[str], env: dict, out: dict) -> Path:
    """The operator's input files: generated, or linked from ``WEIXI_BENCH_OPERATOR`` (an operator generated
    earlier with the same arguments; hard links, so the close's files land in the work folder, not in it)."""
    data = workdir / "operator"
    reuse = os.environ.get("WEIXI_BENCH_OPERATOR")
    if reuse:
        manifest = json.loads((Path(reuse) / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("members") != members or manifest.get("months") != months:
            raise RuntimeError(
                f"{reuse} holds {manifest.get('members')} members over {manifest.get('months')}, not {members} over "
                f"{months}"
            )
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(reuse, data, copy_function=os.link, ignore=shutil.ignore_patterns("close", "lake"))
        out.update(generate_seconds="reused", bills_rows_both_months=manifest["tables"]["bills"]["rows"])
        return data
    args = ["generate", "--members", str(members), "--months", str(len(months)), "--end-month", months[-1]]
    args += ["--seed", "5"]
    gen_s, manifest, gen_rss = _run([*args, "--out", str(data)], env)
    out.update(
        generate_seconds=round(gen_s, 1),
        generate_peak_rss_mib=gen_rss,
        bills_rows_both_months=manifest["tables"]["bills"]["rows"],
    )
    return data


def run(
    workdir: Path,
    members: int = 1_000_000,
    lookups: int = 200,
    ledger_store: str | None = None,
    repeats: int | None = None,
) -> dict:
    store = ledger_store or os.environ.get("WEIXI_BENCH_CLOSE_STORE", "lake")
    if store not in STORES:
        raise ValueError(f"WEIXI_BENCH_CLOSE_STORE={store!r}: one of {', '.join(STORES)}")
    repeats = repeats or int(os.environ.get(REPEATS_ENV, "1"))
    db = workdir / "close.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "WEIXI_DB": str(db), "WEIXI_LEDGER_STORE": store}
    # the commands' bytecode cached (by the first of them) as an installed package has it, whatever the caller's
    # environment says: otherwise each command compiles its modules again (about 0.45 s of a close's start-up)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    months = bench_months()
    out: dict = {"members": members, "ledger_store": store, "months": len(months)}
    data = _operator(workdir, members, months, env, out)
    env["WEIXI_DATA"] = str(data)
    _run(["init"], env)
    _run(["plan", "apply", str(ROOT / "plans/examples/telecom-points.yaml")], env)
    earlier = [round(_run(["close", "--month", m], env)[0], 1) for m in months[:-1]]
    out["first_close_seconds"] = earlier[0]
    if len(earlier) > 1:
        out["earlier_close_seconds"] = earlier
    month = months[-1]
    before = sqlite_bytes(db)
    saved = _save(db, data, workdir / "before") if repeats > 1 else None
    pairs = []
    for i in range(repeats):
        if i:
            _restore(saved, db, data)
        pairs.append(_pair(db, data, month, env, workdir, before))
    pair = sorted(pairs, key=lambda p: p["close_ratio_to_floor"])[(len(pairs) - 1) // 2]  # the median (lower)
    out.update(pair)
    if repeats > 1:
        out.update(
            repeats=repeats,
            close_ratio_to_floor_runs=[p["close_ratio_to_floor"] for p in pairs],
            close_in_process_ratio_to_floor_runs=[p["close_in_process_ratio_to_floor"] for p in pairs],
            close_seconds_runs=[p["close_seconds"] for p in pairs],
            floor_seconds_runs=[p["floor_seconds"] for p in pairs],
            close_cpu_ratio_to_floor_runs=[p["close_cpu_ratio_to_floor"] for p in pairs],
            close_all_cores_busy_ratio_to_floor_runs=[p["close_all_cores_busy_ratio_to_floor"] for p in pairs],
        )
        shutil.rmtree(saved, ignore_errors=True)
    out["target"] = "close <= 1.5x floor, peak RSS < 12 GB, SQL growth <= 50 bytes per bill (issue 21, lake)"
    if repeats > 1:
        out["target"] += f"; the median of {repeats} alternated pairs"
    out["target_met"] = (
        store == "lake"
        and out["close_ratio_to_floor"] <= 1.5
        and max(p["close_peak_rss_mib"] for p in pairs) < 12 * 1024
        and out["sql_bytes_per_bill"] is not None
        and out["sql_bytes_per_bill"] <= 50
    )
    rerun_s, again, _ = _run(["close", "--month", month], env)
    out.update(rerun_seconds=round(rerun_s, 1), rerun_already_closed=again["already_closed"])
    out.update(_member360(db, data, members, lookups))
    return out


def _pair(db: Path, data: Path, month: str, env: dict, workdir: Path, before: int) -> dict:
    """The measured close of ``month``, then the floor of the same month and the bare scan: the pair's figures."""
    cpu: dict = {}
    close_s, result, close_rss = _run(["close", "--month", month], env, cpu)
    grown = sqlite_bytes(db) - before
    scan_s = bare_scan_seconds(data, month)
    acc = result["accrual"]
    out = dict(
        close_month=month,
        close_seconds=round(close_s, 1),
        close_peak_rss_mib=close_rss,
        bare_scan_seconds=round(scan_s, 2),
        ratio_to_bare_scan=round(close_s / scan_s, 1),
        step_seconds=result["seconds"],
        accrual_posted=acc["posted"],
        accrual_loader_seconds=acc.get("seconds"),
        month_bills=acc["bills"],
        month_recharges=acc["recharges"],
        sql_bytes_before=before,
        sql_bytes_grown=grown,
        sql_bytes_per_bill=round(grown / acc["bills"], 1) if acc["bills"] else None,
        sql_bytes_per_bill_or_recharge=round(grown / (acc["bills"] + acc["recharges"]), 1) if acc["bills"] else None,
    )
    before_floor = resource.getrusage(resource.RUSAGE_SELF)  # this process does nothing else meanwhile
    floor = bench_close_floor.floor(data, month, workdir / "floor")  # the same month without a ledger
    after_floor = resource.getrusage(resource.RUSAGE_SELF)
    floor_cpu = sum(getattr(after_floor, f) - getattr(before_floor, f) for f in ("ru_utime", "ru_stime"))
    cores = os.cpu_count() or 1
    # the close's own wall (from the manifest: without the command's start-up, which rerun_seconds shows)
    inside = result["wall_seconds"] + result["seconds"].get("search_index", 0)
    out.update(
        floor,
        floor_ratio_to_bare_scan=round(floor["floor_seconds"] / scan_s, 1),
        close_ratio_to_floor=round(close_s / floor["floor_seconds"], 2),
        close_in_process_seconds=round(inside, 1),
        close_in_process_ratio_to_floor=round(inside / floor["floor_seconds"], 2),
        # the work, whatever the machine's load: the close's CPU against the floor's (its call, the connection's
        # set-up included); and the ratio the close would reach with every core busy from its start to its end
        close_cpu_seconds=round(cpu["seconds"], 1),
        floor_cpu_seconds=round(floor_cpu, 1),
        close_cpu_ratio_to_floor=round(cpu["seconds"] / floor_cpu, 2),
        cores=cores,
        close_all_cores_busy_ratio_to_floor=round(cpu["seconds"] / cores / floor["floor_seconds"], 2),
    )
    return out


def _save(db: Path, data: Path, to: Path) -> Path:
    """Copy the ledger file (checkpointed by :func:`sqlite_bytes`: no WAL) and the data folder into ``to``."""
    shutil.rmtree(to, ignore_errors=True)
    to.mkdir(parents=True)
    shutil.copy2(db, to / db.name)
    shutil.copytree(data, to / data.name, symlinks=True)
    return to


def _restore(saved: Path, db: Path, data: Path) -> None:
    """Put back what :func:`_save` copied: the ledger file (its WAL and shared memory removed) and the data folder."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy2(saved / db.name, db)
    shutil.rmtree(data)
    shutil.copytree(saved / data.name, data, symlinks=True)


def _member360(db: Path, data: Path, members: int, lookups: int) -> dict:
    """Member 360 of ``lookups`` random members after the close (with the lake a lookup folds the member: the
    first touch), p50 and p95 in ms."""
    sys.path.insert(0, str(ROOT / "src"))
    from weixi.adapters.db import make_engine
    from weixi.members.member360 import member_360

    engine = make_engine(str(db))
    rng = random.Random(1)
    ids = [f"M{rng.randrange(1, members + 1):010d}" for _ in range(lookups)]
    member_360(engine, data, ids[0])  # warm the caches once, as a running console would be
    times = []
    for member in ids:
        start = time.perf_counter()
        member_360(engine, data, member)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    engine.dispose()
    return {
        "member360_p50_ms": round(times[len(times) // 2], 1),
        "member360_p95_ms": round(times[int(len(times) * 0.95)], 1),
    }
