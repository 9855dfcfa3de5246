"""The month's bills and recharges are numbered in posting order (``accrual._source_sql``: by kind and bill day, then
moment and id), group by group: the numbers equal one window over every row, 1..n, whatever the order the rows
come in, bills without a day and recharges at the same moment included (the ids tell them apart)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from weixi.adapters import duck
from weixi.close import accrual


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


def test_the_close_numbers_by_one_sort_into_a_table_as_one_window(monkeypatch):
    """The close's numbering (``accrual.number_source``: the rows sorted into a table, numbered by row id) equals
    the one window too, on rows enough for DuckDB to sort and fill the table on several threads (400,000 rows in
    shuffled order: bills on 31 days and none, recharges with tied moments)."""
    con = duck.connect()
    con.execute("SET threads = 4")
    con.execute(
        "CREATE TABLE src AS SELECT * FROM (SELECT CASE WHEN i % 10 < 7 THEN 0 ELSE 1 END AS k, "
        "CASE WHEN i % 10 < 7 THEN 'bill' ELSE 'recharge' END AS type, "
        "printf('%s%06d-%d', CASE WHEN i % 10 < 7 THEN 'B' ELSE 'R' END, hash(i) % 900000, i) AS event_id, "
        "CASE WHEN i % 10 < 7 AND i % 53 <> 0 THEN DATE '2026-10-01' + CAST(hash(i * 7) % 31 AS INTEGER) END AS bday, "
        "CASE WHEN i % 10 >= 7 THEN TIMESTAMPTZ '2026-10-01 00:00:00+00' "
        "+ to_minutes(CAST(hash(i * 3) % 2000 AS BIGINT)) END AS moment "
        "FROM range(400000) t(i)) ORDER BY hash(event_id)"
    )
    monkeypatch.setattr(
        accrual,
        "_unnumbered_sql",
        lambda *a: (
            "SELECT k, type, event_id, 'M1' AS member_id, coalesce(bday, CAST(moment AS DATE)) AS day, bday, moment, "
            "100 AS amount_fen, NULL AS service_type FROM src"
        ),
    )
    accrual.number_source(con, Path("."), "2026-10", ZoneInfo("UTC"))
    numbered = con.execute("SELECT seq, event_id, typeof(seq) FROM acc_all ORDER BY seq").fetchall()
    one_window = con.execute(
        "SELECT row_number() OVER (ORDER BY k, bday, moment, event_id) AS seq, event_id, 'BIGINT' FROM src ORDER BY seq"
    ).fetchall()
    assert len(numbered) == 400_000
    assert numbered == one_window
