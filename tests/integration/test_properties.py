"""Ledger invariants for any sequence of earn, redeem, refund, adjust and expire (hypothesis).

- balances never go negative unless the plan's reversal policy is ``negative``;
- every lot is the sum of its journal entries, and the lots add up to the balance (``verify``);
- replaying the same events changes nothing;
- where duplicates arrive in the stream does not matter.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import memory_ledger
from tests.integration.helpers import event
from tests.integration.plans import telecom
from weixi.adapters.sql import execute
from weixi.ledger.expire import expire
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

MEMBERS = ("a", "b", "c")
START = date(2025, 1, 1)


@st.composite
def histories(draw):
    """A list of steps: ("event", Event) or ("expire", day), days non-decreasing."""
    steps, earners, day = [], [], START
    for i in range(draw(st.integers(1, 30))):
        day = day + timedelta(days=draw(st.integers(0, 60)))
        member = draw(st.sampled_from(MEMBERS))
        kind = draw(st.sampled_from(["bill", "bill", "recharge", "redeem", "refund", "adjust", "expire", "checkin"]))
        if kind == "bill":
            steps.append(("event", event(f"e{i}", member, "bill", day, draw(st.integers(0, 300_000)))))
            earners.append((f"e{i}", member))
        elif kind == "recharge":
            steps.append(
                ("event", event(f"e{i}", member, "recharge", day, draw(st.sampled_from([5000, 10000, 15000, 30000]))))
            )
            earners.append((f"e{i}", member))
        elif kind == "checkin":
            steps.append(("event", event(f"e{i}", member, "checkin", day)))
        elif kind == "redeem":
            reward = draw(st.sampled_from(["coupon", "gift", "bill-credit"]))
            steps.append(("event", event(f"e{i}", member, "redeem", day, ref=reward, qty=draw(st.integers(1, 3)))))
        elif kind == "refund" and earners:
            src, owner = draw(st.sampled_from(earners))
            steps.append(("event", event(f"e{i}", owner, "refund", day, ref=src)))
        elif kind == "adjust":
            steps.append(
                ("event", event(f"e{i}", member, "adjust", day, points=draw(st.sampled_from([-40, -5, 5, 30, 200]))))
            )
        elif kind == "expire":
            steps.append(("expire", day))
    return steps


def run(steps, policy, tmp_path, name):
    engine = memory_ledger()  # make_engine(":memory:") and schema.upgrade, from the migrated template
    apply_plan(engine, telecom(tmp_path, policy=policy, stock=4, name=name + ".yaml"))
    posted = 0
    for kind, item in steps:
        if kind == "event":
            posted += post_events(engine, [item]).posted
        else:
            expire(engine, item)
    return engine, posted


def snapshot(engine):
    with engine.connect() as conn:
        return (
            execute(conn, "SELECT member_id, balance, debt FROM members ORDER BY member_id"),
            execute(conn, "SELECT lot_id, remaining FROM lots ORDER BY lot_id"),
            execute(conn, "SELECT count(*), coalesce(sum(points), 0) FROM journal"),
            execute(conn, "SELECT reward_id, issued FROM rewards ORDER BY reward_id"),
        )


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(steps=histories(), policy=st.sampled_from(["clawback", "debt", "negative"]))
def test_invariants_hold_and_replay_changes_nothing(steps, policy, tmp_path):
    engine, _ = run(steps, policy, tmp_path, "p")
    mismatches, _ = verify(engine)
    assert mismatches == []
    members, lots, _, stock = snapshot(engine)
    if policy != "negative":
        assert all(balance >= 0 for _, balance, _ in members)
        assert all(remaining >= 0 for _, remaining in lots)
    assert all(issued <= 4 for reward, issued in stock if reward == "gift")
    before = snapshot(engine)
    replay = post_events(engine, [item for kind, item in steps if kind == "event"])
    for kind, item in steps:
        if kind == "expire":
            expire(engine, item)
    assert replay.posted == 0
    assert snapshot(engine) == before
    engine.dispose()


@SETTINGS
@given(steps=histories(), data=st.data())
def test_arrival_order_of_duplicates_does_not_matter(steps, data, tmp_path):
    clean, _ = run(steps, "clawback", tmp_path, "clean")
    noisy = list(steps)
    events = [i for i, (kind, _) in enumerate(steps) if kind == "event"]
    for _ in range(data.draw(st.integers(1, 5))) if events else ():
        original = data.draw(st.sampled_from(events))
        position = data.draw(st.integers(original + 1, len(noisy)))
        noisy.insert(position, steps[original])
    dirty, _ = run(noisy, "clawback", tmp_path, "noisy")
    assert snapshot(dirty) == snapshot(clean)
    clean.dispose()
    dirty.dispose()
