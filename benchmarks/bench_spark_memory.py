"""The PySpark close's Python driver: its peak memory at two populations (target: the larger within 1.2x the
smaller), measured in the same run.

Each population gets its own generated operator (two months); the first month is closed on DuckDB (quick), the
second on PySpark in local mode, in a child process that reports its own peak resident memory (the driver only:
Spark's JVM is another process, and not counted). The child reads the kernel's high-water mark (``VmHWM``) as each
step of the close starts and then resets it (``/proc/self/clear_refs``), so it reports each step's own peak
(``step_peak_mib``), the whole close's (``whole_close_mib``) and the engine's part's, from the history step to the
end (``engine_part_mib``: what Spark does and the driver commits). What the close reads from or writes to the
ledger at member scale (the accrual, the expiry, the points earned and balances Spark reads, the changed tiers, the
summary) runs in a ledger process of its own (:mod:`weixi.close.offload`): ``children_peak_mib`` is the
largest peak of the processes the driver started and waited for (those, and the ADBC readers and loaders they
start), to show where that memory went. Neither part should grow with the members. The ledger store is the lake
(``WEIXI_LEDGER_STORE=lake``, issue 21) unless the environment names another. Linux only.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEIXI = [sys.executable, "-m", "weixi"]
TARGET_RATIO = 1.2


def _weixi(args: list[str], env: dict) -> dict:
    done = subprocess.run(WEIXI + args + ["--json"], capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"weixi {' '.join(args)} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def driver(db: str, data: str, month: str) -> dict:
    """In the child: close ``month`` on PySpark and return the driver's peaks (MiB) and the close's figures."""
    from weixi.adapters.db import make_engine
    from weixi.close.run import Progress, close_month

    peaks: dict = {}
    by_step: dict = {}
    current = ["start"]
    engine_part = [0]

    def step(name: str) -> None:  # each step's own peak: read the high-water mark, then reset it
        by_step[current[0]] = _status_kib("VmHWM") // 1024
        if name == "history":  # the engine's part starts: keep the peak so far
            peaks["before_engine_mib"] = max(by_step.values())
        elif current[0] != "start" and "before_engine_mib" in peaks:
            engine_part[0] = max(engine_part[0], by_step[current[0]])
        current[0] = name
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")

    engine = make_engine(db)
    started = time.perf_counter()
    result = close_month(engine, Path(data), month, engine_name="pyspark", progress=Progress(step=step))
    seconds = time.perf_counter() - started
    by_step[current[0]] = _status_kib("VmHWM") // 1024
    peaks["engine_part_mib"] = max(engine_part[0], by_step[current[0]])
    peaks["whole_close_mib"] = max(by_step.values())  # (getrusage's own peak is reset with the high-water mark)
    # the largest peak of the waited-for children (the ledger processes, their ADBC readers); Spark's JVM still runs
    peaks["children_peak_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return {
        **peaks,
        "ledger_store": os.environ.get("WEIXI_LEDGER_STORE", "sql"),
        "close_seconds": round(seconds, 1),
        "members": result["summary"]["members"],
        "step_seconds": result["seconds"],
        "step_peak_mib": by_step,
    }


def _one(workdir: Path, members: int) -> dict:
    data, db = workdir / f"operator-{members}", workdir / f"close-{members}.db"
    env = {**os.environ, "WEIXI_DB": str(db), "WEIXI_DATA": str(data), "PYTHONPATH": str(ROOT / "src")}
    env.setdefault("WEIXI_LEDGER_STORE", "lake")
    started = time.perf_counter()
    _weixi(["generate", "--members", str(members), "--months", "2", "--end-month", "2026-10", "--seed", "5",
            "--out", str(data)], env)  # fmt: skip
    generated = time.perf_counter() - started
    _weixi(["init"], env)
    _weixi(["plan", "apply", str(ROOT / "plans/examples/telecom-points.yaml")], env)
    _weixi(["close", "--month", "2026-09"], env)  # on DuckDB: the PySpark close below has a month before it
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_spark_memory", "driver", str(db), str(data), "2026-10"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the PySpark close failed: {done.stdout[-2000:]} {done.stderr[-3000:]}")
    return {"generate_seconds": round(generated, 1), **json.loads(done.stdout.strip().splitlines()[-1])}


def run(workdir: Path, small: int = 100_000, large: int = 1_000_000) -> dict:
    """Both populations in the same run; ``large=0`` measures the small one alone (no ratio)."""
    out: dict = {"target_ratio": TARGET_RATIO}
    sizes = [small] + ([large] if large else [])
    found = {n: _one(workdir, n) for n in sizes}
    for n, figures in found.items():
        out[f"at_{n}"] = figures
    if large:
        a, b = found[small], found[large]
        out["ratio_engine_part"] = round(b["engine_part_mib"] / a["engine_part_mib"], 2)
        out["ratio_whole_close"] = round(b["whole_close_mib"] / a["whole_close_mib"], 2)
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["driver"]:
        print(json.dumps(driver(*sys.argv[2:5])))
    else:  # python -m benchmarks.bench_spark_memory [small [large]]
        import tempfile

        args = [int(a) for a in sys.argv[1:3]]
        with tempfile.TemporaryDirectory(prefix="weixi-bench-spark-") as tmp:
            print(json.dumps(run(Path(tmp), *args), indent=2))
