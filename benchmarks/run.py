"""`make bench`: run every benchmark, print the numbers, and write them into BENCHMARKS.md.

Each figure is compared with a baseline measured in the same run on the same machine (a ratio), because
the machines are shared and noisy. Sizes can be reduced for a quick look: ``WEIXI_BENCH_SCALE=0.1``; the
close's population alone with ``WEIXI_BENCH_CLOSE_MEMBERS`` (default 10,000,000 x scale).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import bench_close, bench_expiry, bench_load, bench_posting, bench_redeem
from benchmarks.common import cleanup, machine

ROOT = Path(__file__).resolve().parent.parent
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"


def main() -> int:
    scale = float(os.environ.get("WEIXI_BENCH_SCALE", "1"))
    workdir = Path(tempfile.mkdtemp(prefix="weixi-bench-"))
    results: dict = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
                     "scale": scale}
    try:
        results["posting"] = bench_posting.run(n_events=int(1_000_000 * scale), n_members=int(100_000 * scale),
                                               workdir=workdir)
        print(json.dumps({"posting": results["posting"]}, indent=2), flush=True)
        results["expiry"] = bench_expiry.run(workdir, n_lots=int(1_000_000 * scale), n_members=int(100_000 * scale))
        print(json.dumps({"expiry": results["expiry"]}, indent=2), flush=True)
        results["redeem"] = bench_redeem.run(workdir, processes=8, per_process=max(50, int(500 * scale)))
        print(json.dumps({"redeem": results["redeem"]}, indent=2), flush=True)
        results["load"] = bench_load.run(workdir / "load", rows=int(1_000_000 * scale))
        print(json.dumps({"load": results["load"]}, indent=2), flush=True)
        close_members = int(os.environ.get("WEIXI_BENCH_CLOSE_MEMBERS", 10_000_000 * scale))
        results["close"] = bench_close.run(_sub(workdir, "close"), members=close_members)
        print(json.dumps({"close": results["close"]}, indent=2), flush=True)
    finally:
        cleanup(workdir)
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_markdown(results)
    return 0


def _sub(workdir: Path, name: str) -> Path:
    path = workdir / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_markdown(results: dict) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else f"# Benchmarks\n\n{MARK_START}\n{MARK_END}\n"
    block = [MARK_START, f"Last `make bench`: {results['date']} on {results['machine']} (scale {results['scale']}).", ""]
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
