"""The pieces of the set-based accrual's SQL that must print exactly what the per-event path prints: the yuan
text of a note, the three roundings, and a moment's ISO text in the session's time zone."""

from __future__ import annotations

import random

import pytest

from weixi.adapters import duck
from weixi.close.accrual_sql import _round, _stamp, _yuan_text
from weixi.ledger.bulk import CEIL, FLOOR, HALF_UP, yuan_text
from weixi.ledger.bulk import _round as bulk_round


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


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "America/St_Johns"])
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
        text = con.execute(f"SELECT {_stamp('t')} FROM (SELECT TIMESTAMPTZ '{m}' AS t)").fetchone()[0]
        arrow = con.execute(f"SELECT TIMESTAMPTZ '{m}' AS t").to_arrow_table().to_pydict()["t"][0]  # as the batches
        assert text == arrow.isoformat(), (zone, m)
    con.execute("SET TimeZone = 'UTC'")
