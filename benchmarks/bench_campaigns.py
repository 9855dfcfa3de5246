"""Lottery draws per second on the embedded database, one process and several racing, against a same-run
baseline: single-row insert transactions (BEGIN IMMEDIATE, one INSERT, COMMIT) on the same file.

A draw is one write transaction that locks the campaign, checks the member and their chances (a sum over the
ledger's bills in the window), reads the day's box, computes the HMAC, takes one ticket (``issued < quantity``)
and records the draw. After the racing run the box is checked: nothing oversold, and every draw verifies
against the published commitment.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import fresh_db
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.campaigns import lottery_service
from weixi.campaigns import report as campaign_report
from weixi.campaigns import service as campaigns
from weixi.plans.service import apply_plan

TZ = ZoneInfo("Asia/Shanghai")
PLAN = "plan: bench\nname: bench\nearning:\n  - {id: bill, type: spend, points: 1, per_yuan: 1}\n"


def _campaign(members: int, per_day: int) -> str:
    ids = ", ".join(f"m{i:05d}" for i in range(members))
    return f"""kind: campaign
campaign: bench
name: bench
window: {{from: 2026-07-01, to: 2026-07-02}}
objectives: [{{id: p, metric: participants, target: 1}}]
audience: {{source: list, members: [{ids}]}}
budget: [{{line: gifts, yuan: 1}}]
lottery:
  chances: {{grant: 1000}}
  blanks_per_day: {per_day}
  prizes:
    - {{id: top, name: top, per_day: 3, value_yuan: 1}}
    - {{id: small, name: small, per_day: {per_day}}}
"""


def _baseline(engine, n: int) -> float:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_one (id INTEGER PRIMARY KEY, member TEXT, at TEXT)")
    start = time.perf_counter()
    for i in range(n):
        with engine.begin() as conn:
            execute(conn, "INSERT INTO bench_one (id, member, at) VALUES (?,?,?)", [i, f"m{i}", "2026-07-01"])
    seconds = time.perf_counter() - start
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE bench_one")
    return n / seconds


def _racer(url: str, worker: int, n: int, members: int, start_at: float, out) -> None:
    engine = make_engine(url)
    at = datetime(2026, 7, 2, 10, tzinfo=TZ)
    ok = refused = 0
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    for k in range(n):
        try:
            lottery_service.draw(engine, "bench", f"m{(worker * n + k) % members:05d}", now=at)
            ok += 1
        except campaigns.CampaignError:
            refused += 1
    out.put((ok, refused, time.perf_counter() - begin))
    engine.dispose()


def run(workdir: Path, draws: int = 2000, processes: int = 4, members: int = 500) -> dict:
    engine = fresh_db(workdir, "campaigns")
    plan = workdir / "bench-plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    apply_plan(engine, plan)
    baseline = _baseline(engine, draws)
    when = datetime(2026, 6, 20, 9, tzinfo=TZ)
    # day 1: sequential draws from a box big enough; day 2: racing processes empty a smaller box
    campaigns.create(engine, _campaign(members, draws), "bench.yaml", "bench", now=when)
    for action, who in (("submit", "bench"), ("approve", "auditor"), ("start", "auditor")):
        campaigns.act(engine, "bench", action, who, now=when)
    day1 = datetime(2026, 7, 1, 10, tzinfo=TZ)
    start = time.perf_counter()
    for k in range(draws):
        lottery_service.draw(engine, "bench", f"m{k % members:05d}", now=day1)
    sequential = draws / (time.perf_counter() - start)
    box = 2 * draws + 3  # the second day's box, then racing past its end
    per_process = (box + draws // 2) // processes
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    engine.dispose()
    start_at = time.time() + 1.0
    procs = [
        ctx.Process(target=_racer, args=(str(workdir / "campaigns.db"), w, per_process, members, start_at, out))
        for w in range(processes)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    ok, refused, wall = sum(r[0] for r in results), sum(r[1] for r in results), max(r[2] for r in results)
    engine = make_engine(str(workdir / "campaigns.db"))
    stock = lottery_service.stock(engine, "bench")
    oversold = sum(1 for r in stock if r["issued"] > r["quantity"])
    day2 = sum(r["issued"] for r in stock if r["day"] == "2026-07-02")
    campaigns.act(engine, "bench", "close", "auditor", now=datetime(2026, 7, 3, 9, tzinfo=TZ))
    verified = campaign_report.verify_draws(engine, "bench")
    engine.dispose()
    return {
        "draws_sequential": draws,
        "draws_per_second": round(sequential, 1),
        "baseline_insert_tx_per_second": round(baseline, 1),
        "ratio_to_baseline": round(sequential / baseline, 3),
        "racing_processes": processes,
        "racing_draws": ok,
        "racing_refused_box_empty": refused,
        "racing_draws_per_second": round((ok + refused) / wall, 1),
        "day2_box": box,
        "day2_issued": day2,
        "oversold_rows": oversold,
        "verified_draws": verified["draws"],
        "verify_ok": verified["ok"],
    }
