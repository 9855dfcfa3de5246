"""The close stores the tier decisions and the members' window totals once (``keeper``) and gets the same rows as
when every query computes them again; ``drop()`` frees them."""

from __future__ import annotations

from datetime import date

import ibis
import pyarrow as pa
import pytest

from weixi.close.run import keeper
from weixi.segments import evaluate_tiers, segment, window_totals

from ..segments.helpers import h, history, members, plan

pytestmark = pytest.mark.filterwarnings("ignore:.*(copy keyword|infer_string).*")

BODY = """\
    tiers:
      - {id: standard, name: 普通会员, rank: 0}
      - {id: silver, name: 银牌会员, rank: 1, qualify: 100}
    tier_policy: {measure: points_earned, window_months: 3, upgrade: immediate, review_months: [12],
                  grace_months: 1, notice_days: 30}
    segments:
      value_pyramid: {window_months: 12, cuts: {A: "0.5", B: "0.8", C: "0.95"}}
      activity: {window_months: 3, active: {max_days_since: 30, min_touches: 3}, normal: {max_days_since: 90}}
      rfm: {window_months: 12, bins: 5}
      key_accounts:
        window_months: 12
        levels:
          - {id: gold, name: 黄金, min_spend_yuan: 100, min_active_months: 2}
          - {id: bronze, name: 青铜潜力}
    """
PLAN = plan(BODY)
POLICY_TEXT = BODY[BODY.index("    tier_policy:") : BODY.index("    segments:")]
PEOPLE = members("a", "b", "c", "d", ("e", date(2026, 3, 2)), ("gone", date(2015, 1, 1), date(2026, 1, 20)))
HISTORY = history(
    h("a", "2026-01", spend_fen=9_000, touches=2, points_earned=90, last_active_on=date(2026, 1, 30)),
    h("a", "2026-03", spend_fen=2_000, touches=0, points_earned=20),  # a month without a touch is not active
    h("b", "2026-02", spend_fen=20_000, touches=5, points_earned=200, last_active_on=date(2026, 3, 1)),
    h("b", "2026-03", spend_fen=1_000, touches=1, points_earned=10, last_active_on=date(2026, 3, 20)),
    h("c", "2025-02", spend_fen=500_000, touches=9, points_earned=999),  # outside every window
    h("e", "2026-03", spend_fen=3_000, touches=4, points_earned=30, last_active_on=date(2026, 3, 31)),
    h("gone", "2026-01", spend_fen=99_000, touches=3, points_earned=990),
)


def _rows(con, expr) -> list[dict]:
    return sorted(con.to_pyarrow(expr).to_pylist(), key=lambda r: tuple(str(v) for v in r.values()))


def test_kept_tables_give_the_same_rows_and_are_dropped():
    con = ibis.duckdb.connect()
    people, rows = con.create_table("people", PEOPLE), con.create_table("hist", HISTORY)
    lazy_state, lazy_events = evaluate_tiers(people, rows, None, PLAN, "2026-03")
    lazy_segments = segment(people, rows, PLAN, "2026-03")
    keep = keeper(con)
    state, events = evaluate_tiers(people, rows, None, PLAN, "2026-03", keep)
    segments = segment(people, rows, PLAN, "2026-03", keep)
    assert {"close_tier_decisions", "close_segment_base"} <= set(con.list_tables())
    assert _rows(con, state) == _rows(con, lazy_state)
    assert _rows(con, events) == _rows(con, lazy_events)
    got = _rows(con, segments)
    assert got == _rows(con, lazy_segments)
    by_member = {r["member_id"]: r for r in got}
    assert {m: (r["active_months"], r["key_account"]) for m, r in by_member.items()} == {
        "a": (1, "bronze"),
        "b": (2, "gold"),
        "c": (0, "bronze"),
        "d": (0, "bronze"),
        "e": (1, "bronze"),
    }
    # 110 and 210 points over January to March reach silver's 100; 30 do not
    assert [(r["member_id"], r["event"]) for r in _rows(con, events)] == [("a", "upgraded"), ("b", "upgraded")]
    keep.drop()
    assert not {"close_tier_decisions", "close_segment_base"} & set(con.list_tables())


@pytest.mark.parametrize(
    "policy", ["measure: points_earned, window_months: 3,", "measure: spend_yuan, window_months: 2,", None]
)
def test_the_window_totals_computed_once_give_the_tiers_and_segments_each_job_computes_alone(policy):
    """The close computes the members in service with every window total once (``window_totals``) and hands the
    table to the tier job and the segments: the rows are those each job gives when it reads the members and the
    history itself, the tier measure over its own window (points or spend), the segments' sums over theirs."""
    if policy is None:  # no tier policy: no measure, everyone keeps their tier
        tiered = plan(BODY.replace(POLICY_TEXT, "").replace(", qualify: 100", ""))
    else:
        tiered = plan(BODY.replace("measure: points_earned, window_months: 3,", policy))
    assert (tiered.tier_policy is None) == (policy is None)
    con = ibis.duckdb.connect()
    people, rows = con.create_table("people", PEOPLE), con.create_table("hist", HISTORY)
    previous = con.create_table(
        "prev",
        pa.table(
            {"member_id": ["b"], "tier": ["silver"], "tier_since": [date(2025, 12, 31)], "grace_until": [None]},
            schema=pa.schema(
                [
                    ("member_id", pa.string()),
                    ("tier", pa.string()),
                    ("tier_since", pa.date32()),
                    ("grace_until", pa.date32()),
                ]
            ),
        ),
    )
    state, events = evaluate_tiers(people, rows, previous, tiered, "2026-03")
    segments = segment(people, rows, tiered, "2026-03")
    totals = con.create_table("close_window", window_totals(people, rows, tiered, "2026-03"))
    state2, events2 = evaluate_tiers(people, rows, previous, tiered, "2026-03", totals=totals)
    assert _rows(con, state2) == _rows(con, state)
    assert _rows(con, events2) == _rows(con, events)
    assert _rows(con, segment(people, rows, tiered, "2026-03", totals=totals)) == _rows(con, segments)
    measures = {r["member_id"]: r["measure"] for r in _rows(con, state2)}
    if policy is None:
        assert set(measures.values()) == {None}
    elif "spend" in policy:  # February and March: b 20,000 + 1,000 fen, a 2,000, e 3,000 (c's is a year before)
        assert measures == {"a": 2_000, "b": 21_000, "c": 0, "d": 0, "e": 3_000}
    else:  # January to March: a 90 + 20, b 200 + 10, e 30
        assert measures == {"a": 110, "b": 210, "c": 0, "d": 0, "e": 30}
