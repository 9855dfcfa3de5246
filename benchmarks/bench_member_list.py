"""The console's member list at province scale: filters, sort and pages over 10,000,000 members (issue 18 §5).

Generates an operator of ``members`` members (one month of archive, ``weixi generate``), then writes that month's
close snapshot and churn scores beside it with DuckDB (the columns the list reads, with tiers, star levels, value
layers, activity grades, managers and statuses spread as a close spreads them; a 10,000,000-member close takes
longer than the rest of this benchmark and is measured by the close benchmark). Then times
:func:`weixi.members.listing.list_members` — what the console's /members/results calls — for a set of filter and
sort combinations, on the first page and a deep page, several times each: p50 and p95 over all of them. The
same-run baseline is one bare ``count(*)`` scan of the snapshot with the tier filter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
WEIXI = [sys.executable, "-m", "weixi"]
MONTH = "2026-10"
REPEAT = 5
# (name, filters, sort, descending)
CASES = (
    ("no filter, by member", {}, "member", False),
    ("tier gold", {"tier": "gold"}, "member", False),
    ("star 6, by points", {"star": 6}, "points", True),
    ("value A + active, by join", {"value": "A", "activity": "active"}, "join", True),
    ("high risk, by risk", {"band": "high"}, "risk", True),
    ("manager, in service", {"manager": "K0042", "status": "active"}, "member", False),
    ("left, by tier", {"status": "left"}, "tier", False),
    ("contract before, by contract", {"contract_before": date(2026, 12, 31)}, "contract", False),
    ("gold + high risk + star 5", {"tier": "gold", "band": "high", "star": 5}, "risk", True),
)
PAGE = 50


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 1)


def _write_close(data: Path, members: int) -> None:
    """The month's snapshot and scores, one row per archive member, sorted by member as the close writes them."""
    snap = data / "snapshots" / f"month={MONTH}"
    scores = data / "churn" / "scores" / f"month={MONTH}"
    snap.mkdir(parents=True, exist_ok=True)
    scores.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        h = "hash(member_id)"
        con.execute(
            f"""COPY (SELECT '{MONTH}' AS month, member_id,
                   CASE WHEN {h} % 100 < 82 THEN 'active' ELSE 'left' END AS status,
                   DATE '2010-01-01' + CAST({h} % 5800 AS INTEGER) AS join_date, CAST(NULL AS DATE) AS churned_on,
                   city, 'K' || lpad(CAST({h} % {max(members // 1000, 1)} AS VARCHAR), 4, '0') AS manager_id,
                   'postpaid' AS payment_type, 'primary' AS card_role, '5G' AS network, '畅享套餐' AS plan_name,
                   CASE WHEN {h} % 1000 < 25 THEN 'diamond' WHEN {h} % 1000 < 100 THEN 'gold'
                        WHEN {h} % 1000 < 280 THEN 'silver' ELSE 'standard' END AS tier,
                   CAST(NULL AS DATE) AS tier_since, CAST(NULL AS DATE) AS grace_until,
                   CAST(1 + ({h} >> 8) % 7 AS TINYINT) AS star_level,
                   chr(65 + CAST(({h} >> 12) % 4 AS INTEGER)) AS value_grade,
                   ['active', 'regular', 'silent'][1 + CAST(({h} >> 16) % 3 AS INTEGER)] AS activity_grade,
                   CAST(NULL AS VARCHAR) AS rfm, CAST(NULL AS VARCHAR) AS key_account,
                   CAST(({h} >> 20) % 40000 AS BIGINT) AS arpu_fen, CAST(({h} >> 24) % 40000 AS BIGINT) AS month_spend_fen,
                   CAST(({h} >> 28) % 40 AS BIGINT) AS month_points_earned,
                   CAST(({h} >> 32) % 3000 AS BIGINT) AS points_balance, CAST(0 AS BIGINT) AS points_debt
                FROM read_parquet('{data}/members/*.parquet') ORDER BY member_id)
               TO '{snap}/part-0.parquet' (FORMAT PARQUET, ROW_GROUP_SIZE 122880)"""
        )
        con.execute(
            f"""COPY (SELECT member_id, ((hash(member_id) >> 3) % 10000) / 10000.0 AS churn_probability,
                   CAST(1 + (hash(member_id) >> 3) % 10 AS TINYINT) AS risk_decile
                FROM read_parquet('{data}/members/*.parquet') ORDER BY member_id)
               TO '{scores}/part-0.parquet' (FORMAT PARQUET)"""
        )
    finally:
        con.close()


def run(workdir: Path, members: int = 10_000_000) -> dict:
    from weixi.members import listing

    data = workdir / "operator"
    env = {**os.environ, "WEIXI_DATA": str(data)}
    start = time.perf_counter()
    subprocess.run(
        WEIXI + ["generate", "--members", str(members), "--months", "1", "--end-month", MONTH, "--seed", "13"]
        + ["--workers", "2", "--out", str(data)],
        check=True,
        capture_output=True,
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    generate_s = time.perf_counter() - start
    start = time.perf_counter()
    _write_close(data, members)
    snapshot_s = time.perf_counter() - start

    snap = data / "snapshots" / f"month={MONTH}" / "part-0.parquet"
    base = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{snap}') WHERE tier = 'gold'").fetchone()
        base.append((time.perf_counter() - t) * 1000)
    start = time.perf_counter()
    listing.list_members(
        data, listing.Filters(), limit=PAGE
    )  # builds the list table, as the first request after a close
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    listing.list_members(data, listing.Filters(), limit=PAGE)  # footers cached, as in a running server
    second_s = time.perf_counter() - start

    out: dict = {
        "members": members,
        "generate_seconds": round(generate_s, 1),
        "snapshot_and_scores_seconds": round(snapshot_s, 1),
        "page_rows": PAGE,
        "repeats": REPEAT,
        "baseline_count_scan_p50_ms": _percentile(base, 0.5),
        "first_request_with_table_build_seconds": round(build_s, 1),
        "second_request_ms": round(second_s * 1000, 1),
    }
    every = []
    for name, filters, sort, desc in CASES:
        times = []
        total = None
        for offset in (0, PAGE * 200):
            for _ in range(REPEAT):
                t = time.perf_counter()
                found = listing.list_members(data, listing.Filters(**filters), sort, desc, PAGE, offset)
                times.append((time.perf_counter() - t) * 1000)
                total = found["total"]
        every += times
        key = name.replace(" ", "_").replace(",", "").replace("+", "and")
        out[f"{key}_p95_ms"] = _percentile(times, 0.95)
        out[f"{key}_total"] = total
    out["all_p50_ms"] = _percentile(every, 0.5)
    out["all_p95_ms"] = _percentile(every, 0.95)
    out["p95_over_baseline"] = round(out["all_p95_ms"] / max(out["baseline_count_scan_p50_ms"], 0.1), 1)
    out["target_p95_ms"] = 1000
    out["target_met"] = out["all_p95_ms"] <= 1000
    return out


if __name__ == "__main__":
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), int(sys.argv[1]) if len(sys.argv) > 1 else 200_000), indent=1))
