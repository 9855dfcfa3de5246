"""`make bench`: run every benchmark, print the numbers, and write them into BENCHMARKS.md.

Each figure is compared with a baseline measured in the same run on the same machine (a ratio), because
the machines are shared and noisy. Sizes can be reduced for a quick look: ``WEIXI_BENCH_SCALE=0.1``; the
close's population alone with ``WEIXI_BENCH_CLOSE_MEMBERS`` (default 10,000,000 x scale), and its operator's age
with ``WEIXI_BENCH_CLOSE_MONTHS`` (default 2: the second month measured; 12: the twelfth, the window full). The
close is measured twice: ``close`` at 10,000,000 members (one pair of the close and its floor) and ``close_1m`` at
1,000,000 (the median of five pairs; ``WEIXI_BENCH_CLOSE_REPEATS`` sets the pairs of ``close``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import (
    bench_api,
    bench_api_lake,
    bench_campaigns,
    bench_churn,
    bench_close,
    bench_clv,
    bench_expiry,
    bench_incentives,
    bench_load,
    bench_member_list,
    bench_operations,
    bench_pages,
    bench_posting,
    bench_redeem,
    bench_search,
    bench_spark_memory,
)
from benchmarks.common import cleanup, machine

ROOT = Path(__file__).resolve().parent.parent
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"


def _posting(workdir: Path, scale: float) -> dict:
    return bench_posting.run(n_events=int(1_000_000 * scale), n_members=int(100_000 * scale), workdir=workdir)


def _close(workdir: Path, scale: float) -> dict:
    members = int(os.environ.get("WEIXI_BENCH_CLOSE_MEMBERS", 10_000_000 * scale))
    return bench_close.run(_sub(workdir, "close"), members=members)


def _close_1m(workdir: Path, scale: float) -> dict:
    """Issue 21's second close target: 1,000,000 members (x scale), the median of five alternated pairs of the
    close and the floor from the same state (one pair's ratio moves by +-0.15 on a shared two-core machine)."""
    return bench_close.run(_sub(workdir, "close_1m"), members=int(1_000_000 * scale), repeats=5)


# name -> run(workdir, scale) -> dict of measures. Add one line per benchmark.
BENCHES: dict = {
    "posting": _posting,
    "expiry": lambda w, s: bench_expiry.run(w, n_lots=int(1_000_000 * s), n_members=int(100_000 * s)),
    "redeem": lambda w, s: bench_redeem.run(w, processes=8, per_process=max(50, int(500 * s))),
    "load": lambda w, s: bench_load.run(w / "load", rows=int(1_000_000 * s)),
    "close": _close,
    "close_1m": _close_1m,
    "api": lambda w, s: bench_api.run(w, seconds=max(5.0, 20 * s), members=max(500, int(5000 * s))),
    "api_lake": lambda w, s: bench_api_lake.run(w, seconds=max(5.0, 20 * s), members=max(500, int(5000 * s))),
    "incentives": lambda w, s: bench_incentives.run(w, staff=int(10_000 * s), orders=int(2_000_000 * s)),
    "clv": lambda w, s: bench_clv.run(w, customers=int(1_000_000 * s)),
    "churn": lambda w, s: bench_churn.run(
        w, members=int(10_000_000 * s), train_members=max(5_000, int(20_000 * min(s, 1)))
    ),
    "operations": lambda w, s: bench_operations.run(w, members=int(10_000_000 * s)),
    "campaigns": lambda w, s: bench_campaigns.run(w, draws=max(200, int(2000 * s))),
    "search": lambda w, s: bench_search.run(w, members=int(10_000_000 * s)),
    "member_list": lambda w, s: bench_member_list.run(w, members=int(10_000_000 * s)),
    "pages": lambda w, s: bench_pages.run(w, members=max(2_000, int(20_000 * min(s, 1)))),
    "spark_memory": lambda w, s: bench_spark_memory.run(w, small=int(100_000 * s), large=int(1_000_000 * s)),
}


def main() -> int:
    """Run every benchmark, or only those named in ``WEIXI_BENCH_ONLY`` (comma-separated); the
    others keep their last results in ``benchmarks/results.json``."""
    scale = float(os.environ.get("WEIXI_BENCH_SCALE", "1"))
    only = [n for n in os.environ.get("WEIXI_BENCH_ONLY", "").split(",") if n]
    unknown = [n for n in only if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    results_path = ROOT / "benchmarks" / "results.json"
    previous = json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else {}
    results: dict = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "scale": scale,
    }
    workdir = Path(tempfile.mkdtemp(prefix="weixi-bench-"))
    try:
        for name, bench in BENCHES.items():
            if only and name not in only:
                if isinstance(previous.get(name), dict):
                    results[name] = previous[name]
                continue
            results[name] = bench(_sub(workdir, name), scale)
            results[name]["measured"] = results["date"]
            print(json.dumps({name: results[name]}, indent=2), flush=True)
    finally:
        cleanup(workdir)
    results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_markdown(results)
    return 0


def _sub(workdir: Path, name: str) -> Path:
    path = workdir / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_markdown(results: dict) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{MARK_START}\n{MARK_END}\n"
    block = [
        MARK_START,
        f"Last `make bench`: {results['date']} on {results['machine']} (scale {results['scale']}).",
        "",
    ]
    for name, data in results.items():
        if isinstance(data, dict):
            block.append(f"**{name}**\n")
            block.append("| measure | value |\n|---|---|")
            block += [f"| {k} | {v} |" for k, v in data.items()]
            block.append("")
    block.append(MARK_END)
    text = re.sub(re.escape(MARK_START) + ".*?" + re.escape(MARK_END), "\n".join(block), text, flags=re.S)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
