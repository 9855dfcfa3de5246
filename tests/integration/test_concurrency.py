"""32 processes redeem at once the last unit of a reward and the last points of a member:
exactly as many succeed as the stock and the balance allow, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp

import pytest

from tests.conftest import BACKENDS
from tests.integration.helpers import event
from tests.integration.plans import telecom
from weixi.adapters.db import make_engine
from weixi.ledger import redemption
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

PROCESSES = 32


def _worker(url, member, reward, barrier, results):
    engine = make_engine(url)
    at = event("x", member, "redeem", "2026-03-01").occurred_at
    barrier.wait()
    try:
        redemption.redeem(engine, member, reward, at=at)
        results.put(("ok", member, reward))
    except redemption.RedemptionError as exc:
        results.put(("refused", member, str(exc)))
    except Exception as exc:  # anything else is a bug the test must show
        results.put(("error", member, repr(exc)))
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_racing_redemptions_never_overspend_stock_or_points(db_url, tmp_path):
    engine = make_engine(db_url)
    apply_plan(engine, telecom(tmp_path, stock=1))  # gift: 1 unit left, 50 points each
    # 16 members with 50 points each race for the one gift; "hot" has 300 points and 16 requests of 100.
    post_events(
        engine,
        [event(f"b-{i}", f"m{i}", "bill", "2026-01-01", 50000) for i in range(16)]
        + [event("b-hot", "hot", "bill", "2026-01-01", 300000)],
    )
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    jobs = [(f"m{i}", "gift") for i in range(16)] + [("hot", "bill-credit")] * 16
    procs = [ctx.Process(target=_worker, args=(db_url, m, r, barrier, results)) for m, r in jobs]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert [o for o in outcomes if o[0] == "error"] == []
    gifts = [o for o in outcomes if o[0] == "ok" and o[2] == "gift"]
    credits = [o for o in outcomes if o[0] == "ok" and o[2] == "bill-credit"]
    assert len(gifts) == 1  # stock 1
    assert len(credits) == 3  # 300 points / 100
    refused = [o[2] for o in outcomes if o[0] == "refused"]
    assert sum("stock: gift has 0 left" in r for r in refused) == 15
    assert sum("not enough points" in r for r in refused) == 13
    assert verify(engine)[0] == []
    engine.dispose()
