"""evaluate_tiers(): upgrades, reviews, grace, notices and tier history over consecutive closes.

Seed 002_d08f4bdc0e8b9d5f: "按消费金额分级根据不同的消费金额将会员划分为不同的等级,例如普通会员、银牌会员、金牌会员等级。"
Each close feeds its tier_state to the next one as ``previous``, as the monthly close does.
"""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
import pytest

from weixi.segments import TIER_EVENT_SCHEMA, TIER_STATE_SCHEMA, evaluate_tiers

from .helpers import h, history, members, plan

pytestmark = pytest.mark.filterwarnings("ignore:.*(copy keyword|infer_string).*")

TIERS = """\
    tiers:
      - {id: standard, name: 普通会员, rank: 0}
      - {id: silver, name: 银牌会员, rank: 1, qualify: %s}
      - {id: gold, name: 金牌会员, rank: 2, qualify: %s}
"""

# Points earned over 3 months; upgrades at once; December reviews; 2 months' grace; notice 30 days ahead.
IMMEDIATE = plan(
    TIERS % (100, 300)
    + """\
    tier_policy:
      measure: points_earned
      window_months: 3
      upgrade: immediate
      review_months: [12]
      grace_months: 2
      notice_days: 30
    """
)
CLOSES = ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
PEOPLE = members(
    "up",
    "dip",
    "fall",
    "back",
    "steady",
    ("new", date(2026, 1, 10)),
    ("gone", date(2015, 1, 1), date(2025, 11, 15)),
)
EARNED = history(
    h("up", "2025-10", points_earned=150),
    h("up", "2025-11", points_earned=200),
    h("dip", "2025-08", points_earned=400),
    h("fall", "2025-09", points_earned=400),
    h("fall", "2026-01", points_earned=120),
    h("back", "2025-08", points_earned=400),
    h("back", "2026-01", points_earned=300),
    h("new", "2026-01", points_earned=100),
    h("gone", "2025-10", points_earned=999),
    h("steady", "2025-12", spend_fen=10_000_000),  # spend does not count when the measure is points
)


def run_closes(engine, tier_plan, people, earned, closes, previous=None):
    """{month: (state rows by member, event rows)}, each close reading the state of the one before."""
    out = {}
    for month in closes:
        state_expr, events_expr = evaluate_tiers(people, earned, previous, tier_plan, month)
        assert state_expr.schema() == TIER_STATE_SCHEMA and events_expr.schema() == TIER_EVENT_SCHEMA
        state = engine.table(state_expr)
        out[month] = ({r["member_id"]: r for r in state.to_pylist()}, engine.rows(events_expr))
        previous = ibis.memtable(state)
    return out


@pytest.fixture(scope="module")
def closes(engine):
    return run_closes(engine, IMMEDIATE, PEOPLE, EARNED, CLOSES)


def tiers_of(closes, member_id):
    return [closes[m][0].get(member_id, {}).get("tier") for m in CLOSES]


def events_of(closes, member_id):
    """The member's tier history: (month, event, from, to, effective_on, measure)."""
    return [
        (e["month"], e["event"], e["from_tier"], e["to_tier"], e["effective_on"], e["measure"])
        for m in CLOSES
        for e in closes[m][1]
        if e["member_id"] == member_id
    ]


def test_immediate_upgrade_at_the_close_the_threshold_is_reached(closes):
    assert tiers_of(closes, "up")[:3] == ["silver", "gold", "gold"]
    assert events_of(closes, "up")[:2] == [
        ("2025-10", "upgraded", "standard", "silver", date(2025, 10, 31), 150),
        ("2025-11", "upgraded", "silver", "gold", date(2025, 11, 30), 350),
    ]
    assert closes["2025-11"][0]["up"]["tier_since"] == date(2025, 11, 30)


def test_downgrade_only_at_review_then_grace_notice_and_downgrade(closes):
    # 400 points in August: gold at the October close; below from November, but November is no review.
    assert tiers_of(closes, "dip") == ["gold", "gold", "gold", "gold", "standard", "standard", "standard"]
    grace = [closes[m][0]["dip"]["grace_until"] for m in CLOSES]
    assert grace == [None, None, date(2026, 2, 28), date(2026, 2, 28), None, None, None]
    assert events_of(closes, "dip") == [
        ("2025-10", "upgraded", "standard", "gold", date(2025, 10, 31), 400),
        # January 31 is 28 days before the downgrade on February 28: within the 30 days' notice
        ("2026-01", "will_downgrade", "gold", "standard", date(2026, 2, 28), 0),
        ("2026-02", "downgraded", "gold", "standard", date(2026, 2, 28), 0),
    ]
    assert closes["2026-02"][0]["dip"]["tier_since"] == date(2026, 2, 28)


def test_downgrade_goes_to_the_tier_qualified_at_the_end_of_grace(closes):
    # 400 in September (gold), nothing in Oct-Dec (grace at the December review), 120 in January: silver.
    assert tiers_of(closes, "fall") == ["gold", "gold", "gold", "gold", "silver", "silver", "silver"]
    assert [e[:4] for e in events_of(closes, "fall")] == [
        ("2025-10", "upgraded", "standard", "gold"),
        ("2026-01", "will_downgrade", "gold", "silver"),
        ("2026-02", "downgraded", "gold", "silver"),
    ]


