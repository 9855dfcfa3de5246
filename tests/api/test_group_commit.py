"""Group commit: requests posted together keep one outcome each, in order; the writer in its own process too."""

from __future__ import annotations

from concurrent.futures import wait

import pytest

from tests.api.conftest import PLAN
from weixi.adapters.db import make_engine
from weixi.adapters.schema import upgrade
from weixi.adapters.writer import Committer, redeem_event
from weixi.adapters.writer_process import ProcessCommitter
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan


@pytest.fixture
def ledger(tmp_path):
    url = str(tmp_path / "gc.db")
    engine = make_engine(url)
    upgrade(engine)
    apply_plan(engine, PLAN)
    yield url, engine
    engine.dispose()


def bill(committer, event_id: str, member: str, yuan: str, day: str = "2026-11-01"):
    from weixi.ledger.events import parse_event

    return parse_event(
        {"event_id": event_id, "member_id": member, "type": "bill", "occurred_at": day, "amount": yuan},
        committer.zone(),
    )


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_waiting_requests_share_a_batch_and_keep_their_own_outcomes(ledger, kind):
    url, engine = ledger
    committer = Committer(engine) if kind == "thread" else ProcessCommitter(engine, url)
    assert committer.post([bill(committer, "seed", "M1", "250.00", "2026-10-01")])[0].status == "posted"  # 25 points
    futures = [committer.submit([redeem_event(committer, "M1", "bill-credit", 1, "only-one")]) for _ in range(3)]
    futures.append(
        committer.submit([bill(committer, "seed", "M1", "250.00", "2026-10-01"), bill(committer, "b2", "M2", "10.00")])
    )
    futures.append(committer.submit([redeem_event(committer, "M2", "yacht")]))
    wait(futures, timeout=120)
    outcomes = [f.result() for f in futures]
    # 25 points cannot pay 100: the first redeem is refused; the same request id twice more is refused again
    assert [o[0].status for o in outcomes[:3]] == ["rejected"] * 3
    assert "not enough points" in outcomes[0][0].reason
    assert [o.status for o in outcomes[3]] == ["duplicate", "posted"]
    assert outcomes[4][0].status == "rejected" and "unknown reward" in outcomes[4][0].reason
    more = committer.post([bill(committer, "b3", "M1", "1000.00")])
    assert more[0].status == "posted"
    [red] = committer.post([redeem_event(committer, "M1", "bill-credit", 1, "r-2")])
    assert red.status == "posted" and red.redemption["points"] == 100
    assert red.redemption["details"]["lots"] == [["seed", 25], ["b3", 75]]  # earliest expiry first
    assert verify(engine)[0] == []
    stats = committer.stats()
    assert stats["events"] >= 8 and stats["batches"] <= stats["events"]


def test_a_dead_writer_process_fails_its_requests_and_is_started_again(ledger):
    url, engine = ledger
    committer = ProcessCommitter(engine, url)
    committer.start()
    first = committer._process
    first.kill()
    first.join(30)
    posted = committer.post([bill(committer, "after", "M3", "100.00")])
    assert posted[0].status == "posted" and committer._process is not first
    assert post_events(engine, []).posted == 0
