"""The pieces of the set-based accrual's SQL that must print exactly what the per-event path prints: the yuan
text of a note, the three roundings, and a moment's ISO text in the session's time zone."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from weixi.adapters import duck
from weixi.close import accrual_sql
from weixi.close.accrual_sql import _round, _yuan_text
from weixi.close.moment_text import fixed_offset, stamp
from weixi.ledger import bulk
from weixi.ledger.bulk import CEIL, FLOOR, HALF_UP, yuan_text
from weixi.ledger.bulk import _round as bulk_round
from weixi.ledger.events import Event
from weixi.plans.loader import load_plan_text


@pytest.fixture(scope="module")
def con():
    c = duck.connect()
    yield c
    c.close()


def test_the_yuan_text_is_the_bulk_paths(con):
    fens = [0, 1, 5, 9, 10, 50, 99, 100, 105, 110, 12850, 12805, 5900, 10**14 + 7, 10**15 - 1]
    fens += random.Random(3).sample(range(0, 10**9), 200)
    got = con.execute(f"SELECT f, {_yuan_text('f')} FROM unnest(?::BIGINT[]) t(f)", [fens]).fetchall()
    assert {f: text for f, text in got} == {f: yuan_text(f) for f in fens}


@pytest.mark.parametrize("mode", [FLOOR, CEIL, HALF_UP])
def test_the_roundings_are_the_bulk_paths(con, mode):
    rng = random.Random(mode)
    cases = [(n, d) for n in (0, 1, 4, 5, 6, 9, 10, 11, 15, 25) for d in (1, 2, 3, 10)]
    cases += [(rng.randrange(0, 10**18), rng.randrange(1, 10**9)) for _ in range(200)]
    for den in {d for _, d in cases}:
        nums = [n for n, d in cases if d == den]
        got = con.execute(
            f"SELECT n, CAST({_round('CAST(n AS HUGEINT)', den, mode)} AS VARCHAR) "
            f"FROM unnest(?::VARCHAR[]) t(s), LATERAL (SELECT CAST(s AS HUGEINT) AS n)",
            [[str(n) for n in nums]],
        ).fetchall()
        assert {int(n): int(v) for n, v in got} == {n: bulk_round(n, den, mode) for n in nums}


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/St_Johns", "America/New_York"])
def test_a_moment_prints_as_python_prints_it(con, zone):
    con.execute(f"SET TimeZone = '{zone}'")
    moments = [
        "2026-10-03 04:12:33+00",
        "2026-10-03 04:12:33.5+00",
        "2026-10-31 16:00:00.000001+00",
        "2026-03-08 06:30:00+00",
        "2026-11-01 03:30:59.999999+00",
    ]
    for m in moments:
        text = con.execute(f"SELECT {stamp('t')} FROM (SELECT TIMESTAMPTZ '{m}' AS t)").fetchone()[0]
        arrow = con.execute(f"SELECT TIMESTAMPTZ '{m}' AS t").to_arrow_table().to_pydict()["t"][0]  # as the batches
        assert text == arrow.isoformat(), (zone, m)
    con.execute("SET TimeZone = 'UTC'")


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/St_Johns", "America/New_York", "Asia/Kolkata"])
def test_a_moment_in_a_fixed_offset_prints_as_with_the_zone_lookup(con, zone):
    """The close's recharges' text without a zone lookup (the zone's offset fixed over the month's moments) is the
    text with it: for random moments of 2026, each range's offset found by DuckDB's zone rules, or none across a
    change of offset (New York's and St John's daylight saving time)."""
    con.execute(f"SET TimeZone = '{zone}'")
    rng = random.Random(zone)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    moments = [
        start + timedelta(seconds=rng.randrange(365 * 86400), microseconds=rng.choice([0, 0, 1, 500000, 999999]))
        for _ in range(80)
    ]
    changes = 0
    for lo in moments:
        hi = lo + timedelta(days=rng.choice([0, 3, 31]))
        offset = fixed_offset(con, *(round((t - EPOCH).total_seconds() * 1e6) for t in (lo, hi)))
        utc_offsets = {t.astimezone(ZoneInfo(zone)).utcoffset() for t in (lo, hi)}
        if len(utc_offsets) > 1:  # the range holds a change: no fixed offset
            assert offset is None
            changes += 1
            continue
        assert offset == next(iter(utc_offsets)).total_seconds(), (zone, lo, hi)
        for m in (lo, hi):
            fast, looked_up = con.execute(
                f"SELECT {stamp('t', offset)}, {stamp('t')} FROM (SELECT CAST(? AS TIMESTAMPTZ) AS t)",
                [m.strftime("%Y-%m-%d %H:%M:%S.%f+00")],
            ).fetchone()
            assert fast == looked_up == m.astimezone(ZoneInfo(zone)).isoformat(), (zone, m)
    assert changes > 0 if zone.startswith("America") else changes == 0
    assert fixed_offset(con, None, None) is None
    con.execute("SET TimeZone = 'UTC'")


FINE_PLAN = """\
plan: fine
name: fine rates
expiry: {months_after: 12}
tiers:
  - {id: standard, name: S, rank: 0}
  - {id: plat, name: P, rank: 1, multiplier: 2.000000001}
