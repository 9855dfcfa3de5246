"""Redemptions from 8 concurrent processes, hot members included: transactions per second and zero overspend."""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from benchmarks.common import fresh_db
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.ledger import redemption
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

PLAN = """\
plan: bench
name: bench
expiry: {months_after: 12}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 1}
rewards:
  - {id: credit, type: bill_credit, name: 话费, cost: 100, credit_yuan: 1}
  - {id: gift, type: gift, name: 礼品, cost: 100, stock: 500}
"""
TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 6, 1, 12, tzinfo=TZ)


def _worker(url: str, seed: int, n: int, members: int, hot: int, start_at: float, out) -> None:
    engine = make_engine(url)
    rng = random.Random(seed)
    ok = refused = 0
    while time.time() < start_at:
        time.sleep(0.001)
    begin = time.perf_counter()
    for _ in range(n):
        member = f"H{rng.randrange(hot)}" if rng.random() < 0.3 else f"M{rng.randrange(members):06d}"
        reward = "gift" if rng.random() < 0.2 else "credit"
        try:
            redemption.redeem(engine, member, reward, at=AT)
            ok += 1
        except redemption.RedemptionError:
            refused += 1
    out.put((ok, refused, time.perf_counter() - begin))
    engine.dispose()


def run(workdir: Path, processes: int = 8, per_process: int = 400, members: int = 20_000, hot: int = 5) -> dict:
    engine = fresh_db(workdir, "redeem")
    plan = workdir / "bench-plan.yaml"
    plan.write_text(PLAN, encoding="utf-8")
    apply_plan(engine, plan)
    day = datetime(2026, 1, 1, 10, tzinfo=TZ)
    events = [Event(f"b{m}", f"M{m:06d}", "bill", day, day.date(), amount_fen=30_000) for m in range(members)]
    events += [
        Event(f"h{h}", f"H{h}", "bill", day, day.date(), amount_fen=20_000) for h in range(hot)
    ]  # 200 pts: 2 redemptions
    post_events(engine, events)
    engine.dispose()
    url = str(workdir / "redeem.db")
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 1.0
    procs = [
        ctx.Process(target=_worker, args=(url, i, per_process, members, hot, start_at, out)) for i in range(processes)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    ok = sum(r[0] for r in results)
    refused = sum(r[1] for r in results)
    wall = max(r[2] for r in results)
    engine = make_engine(url)
    mismatches, _ = verify(engine)
    with engine.connect() as conn:
        negative = execute(conn, "SELECT count(*) FROM members WHERE balance < 0")[0][0]
        hot_spent = execute(conn, "SELECT coalesce(sum(points), 0) FROM redemptions WHERE member_id LIKE 'H%'")[0][0]
        issued = execute(conn, "SELECT issued FROM rewards WHERE reward_id = 'gift'")[0][0]
    engine.dispose()
    return {
        "processes": processes,
        "transactions": ok + refused,
        "succeeded": ok,
        "refused": refused,
        "seconds": round(wall, 3),
        "tx_per_second": round((ok + refused) / wall, 1),
        "hot_members": hot,
        "hot_points_spent": int(hot_spent),
        "hot_points_available": 200 * hot,
        "gift_issued": int(issued),
        "gift_stock": 500,
        "negative_balances": int(negative),
        "verify_mismatches": len(mismatches),
    }
