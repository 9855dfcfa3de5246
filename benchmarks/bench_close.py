"""Monthly close at scale: wall time, peak memory and the ratio to a bare DuckDB scan of the month's input
Parquet measured in the same run; member 360 lookup latency (p50/p95) after the close."""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from benchmarks import bench_close_floor

ROOT = Path(__file__).resolve().parent.parent
WEIXI = [sys.executable, "-m", "weixi"]


def _run(args: list[str], env: dict) -> tuple[float, dict, int]:
    """Run ``weixi ARGS`` in a child; wall seconds, its JSON output, the child's peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(WEIXI + args + ["--json"], capture_output=True, text=True, env=env, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"weixi {' '.join(args)} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, json.loads(done.stdout), max(peak, before) // 1024


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


def run(workdir: Path, members: int = 1_000_000, lookups: int = 200) -> dict:
    data, db = workdir / "operator", workdir / "close.db"
    env = {**os.environ, "WEIXI_DB": str(db), "WEIXI_DATA": str(data)}
    out: dict = {"members": members}
    reuse = os.environ.get("WEIXI_BENCH_OPERATOR")  # an operator generated earlier with the same arguments
    if reuse:
        data = Path(reuse)
        manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("members") != members:
            raise RuntimeError(f"{reuse} holds {manifest.get('members')} members, not {members}")
        out.update(generate_seconds="reused", bills_rows_both_months=manifest["tables"]["bills"]["rows"])
    else:
        gen_s, manifest, gen_rss = _run(
            [
                "generate",
                "--members",
                str(members),
                "--months",
                "2",
                "--end-month",
                "2026-10",
                "--seed",
                "5",
                "--out",
                str(data),
            ],
            env,
        )
        out.update(
            generate_seconds=round(gen_s, 1),
            generate_peak_rss_mib=gen_rss,
            bills_rows_both_months=manifest["tables"]["bills"]["rows"],
        )
    env["WEIXI_DATA"] = str(data)
    _run(["init"], env)
    _run(["plan", "apply", str(ROOT / "plans/examples/telecom-points.yaml")], env)
    first_s, _, _ = _run(["close", "--month", "2026-09"], env)
    out["first_close_seconds"] = round(first_s, 1)
    close_s, result, close_rss = _run(["close", "--month", "2026-10"], env)
    scan_s = bare_scan_seconds(data, "2026-10")
    out.update(
        close_seconds=round(close_s, 1),
        close_peak_rss_mib=close_rss,
        bare_scan_seconds=round(scan_s, 2),
        ratio_to_bare_scan=round(close_s / scan_s, 1),
        step_seconds=result["seconds"],
        accrual_posted=result["accrual"]["posted"],
    )
    floor = bench_close_floor.floor(data, "2026-10", workdir / "floor")  # the same month without a ledger
    out.update(floor, floor_ratio_to_bare_scan=round(floor["floor_seconds"] / scan_s, 1))
    rerun_s, again, _ = _run(["close", "--month", "2026-10"], env)
    out.update(rerun_seconds=round(rerun_s, 1), rerun_already_closed=again["already_closed"])
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
    out.update(
        member360_p50_ms=round(times[len(times) // 2], 1), member360_p95_ms=round(times[int(len(times) * 0.95)], 1)
    )
    engine.dispose()
    return out