earning:
  - {id: coarse, type: spend, points: 1, per_yuan: 10}
  - {id: fine, type: spend, points: 1.000000001, per_yuan: 1, rounding: half_up}
  - {id: blocks, type: recharge, points: 7, per_full_yuan: 1000.000000001}
  - {id: tier-bonus, type: tier_multiplier}
"""


def test_amounts_up_to_the_bulk_limit_give_the_bulk_paths_points_and_notes_at_any_rate():
    """BIGINT where a rule's rate keeps the arithmetic within it, HUGEINT where it does not (DuckDB raises on an
    overflow): the largest amounts the set-based path takes, at coarse and very fine rates, with a tier extra."""
    plan, problems = load_plan_text(FINE_PLAN, "fine.yaml")
    assert plan is not None, problems
    c = bulk.compile_plan(plan)
    assert c.ok
    day = date(2026, 3, 4)
    fens = [0, 1, 99, 12_850, 10**12 + 7, bulk.MAX_FEN - 1]
    events = [
        Event(f"e{i}", f"m{i % 2}", etype, datetime(2026, 3, 4, 9, tzinfo=timezone.utc), day, fen, None, None, attrs)
        for i, (fen, etype, attrs) in enumerate(
            (fen, etype, attrs) for fen in fens for etype in ("bill", "recharge") for attrs in ({}, {"tier": "plat"})
        )
    ]
    expected = bulk._compute(c, plan, 3, events, set(), {}, {}, lambda d: d and d.isoformat(), datetime.isoformat)[
        2
    ]  # the journal rows, in posting order
    con = duck.connect()
    try:
        con.register(
            "acc_src_in",
            pa.table(
                {
                    "seq": [i + 1 for i in range(len(events))],
                    "type": [e.type for e in events],
                    "event_id": [e.event_id for e in events],
                    "member_id": [e.member_id for e in events],
                    "day": [day] * len(events),
                    "moment": pa.array([None] * len(events), pa.timestamp("us", tz="UTC")),
                    "amount_fen": [e.amount_fen for e in events],
                    "service_type": pa.array([None] * len(events), pa.string()),
                    "occurred_text": [e.occurred_at.isoformat() for e in events],
                    "attrs_text": pa.array([None] * len(events), pa.string()),
                    "tier": [e.attrs.get("tier") for e in events],
                }
            ),
        )
        con.execute("CREATE TEMP TABLE acc_src AS SELECT * FROM acc_src_in")
        con.register(
            "acc_days_in",
            pa.table(dict(zip(accrual_sql.day_columns(c), map(list, zip(*accrual_sql.day_rows(c, plan, [day])))))),
        )
        con.execute("CREATE TEMP TABLE acc_days AS SELECT * FROM acc_days_in")
        con.execute("CREATE TEMP TABLE acc_seen (event_id VARCHAR)")
        con.execute("CREATE TEMP TABLE acc_rejected (event_id VARCHAR, reason VARCHAR)")
        con.execute("CREATE TEMP TABLE acc_stored (member_id VARCHAR, tier VARCHAR, debt BIGINT)")
        st = accrual_sql.statements(c, 3, posted=True)
        for sql in (st.new, st.base, st.tiers, st.journal):
            con.execute(sql)
        got = con.execute(
            "SELECT * EXCLUDE (seq, o_grp, o_j, o_k) FROM acc_journal ORDER BY seq, o_grp, o_j, o_k"
        ).fetchall()
    finally:
        con.close()
    assert "HUGEINT" in st.base and "BIGINT" in st.base  # both kinds of rule are exercised
    assert got == expected
    assert {r[7] for r in got} == {"coarse", "fine", "blocks", "tier-bonus"}
