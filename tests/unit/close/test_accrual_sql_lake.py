"""The lake's rows (``accrual_sql.lake_events``, read by ``lake_write.ROWS_SQL``: a row per event with its earn
entries as a list, computed row by row) equal what the SQL path's statements write (events, journal entries in
posting order, lots), for a close's events and for posted ones (their own tier attrs), with and without repeated ids
(``distinct_ids``: no id in the input twice skips grouping the rows by id); the outcome and rejections are the same."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from weixi.adapters import duck
from weixi.close import accrual_load, accrual_order, accrual_sql, lake_write, post_lake
from weixi.close.accrual_lake import ACCRUAL_SCHEMA
from weixi.ledger import bulk
from weixi.ledger.events import Event
from weixi.ledger.fold import fill_notes
from weixi.plans.loader import load_plan_text

PLAN = """\
plan: lake-statements
name: lake statements
expiry: {end_of_month_after: 2}
tiers:
  - {id: standard, name: S, rank: 0}
  - {id: silver, name: Si, rank: 1, multiplier: 1.2}
  - {id: gold, name: G, rank: 2, multiplier: 1.5}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 10}
  - {id: mobile, type: spend, points: 1.5, per_yuan: 7, rounding: half_up, service_types: [mobile]}
  - {id: recharge, type: recharge, points: 10, per_full_yuan: 30}
  - {id: tier-bonus, type: tier_multiplier, window: {from: 2026-03-05, to: 2026-03-20}}
"""
ATTRS = [
    {},
    {"service_type": "mobile"},
    {"tier": "gold"},
    {"tier": "silver", "service_type": "mobile"},
    {"service_type": '宽带 "光纤"'},  # the attrs' JSON keeps the characters, escapes the quotes
]


def _rows(repeat: bool):
    plan, problems = load_plan_text(PLAN, "plan.yaml")
    assert plan is not None, problems
    events = []
    for i in range(400):
        at = datetime(2026, 3, 1 + i % 28, 10, tzinfo=timezone(timedelta(hours=8)))
        event_id = f"E{i % 300}" if repeat else f"E{i}"  # repeated ids: the same member (i % 300 % 40)
        kind = "recharge" if i % 7 == 0 else "bill"
        events.append(
            Event(event_id, f"M{i % 300 % 40}", kind, at, at.date(), 37 * i % 50_000, None, None, ATTRS[i % 5])
        )
    cols = post_lake._Columns(events)
    return plan, post_lake._table(list(range(len(events))), cols)


# the rows from the tables the SQL path writes (events, journal, lots): each event's earn entries aggregated in
# posting order, its lot's expiry
REFERENCE_SQL = """
SELECT e.event_id, e.member_id, e.type, e.occurred_at, CAST(e.day AS DATE), CAST(e.amount_fen AS BIGINT), e.attrs,
       e.earned, e.plan_version, CAST(l.expires_on AS DATE), e.seq, coalesce(j.entries, [])
FROM acc_events e LEFT JOIN acc_lots l ON l.lot_id = e.event_id
LEFT JOIN (SELECT seq, list(struct_pack(rule_id := rule_id, points := points, note := note) ORDER BY o_grp, o_j, o_k)
           AS entries FROM acc_journal GROUP BY seq) j ON j.seq = e.seq
