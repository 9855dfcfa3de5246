"""Member search at province scale: the search index against a scan of the member archive, same run.

Generates an operator of ``members`` members (one month), builds the search index (timed, in its own process
for its peak memory), then searches 40 sampled members five ways each — member id, whole phone, last 4 digits,
whole name, surname — through the index, and a few of the same queries by scanning the archive (the path a
search takes when the index is missing or stale). Both return the same rows for a query with fewer matches
than the page holds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
WEIXI = [sys.executable, "-m", "weixi"]
SAMPLE = 40
KINDS = ("member_id", "phone", "last_4_digits", "name", "surname")


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 1)


def run(workdir: Path, members: int = 10_000_000) -> dict:
    from weixi.adapters import search_index
    from weixi.members import search as member_search

    data = workdir / "operator"
    env = {**os.environ, "WEIXI_DATA": str(data)}
    start = time.perf_counter()
    subprocess.run(
        WEIXI
        + [
            "generate",
            "--members",
            str(members),
            "--months",
            "1",
            "--seed",
            "11",
            "--workers",
            "2",
            "--out",
            str(data),
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
    )
    generate_s = time.perf_counter() - start
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys; from weixi.adapters import search_index; "
            "print(json.dumps(search_index.build(sys.argv[1])))",
            str(data),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    build_s = time.perf_counter() - start
    build_rss = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) // 1024
    counts = json.loads(built.stdout.strip().splitlines()[-1])
    assert search_index.fresh(data) is not None

    sample = duckdb.sql(
        f"SELECT member_id, name, phone FROM read_parquet('{data}/members/*.parquet') "
        f"USING SAMPLE {SAMPLE} ROWS (reservoir, 7)"
    ).fetchall()
    queries = {k: [] for k in KINDS}
    for member_id, name, phone in sample:
        for kind, q in zip(KINDS, (member_id, phone, phone[-4:], name, name[0])):
            queries[kind].append(q)
    member_search.search(data, sample[0][0])  # footers cached, as in a running server
    out: dict = {
        "members": members,
        "generate_seconds": round(generate_s, 1),
        "index_build_seconds": round(build_s, 1),
        "index_build_peak_rss_mib": build_rss,
        "index_keys": counts["keys"],
        "searches_per_kind": SAMPLE,
    }
    for kind, qs in queries.items():
        times = []
        for q in qs:
            t = time.perf_counter()
            member_search.search(data, q)
            times.append((time.perf_counter() - t) * 1000)
        out[f"index_{kind}_p50_ms"], out[f"index_{kind}_p95_ms"] = _percentile(times, 0.5), _percentile(times, 0.95)

    real_fresh = search_index.fresh
    search_index.fresh = lambda d: None  # the scan, as with a missing or stale index
    try:
        for kind in ("member_id", "phone", "name"):
            q = queries[kind][0]
            t = time.perf_counter()
            scanned = member_search.search(data, q)
            out[f"scan_{kind}_ms"] = round((time.perf_counter() - t) * 1000, 1)
            search_index.fresh = real_fresh
            indexed = member_search.search(data, q)
            search_index.fresh = lambda d: None
            if len(scanned) < member_search.DEFAULT_LIMIT:
                assert [r["member_id"] for r in indexed] == [r["member_id"] for r in scanned], (kind, q)
    finally:
        search_index.fresh = real_fresh
    out["scan_over_index_p50_member_id"] = round(out["scan_member_id_ms"] / out["index_member_id_p50_ms"], 1)
    out["scan_over_index_p50_phone"] = round(out["scan_phone_ms"] / out["index_phone_p50_ms"], 1)
    out["scan_over_index_p50_name"] = round(out["scan_name_ms"] / out["index_name_p50_ms"], 1)
    return out
