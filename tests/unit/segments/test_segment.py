"""segment(): star levels, value pyramid, activity grades, RFM and key accounts, computed by hand.

Seed 002_d08f4bdc0e8b9d5f: "A类--白金层顾客 … B类--黄金层顾客" (顾客金字塔), "将会员分为活跃会员、一般会员、沉默会员等级",
"超级VIP客户(钻石级) … 重要客户(黄金级) … 普通客户(白银级) … 潜在客户(青铜级)", "对5-7星级客户".
"""

from __future__ import annotations

from datetime import date

import pytest

from weixi.segments import SEGMENT_SCHEMA, history_months, segment

from .helpers import h, history, members, plan

pytestmark = pytest.mark.filterwarnings("ignore:.*(copy keyword|infer_string).*")  # pyspark on pandas 3

STARS = plan("""\
    segments:
      star_levels:
        arpu_months: 3
        tenure_years: [0, 1, 3, 5]
        table:
          - {arpu_yuan: 0, stars: [1, 1, 2, 2]}
          - {arpu_yuan: 50, stars: [2, 3, 3, 4]}
          - {arpu_yuan: 100, stars: [3, 4, 5, 5]}
          - {arpu_yuan: 200, stars: [4, 5, 6, 7]}
          - {arpu_yuan: 400, stars: [5, 6, 7, 7]}
    """)


def test_star_levels_at_the_table_boundaries(engine):
    # March 2026 closes on 2026-03-31; the ARPU window is January to March.
    people = members(
        ("s1", date(2025, 3, 31)),  # 1 year exactly on the month end
        ("s2", date(2025, 4, 1)),  # one day short of a year
        ("s3", date(2021, 3, 15)),
        ("s4", date(2023, 3, 31)),
        ("s5", date(2026, 3, 1)),  # 1 month in service: ARPU is March alone
        ("s6", date(2026, 2, 15)),  # 2 months in service
        ("s7", date(2024, 1, 1)),
        ("s8", date(2016, 2, 29)),
    )
    rows = history(
        h("s1", "2025-12", spend_fen=99_999),  # before the window
        h("s1", "2026-01", spend_fen=5_000),
        h("s1", "2026-02", spend_fen=5_000),
        h("s1", "2026-03", spend_fen=5_000),
        h("s2", "2026-03", spend_fen=14_999),
        h("s3", "2026-01", spend_fen=120_000),
        h("s4", "2026-02", spend_fen=59_997),
        h("s5", "2026-03", spend_fen=10_000),
        h("s6", "2026-02", spend_fen=5_000),
        h("s6", "2026-03", spend_fen=5_000),
        h("s7", "2026-03", spend_fen=-3_000),  # refunds over bills
    )
    got = engine.by_member(segment(people, rows, STARS, "2026-03"))
    assert {m: (r["tenure_years"], r["arpu_fen"], r["star_level"]) for m, r in got.items()} == {
        "s1": (1, 5_000, 3),  # 50 yuan exactly, 1 year exactly: row 50, column 1
        "s2": (0, 4_999, 1),  # 49.99 yuan, 0 years
        "s3": (5, 40_000, 7),  # 400 yuan, 5 years
        "s4": (3, 19_999, 5),  # 199.99 yuan: row 100, column 3
        "s5": (0, 10_000, 3),
        "s6": (0, 5_000, 2),
        "s7": (2, -1_000, 1),  # below the first row counts as the first row
        "s8": (10, 0, 2),  # born on 29 February: ten full years by 2026-03-31
    }


PYRAMID = plan("""\
    segments:
      value_pyramid: {window_months: 12, cuts: {A: "0.5", B: "0.8", C: "0.95"}}
    """)


def test_value_pyramid_by_share_of_contribution(engine):
    yuan = {
        "m01": 300,
        "m02": 200,
        "m03": 150,
        "m04": 100,
        "m05": 100,
        "m06": 50,
        "m07": 40,
        "m08": 30,
        "m09": 20,
        "m10": 10,
    }  # 1000 yuan in all
    people = members(*yuan, "m11", "m12", "m13")
    rows = history(
        *(h(m, "2026-02", spend_fen=v * 100) for m, v in yuan.items()),
        h("m12", "2025-02", spend_fen=1_000_000),  # 13 months back: outside the window
        h("m13", "2026-01", spend_fen=-500),  # a net refund counts as nothing
    )
    got = engine.by_member(segment(people, rows, PYRAMID, "2026-03"))
    # Contributed strictly more before the member: m01 0, m02 300 (< 500: A); m03 500 (= 50%, not below: B);
    # m04 and m05 tie, 650 before both (B); m06 850, m07 900, m08 940 (< 950: C); m09 970, m10 990 (D).
    assert {m: r["value_grade"] for m, r in got.items()} == {
        "m01": "A",
        "m02": "A",
        "m03": "B",
        "m04": "B",
        "m05": "B",
        "m06": "C",
        "m07": "C",
        "m08": "C",
        "m09": "D",
        "m10": "D",
        "m11": "D",
        "m12": "D",
        "m13": "D",
    }
    assert got["m01"]["contribution_fen"] == 30_000 and got["m13"]["contribution_fen"] == -500
    assert got["m12"]["contribution_fen"] == 0


ACTIVITY = plan("""\
    segments:
      activity:
        window_months: 3
        active: {max_days_since: 30, min_touches: 3}
        normal: {max_days_since: 90}
      rfm: {window_months: 12, bins: 5}
    """)