ORDER BY e.member_id, e.seq"""


def _ledger_tables(con, c, plan, days) -> None:
    """acc_days, and what the ledger holds: E5 and E6 seen, E7 rejected."""
    con.register(
        "acc_days_in", accrual_load.days_table(accrual_sql.day_columns(c), accrual_sql.day_rows(c, plan, days))
    )
    con.execute("CREATE TEMP TABLE acc_days AS SELECT * FROM acc_days_in")
    con.execute("CREATE TEMP TABLE acc_seen AS SELECT 'E5' AS event_id UNION ALL SELECT 'E6'")
    con.execute("CREATE TEMP TABLE acc_rejected AS SELECT 'E7' AS event_id, 'amount: no' AS reason")


NAMES = [f.name for f in ACCRUAL_SCHEMA]


def _noted(rows: list[tuple], c) -> list[tuple]:
    """The lake's rows with their base entries' notes as a fold writes them (:func:`weixi.ledger.fold.fill_notes`):
    the lake keeps a base rule's entry without its note, a tier extra's with it."""
    dicts = [dict(zip(NAMES, r)) for r in rows]
    for d in dicts:
        base = [e for e in d["entries"] if e["rule_id"] in bulk.base_rules(c)]
        assert all(e["note"] is None for e in base), base  # the close writes no base note
        assert all(e["note"] for e in d["entries"] if e not in base)  # a tier extra's names its tier
    fill_notes(dicts, lambda version: bulk.base_rules(c) if version == 2 else {})
    return [tuple(d[n] for n in NAMES) for d in dicts]


def _run(plan, table, lake: bool, posted: bool, distinct_ids: bool = False) -> tuple:
    c = bulk.compile_plan(plan)
    days = sorted({date(2026, 3, 1) + timedelta(days=d) for d in range(28)})
    con = duck.connect()
    try:
        con.register("acc_all", table)
        con.execute("CREATE TEMP VIEW acc_src AS SELECT * FROM acc_all")
        _ledger_tables(con, c, plan, days)
        con.execute("CREATE TEMP TABLE acc_stored AS SELECT 'M3' AS member_id, 'gold' AS tier, 0::BIGINT AS debt")
        st = accrual_sql.statements(c, 2, posted=posted, distinct_ids=distinct_ids)
        if lake:
            con.execute(st.new)
            con.execute(accrual_sql.lake_events(c, 2, posted=posted))
        else:
            for sql in (st.new, st.base, st.tiers, st.journal, st.events, st.lots):
                con.execute(sql)
        return (
            _noted(con.execute(lake_write.ROWS_SQL).fetchall(), c) if lake else con.execute(REFERENCE_SQL).fetchall(),
            con.execute(st.outcome).fetchall(),
            con.execute(accrual_sql.REJECTIONS_SQL).fetchall(),
        )
    finally:
        con.close()


@pytest.mark.parametrize("posted", [True, False])
@pytest.mark.parametrize("repeat", [False, True])
def test_the_lake_s_rows_are_the_sql_path_s_events_journal_and_lots(repeat, posted):
    plan, table = _rows(repeat)
    full = _run(plan, table, lake=False, posted=posted)
    lake = _run(plan, table, lake=True, posted=posted, distinct_ids=not repeat)
    assert lake == full
    # E5 and E6 seen, E7 rejected (twice when repeated), the later rows of a repeated id duplicates
    assert full[1:3] == ([(297, 101)], [("amount", 2)]) if repeat else ([(397, 2)], [("amount", 1)])
    rows = full[0]
    # every kind of entry is compared: base rules of both types, the mobile rule, the tier extras in their window
    rules = {e["rule_id"] for row in rows for e in row[11]}
    assert rules == {"bill", "mobile", "recharge", "tier-bonus"}
    assert any(len(row[11]) >= 3 for row in rows) and any(row[7] > 0 and row[9] is not None for row in rows)
    assert all((row[9] is None) == (row[7] == 0) for row in rows)  # a lot (its expiry) exactly where points earn


# the close's rows as ``accrual.stage_source`` stages them: a bill on its day (no moment), a recharge at its moment
CLOSE_SOURCE = (
    "SELECT CASE WHEN type = 'bill' THEN 0 ELSE 1 END AS k, type, event_id, member_id, day, "
    "CASE WHEN type = 'bill' THEN day END AS bday, "
    "CASE WHEN type = 'recharge' THEN CAST(occurred_text AS TIMESTAMPTZ) END AS moment, amount_fen, service_type "
    "FROM input"
)


@pytest.mark.parametrize("known", [None, ["mobile"], ["mobile", '宽带 "光纤"']])
@pytest.mark.parametrize("repeat", [False, True])
def test_the_close_s_rows_sorted_once_by_member_are_the_sql_path_s(repeat, known):
    """The close's rows (``accrual_order``: sorted by member as read, numbered in that order; ``lake_events`` with the
    days: the day's columns and the stored tier's extra looked up, no join) equal the SQL path's over the same rows
    numbered in posting order (kind, bill day, moment, id), but for the numbers: in each member's posting order, with
    the same first row of a repeated id, the same outcome and rejections. Read without an ORDER BY they come in
    member and number order: the files are written so, unsorted. The attrs of the service types the month holds
    (``known``, from the close's scan of its rows) are written as literals, the same text."""
    plan, table = _rows(repeat)
    c = bulk.compile_plan(plan)
    days = sorted({date(2026, 3, 1) + timedelta(days=d) for d in range(28)})
    out = []
    for ordered in (False, True):
        con = duck.connect()
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.register("input", table)
        if ordered:
            con.execute(accrual_order.stage_sql(CLOSE_SOURCE))
        else:  # numbered in posting order, as the SQL path numbers a close's rows (accrual._source_sql)
            con.execute(
                "CREATE TEMP TABLE acc_all AS SELECT CAST(row_number() OVER (ORDER BY k, bday, moment, event_id) "
                f"AS BIGINT) AS seq, * EXCLUDE (k, bday) FROM ({CLOSE_SOURCE})"
            )
            con.execute("CREATE TEMP VIEW acc_src AS SELECT * FROM acc_all")
        _ledger_tables(con, c, plan, days)
        # M3 gold, M4 a tier the plan does not know (the default's extra), M8 standard (no extra)
        con.execute(
            "CREATE TEMP TABLE acc_stored AS SELECT * FROM (VALUES ('M3', 'gold', 0::BIGINT), "
            "('M4', 'platinum', 0::BIGINT), ('M8', 'standard', 0::BIGINT)) t(member_id, tier, debt)"
        )
        con.execute("CREATE TEMP TABLE acc_book AS SELECT 'M9' AS member_id")
        st = accrual_sql.statements(c, 2)
        if ordered:
            accrual_order.mark(con)
            # the service types ``known``: their attrs written as literals, any other's built row by row
            con.execute(accrual_sql.lake_events(c, 2, days=accrual_sql.day_rows(c, plan, days), service_types=known))
            rows = con.execute("SELECT * FROM acc_events").fetchall()  # no ORDER BY: as the files are written
            assert [(r[1], r[10]) for r in rows] == sorted((r[1], r[10]) for r in rows)
            rows = _noted(rows, c)
        else:
            con.execute("DELETE FROM acc_all WHERE member_id = 'M9'")  # the Book's member, left out
            for sql in (st.new, st.base, st.tiers, st.journal, st.events, st.lots):
                con.execute(sql)
            rows = con.execute(REFERENCE_SQL).fetchall()
        out.append(
            (
                [r[:10] + r[11:] for r in rows],  # all but the number
                con.execute(st.outcome).fetchall(),
                con.execute(accrual_sql.REJECTIONS_SQL).fetchall(),
            )
        )
        con.close()
    assert out[1] == out[0]
    rows = out[0][0]
    assert {e["rule_id"] for row in rows for e in row[10]} == {"bill", "mobile", "recharge", "tier-bonus"}
    extras = {row[1] for row in rows if any(e["rule_id"] == "tier-bonus" for e in row[10])}
    # gold's extra; a tier the plan does not know and standard get the default tier's (standard: none)
    assert extras == {"M3"} and "M9" not in {row[1] for row in rows}
