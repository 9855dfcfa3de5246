"""The month's bills and recharges are numbered in posting order (``accrual._source_sql``: by kind and bill day, then
moment and id), group by group: the numbers equal one window over every row, 1..n, whatever the order the rows
come in, bills without a day and recharges at the same moment included (the ids tell them apart)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.integration.lake_plan import lake_plan
from weixi.adapters import duck
from weixi.close import accrual, accrual_order, accrual_sql, early
from weixi.ledger import bulk
from weixi.plans.loader import load_plan_text


def test_numbered_per_group_as_one_window_over_every_row(monkeypatch):
    rng = random.Random(7)
    rows = []
    for i in range(2_000):
        if rng.random() < 0.7:  # a bill: a day (some none), no moment
            day = None if rng.random() < 0.02 else date(2026, 10, 1) + timedelta(days=rng.randrange(31))
            rows.append((0, "bill", f"B{rng.randrange(900):04d}-{i}", day, day, None))
        else:  # a recharge: a moment (ties on purpose), no bill day
            at = datetime(2026, 10, 1, tzinfo=timezone.utc) + timedelta(minutes=rng.randrange(200))
            rows.append((1, "recharge", f"R{rng.randrange(900):04d}-{i}", at.date(), None, at))
    rng.shuffle(rows)
    con = duck.connect()
    con.execute("CREATE TABLE src (k INTEGER, type VARCHAR, event_id VARCHAR, day DATE, bday DATE, moment TIMESTAMPTZ)")
    con.executemany("INSERT INTO src VALUES (?, ?, ?, ?, ?, ?)", rows)
    monkeypatch.setattr(
        accrual,
        "_unnumbered_sql",
        lambda *a: (
            "SELECT k, type, event_id, 'M1' AS member_id, day, bday, moment, 100 AS amount_fen, "
            "NULL AS service_type FROM src"
        ),
    )
    numbered = con.execute(
        f"SELECT seq, type, day, epoch_us(moment), event_id FROM ({accrual._source_sql(Path('.'), '2026-10', ZoneInfo('UTC'))}) "
        "ORDER BY seq"
    ).fetchall()
    one_window = con.execute(
        "SELECT row_number() OVER (ORDER BY k, bday, moment, event_id) AS seq, type, day, epoch_us(moment), event_id FROM src "
        "ORDER BY seq"
    ).fetchall()
    assert [r[0] for r in numbered] == list(range(1, len(rows) + 1))
    seq_type = con.execute(
        f"SELECT typeof(seq) FROM ({accrual._source_sql(Path('.'), '2026-10', ZoneInfo('UTC'))}) LIMIT 1"
    ).fetchone()[0]
    assert seq_type == "BIGINT"  # the lake's seq column (an Arrow int64; the SQL ledger's integer)
    assert numbered == one_window


def test_the_close_numbers_its_rows_by_member_then_posting_order_and_keeps_that_order(monkeypatch):
    """The close's rows to post (``accrual.stage_source``: sorted as read, the recharges dated, then ``accrual_order.mark``, numbered by
    their place) come in one window's order by member and then posting order (kind, bill day, moment, id), on
    rows enough for DuckDB to sort and fill the table on several threads (400,000 rows of 5,000 members in shuffled
    order: bills on 31 days and none, recharges with tied moments). Read without an ORDER BY, the numbered rows and
    the lake's rows made from them (``lake_events`` with the days, no join) come in that order: the lake's files are
    written in it without a sort of their own. Ids seen, rejected or of a member the Book handles are left out; of an
    id given twice, the row first in posting order is kept. The numbers grow in that order; the rows left out leave
    theirs unused."""
    con = duck.connect()
    con.execute("SET threads = 4")
    con.execute(
        "CREATE TABLE src AS SELECT * FROM (SELECT CASE WHEN i % 10 < 7 THEN 0 ELSE 1 END AS k, "
        "CASE WHEN i % 10 < 7 THEN 'bill' ELSE 'recharge' END AS type, "
        "printf('%s%06d-%d', CASE WHEN i % 10 < 7 THEN 'B' ELSE 'R' END, hash(i) % 900000, i % 399990) AS event_id, "
        "printf('M%05d', hash(i * 11) % 5000) AS member_id, "
        "CASE WHEN i % 10 < 7 THEN DATE '2026-10-01' + CAST(hash(i * 7) % 31 AS INTEGER) END AS bday, "
        "CASE WHEN i % 10 >= 7 THEN TIMESTAMPTZ '2026-10-01 00:00:00+00' "
        "+ to_minutes(CAST(hash(i * 3) % 2000 AS BIGINT)) END AS moment "
        "FROM range(400000) t(i)) ORDER BY hash(event_id)"
    )
    monkeypatch.setattr(  # the staged rows: a recharge's day is set after (accrual_order.set_days)
        accrual_order,
        "rows_sql",
        lambda *a: (
            "SELECT k, type, event_id, member_id, bday AS day, bday, moment, "
            "CAST(12300 AS BIGINT) AS amount_fen, CAST(NULL AS VARCHAR) AS service_type FROM src"
        ),
    )
    early.stage(con, Path("."), "2026-10")  # what accrual.stage_source runs (or took from the command's start)
    accrual_order.set_days(con, ZoneInfo("UTC"))
    assert con.execute(
        "SELECT count(*) FROM acc_all WHERE day IS DISTINCT FROM coalesce(bday, CAST(moment AS DATE))"
    ).fetchone() == (0,)
    con.execute("CREATE TABLE acc_seen AS SELECT event_id FROM src WHERE hash(event_id) % 97 = 0")
    con.execute("CREATE TABLE acc_rejected AS SELECT event_id, 'x' AS reason FROM src WHERE hash(event_id) % 89 = 1")
    con.execute("CREATE TABLE acc_book AS SELECT 'M00007' AS member_id")
    con.execute("CREATE TABLE acc_stored AS SELECT 'M00011' AS member_id, 'gold' AS tier, 0 AS debt")
    accrual_order.mark(con)
    numbered = con.execute("SELECT seq, event_id, member_id, typeof(seq) FROM acc_new").fetchall()  # no ORDER BY
    one_window = con.execute(
        "SELECT row_number() OVER (ORDER BY member_id, k, bday, moment, event_id) AS seq, event_id, member_id, "
        "'BIGINT' FROM (SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY k, bday, moment) AS nth "
        "FROM src WHERE member_id <> 'M00007' AND event_id NOT IN (SELECT event_id FROM acc_seen) "
        "AND event_id NOT IN (SELECT event_id FROM acc_rejected)) WHERE nth = 1 ORDER BY seq"
    ).fetchall()
    assert 300_000 < len(numbered) < 400_000  # some ids twice (i % 399990), some seen, rejected or the Book's
    seqs = [r[0] for r in numbered]
    assert seqs == sorted(set(seqs))  # growing, each once
    assert len(seqs) < seqs[-1]  # the rows left out left their numbers unused
    assert [r[1:] for r in numbered] == [r[1:] for r in one_window]

    plan, problems = load_plan_text(lake_plan("ordered"), "plan.yaml")  # rules and tier multipliers (gold's extra)
    assert plan is not None, problems
    compiled = bulk.compile_plan(plan)
    days = sorted({r[0] for r in con.execute("SELECT DISTINCT day FROM acc_all").fetchall()})
    con.execute(accrual_sql.lake_events(compiled, 1, days=accrual_sql.day_rows(compiled, plan, days)))
    rows = con.execute("SELECT seq FROM acc_events").fetchall()  # no ORDER BY
    assert [r[0] for r in rows] == seqs


@pytest.mark.parametrize(
    "zone, start",
    [
        ("UTC", datetime(2026, 10, 1, tzinfo=timezone.utc)),
        ("Asia/Shanghai", datetime(2026, 10, 1, tzinfo=timezone.utc)),
        ("Asia/Kolkata", datetime(2026, 10, 1, tzinfo=timezone.utc)),  # +05:30 all year
        ("America/New_York", datetime(2026, 10, 20, tzinfo=timezone.utc)),  # summer time ends on 1 November
        ("America/St_Johns", datetime(2026, 10, 20, tzinfo=timezone.utc)),  # -02:30, then -03:30
    ],
)
def test_a_recharge_is_dated_in_the_plans_zone_once_it_is_known(zone, start):
    """The close stages its rows before it reads the plan (:mod:`weixi.close.early`), the recharges without their
    day; :func:`accrual_order.set_days` then dates each in the plan's zone, as Python does: by the zone's one offset
    when it keeps one over the month's moments, else by each moment's own."""
    rng = random.Random(7)
    moments = [start + timedelta(minutes=rng.randrange(60 * 24 * 25)) for _ in range(3000)]
    moments += [start, start + timedelta(days=25)]
    con = duck.connect()
    con.execute("CREATE TABLE acc_all (k INTEGER, event_id VARCHAR, day DATE, moment TIMESTAMPTZ, keep BOOLEAN)")
    con.executemany(
        "INSERT INTO acc_all VALUES (1, ?, NULL, make_timestamptz(CAST(? AS BIGINT)), true)",
        [(f"R{i}", int(m.timestamp() * 1_000_000)) for i, m in enumerate(moments)],
    )
    con.execute("INSERT INTO acc_all VALUES (0, 'B1', DATE '2026-10-09', NULL, true)")  # a bill keeps its day
    accrual_order.set_days(con, ZoneInfo(zone))
    found = dict(con.execute("SELECT event_id, day FROM acc_all").fetchall())
    assert found.pop("B1") == date(2026, 10, 9)
    assert found == {f"R{i}": m.astimezone(ZoneInfo(zone)).date() for i, m in enumerate(moments)}