def test_activity_grades_and_rfm_with_ties(engine):
    people = members("a1", "a2", "a3", "a4", "a5", "a6")
    rows = history(
        h("a1", "2026-03", touches=3, last_active_on=date(2026, 3, 1), spend_fen=10_000),  # 30 days, 3 touches
        h("a2", "2026-02", touches=5, last_active_on=date(2026, 2, 28), spend_fen=10_000),  # 31 days
        h("a3", "2026-03", touches=2, last_active_on=date(2026, 3, 30), spend_fen=5_000),  # recent, too few
        h("a4", "2025-12", touches=3, last_active_on=date(2025, 12, 31), spend_fen=20_000),  # 90 days
        h("a5", "2025-12", touches=2, last_active_on=date(2025, 12, 30)),  # 91 days
    )  # a6 was never active
    got = engine.by_member(segment(people, rows, ACTIVITY, "2026-03"))
    assert {m: (r["days_since_active"], r["touches"], r["activity_grade"]) for m, r in got.items()} == {
        "a1": (30, 3, "active"),
        "a2": (31, 5, "normal"),
        "a3": (1, 2, "normal"),
        "a4": (90, 0, "normal"),
        "a5": (91, 0, "silent"),
        "a6": (None, 0, "silent"),
    }
    # score = 1 + floor(members strictly worse x 5 / 6); equal values share a score.
    # R worst first: a6 (never), a5, a4, a2, a1, a3 -> 1 1 2 3 4 5
    # F: a6 0 | a3, a5 2 | a1, a4 3 | a2 5 -> 1 | 1 1 | 3 3 | 5
    # M: a5, a6 0 | a3 50 | a1, a2 100 | a4 200 yuan -> 1 1 | 2 | 3 3 | 5
    assert {m: r["rfm"] for m, r in got.items()} == {
        "a1": "433",
        "a2": "353",
        "a3": "512",
        "a4": "235",
        "a5": "111",
        "a6": "111",
    }
    assert (got["a1"]["r_score"], got["a1"]["f_score"], got["a1"]["m_score"]) == (4, 3, 3)


KEY_ACCOUNTS = plan("""\
    segments:
      key_accounts:
        window_months: 12
        levels:
          - {id: diamond, name: 钻石, min_spend_yuan: 5000}
          - {id: gold, name: 黄金, min_spend_yuan: 2000, min_active_months: 10}
          - {id: silver, name: 白银, min_spend_yuan: 500, min_tenure_years: 1}
          - {id: bronze, name: 青铜潜力}
    """)


def test_key_accounts_first_match_wins(engine):
    year = [f"2025-{m:02d}" for m in range(4, 13)] + ["2026-01", "2026-02", "2026-03"]  # the 12-month window
    people = members("k1", "k2", "k3", "k4", ("k5", date(2025, 6, 1)), "k6", "k7")
    rows = history(
        h("k1", "2026-03", spend_fen=500_000, touches=1),  # 5000 yuan in one month: diamond, not gold
        *(h("k2", m, spend_fen=20_000, touches=1) for m in year[:10]),  # 2000 yuan, 10 active months
        *(h("k3", m, spend_fen=20_000 if m != year[0] else 40_000, touches=1) for m in year[:9]),  # 9 months
        *(h("k4", m, spend_fen=41_667 if m != year[-1] else 41_662, touches=1) for m in year),  # 4999.99 yuan
        h("k5", "2026-03", spend_fen=60_000, touches=4),  # 600 yuan but not a year in service
        h("k7", "2025-03", spend_fen=1_000_000, touches=9),  # 13 months back
    )
    got = engine.by_member(segment(people, rows, KEY_ACCOUNTS, "2026-03"))
    assert {m: (r["key_spend_fen"], r["active_months"], r["key_account"]) for m, r in got.items()} == {
        "k1": (500_000, 1, "diamond"),
        "k2": (200_000, 10, "gold"),
        "k3": (200_000, 9, "silver"),
        "k4": (499_999, 12, "gold"),
        "k5": (60_000, 1, "bronze"),
        "k6": (0, 0, "bronze"),
        "k7": (0, 0, "bronze"),
    }


def test_only_members_in_service_at_the_month_end_and_no_sections_no_values(engine):
    bare = plan("tiers: []\n")
    people = members(
        ("in", date(2020, 1, 1)),
        ("leaves-on-the-last-day", date(2020, 1, 1), date(2026, 3, 31)),
        ("left", date(2020, 1, 1), date(2026, 3, 30)),
        ("joins-on-the-last-day", date(2026, 3, 31)),
        ("joins-next-month", date(2026, 4, 1)),
    )
    rows = history(h("in", "2026-03", touches=1, last_active_on=date(2026, 3, 21)))
    expr = segment(people, rows, bare, "2026-03")
    assert expr.schema() == SEGMENT_SCHEMA
    got = engine.by_member(expr)
    assert sorted(got) == ["in", "joins-on-the-last-day", "leaves-on-the-last-day"]
    assert got["in"]["days_since_active"] == 10 and got["in"]["tenure_years"] == 6
    assert {k for k, v in got["in"].items() if v is None} == {
        "arpu_fen",
        "star_level",
        "contribution_fen",
        "value_grade",
        "touches",
        "activity_grade",
        "frequency",
        "monetary_fen",
        "r_score",
        "f_score",
        "m_score",
        "rfm",
        "key_spend_fen",
        "active_months",
        "key_account",
    }


def test_history_months_is_the_longest_window():
    assert history_months(plan("tiers: []\n")) == 1
    assert history_months(STARS) == 3 and history_months(ACTIVITY) == 12 and history_months(KEY_ACCOUNTS) == 12