def test_requalifying_during_grace_cancels_it(closes):
    assert tiers_of(closes, "back") == ["gold"] * 7  # below again in April, but April is no review
    assert [closes[m][0]["back"]["grace_until"] for m in CLOSES[2:4]] == [date(2026, 2, 28), None]
    assert [e[1] for e in events_of(closes, "back")] == ["upgraded"]
    assert closes["2026-04"][0]["back"]["tier_since"] == date(2025, 10, 31)


def test_new_members_start_in_the_lowest_tier_and_leavers_drop_out(closes):
    # 100 points in January: silver at once; in April (February-April) it qualifies for nothing, but April is
    # no review: silver is kept until the December review finds it below.
    assert tiers_of(closes, "new") == [None, None, None, "silver", "silver", "silver", "silver"]
    assert events_of(closes, "new") == [("2026-01", "upgraded", "standard", "silver", date(2026, 1, 31), 100)]
    assert closes["2026-04"][0]["new"]["qualified_tier"] == "standard"
    assert tiers_of(closes, "steady") == ["standard"] * 7 and events_of(closes, "steady") == []
    assert closes["2025-12"][0]["steady"]["tier_since"] == date(2015, 1, 1)
    assert tiers_of(closes, "gone") == ["gold", None, None, None, None, None, None]


# Spend in yuan over 12 months; upgrades only at the June and December reviews; no grace, no notice.
REVIEW = plan(
    TIERS % (100, 300)
    + """\
    tier_policy:
      measure: spend_yuan
      window_months: 12
      upgrade: review
      review_months: [6, 12]
      grace_months: 0
      notice_days: 0
    """
)


def test_review_upgrades_and_downgrades_without_grace(engine):
    people = members("rise", "sink", "hold")
    spent = history(h("rise", "2025-11", spend_fen=30_000), h("hold", "2025-06", spend_fen=10_000))
    previous = ibis.memtable(
        pa.table(
            {
                "member_id": ["sink", "hold"],
                "tier": ["gold", "silver"],
                "tier_since": [date(2025, 1, 31), date(2025, 6, 30)],
                "grace_until": pa.array([None, None], pa.date32()),
            }
        )
    )
    closes = run_closes(engine, REVIEW, people, spent, ["2025-11", "2025-12"], previous)
    november, december = closes["2025-11"], closes["2025-12"]
    assert {m: r["tier"] for m, r in november[0].items()} == {"rise": "standard", "sink": "gold", "hold": "silver"}
    assert november[1] == []  # qualifies for gold, is below gold: neither counts before a review
    assert november[0]["rise"]["measure"] == 30_000 and november[0]["rise"]["qualified_tier"] == "gold"
    assert {m: r["tier"] for m, r in december[0].items()} == {"rise": "gold", "sink": "standard", "hold": "silver"}
    assert [(e["member_id"], e["event"], e["from_tier"], e["to_tier"], e["effective_on"]) for e in december[1]] == [
        ("rise", "upgraded", "standard", "gold", date(2025, 12, 31)),
        ("sink", "downgraded", "gold", "standard", date(2025, 12, 31)),
    ]
    assert december[0]["hold"]["tier_since"] == date(2025, 6, 30)


def test_notice_at_the_review_that_starts_a_short_grace(engine):
    short = plan(
        TIERS % (100, 300)
        + """\
    tier_policy: {measure: points_earned, window_months: 12, grace_months: 1, notice_days: 45}
    """
    )
    previous = ibis.memtable(
        pa.table(
            {
                "member_id": ["idle"],
                "tier": ["gold"],
                "tier_since": [date(2025, 3, 31)],
                "grace_until": pa.array([None], pa.date32()),
            }
        )
    )
    closes = run_closes(
        engine,
        short,
        members("idle"),
        history(h("idle", "2025-03", points_earned=150)),
        ["2025-12", "2026-01"],
        previous,
    )
    december, january = closes["2025-12"], closes["2026-01"]
    assert december[0]["idle"]["grace_until"] == date(2026, 1, 31)
    assert [(e["event"], e["to_tier"], e["effective_on"]) for e in december[1]] == [
        ("will_downgrade", "silver", date(2026, 1, 31)),  # the downgrade is at the next close
    ]
    assert [(e["event"], e["to_tier"], e["measure"]) for e in january[1]] == [("downgraded", "silver", 150)]


def test_without_a_tier_policy_tiers_are_kept_and_nothing_happens(engine):
    fixed = plan(TIERS.replace(", qualify: %s", ""))
    previous = ibis.memtable(
        pa.table(
            {
                "member_id": ["kept", "renamed"],
                "tier": ["gold", "platinum"],
                "tier_since": [date(2025, 3, 31), date(2025, 3, 31)],
                "grace_until": pa.array([None, None], pa.date32()),
            }
        )
    )
    people = members("kept", "renamed", ("fresh", date(2026, 1, 5)))
    ((state, events),) = run_closes(engine, fixed, people, history(), ["2026-01"], previous).values()
    assert {m: (r["tier"], r["tier_since"], r["measure"]) for m, r in state.items()} == {
        "kept": ("gold", date(2025, 3, 31), None),
        "renamed": ("standard", date(2015, 1, 1), None),  # a tier the plan no longer has: the lowest
        "fresh": ("standard", date(2026, 1, 5), None),
    }
    assert events == []
