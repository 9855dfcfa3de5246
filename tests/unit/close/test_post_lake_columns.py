"""A post's rows as the lake's statements read them (:mod:`weixi.close.post_lake`): which rows the statements take,
which members the Book must handle, and the columns' text as the bulk path writes it, taken a column at a time."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

from weixi.close import post_lake, post_read
from weixi.ledger.events import Event, Rejection
from weixi.plans.service import check_text

PLAN = check_text(
    """\
plan: columns
name: columns
expiry: {end_of_month_after: 2}
tiers:
  - {id: standard, name: S, rank: 0}
  - {id: silver, name: Si, rank: 1, multiplier: 1.2}
  - {id: gold, name: G, rank: 2, multiplier: 1.5}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 10}
  - {id: recharge, type: recharge, points: 10, per_full_yuan: 30}
  - {id: refer, type: referral, points: 30}
  - {id: tier-bonus, type: tier_multiplier}
""",
    "plan.yaml",
)
PLUS8, SHANGHAI = timezone(timedelta(hours=8)), ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 1, 5, 2, 30, tzinfo=timezone.utc)


def _ev(event_id, member, kind="bill", at=AT, fen=1_000, attrs=None, points=None, ref=None):
    return Event(event_id, member, kind, at, at.astimezone(PLUS8).date(), fen, points, ref, attrs or {}, None)


def _split(items):
    cols = post_lake._Columns(items)
    return (*post_lake._split(PLAN, items, cols), cols)


def test_the_rows_the_statements_cannot_take_and_the_members_the_book_must_handle():
    items = [
        _ev("A", "m1"),
        Rejection("", "amount: not a number", 3),
        _ev("B", "m2", "recharge", attrs={"tier": "gold", "service_type": "mobile"}),
        _ev("C", "m3", attrs={"tier": "platinum"}),  # a tier the plan lacks: the Book rejects it
        _ev("D", "m4", attrs={"service_type": 5}),
        _ev("E", "m5", points=10),
        _ev("F", "m6", fen=None),
        _ev("G", "m7", fen=-1),
        _ev("H", "m8", "checkin", fen=None),
        _ev("I", "m9", "referral", fen=None, ref="m10"),
        _ev("J", "m11", "refund", fen=100, ref="K"),
        _ev("K", "m12"),  # the refunded bill: its member's
        _ev("L", "m13"),
        _ev("L", "m14"),  # one id, two members
        _ev("M", "m15"),
        _ev("M", "m15"),  # one id twice, one member: a duplicate the statements find
        _ev("N", "m16", attrs={"tier": ["gold"]}),  # not text
    ]
    lakeable, book, others, cols = _split(items)
    assert lakeable == [0, 2, 11, 12, 13, 14, 15]
    assert others == [1, 3, 4, 5, 6, 7, 8, 9, 10, 16]
    assert book == {"m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "m11", "m12", "m13", "m14", "m16"}
    assert cols.repeated == {"L", "M"}
    rows = [i for i in lakeable if items[i].member_id not in book]
    table = post_lake._table(rows, cols)
    assert table["seq"].to_pylist() == [1, 3, 15, 16] and not post_read.distinct(table)
    assert post_read.distinct(post_lake._table(rows[:3], cols))


def test_a_file_of_plain_bills_is_taken_whole():
    items = [_ev(f"B{i}", f"m{i % 3}", attrs={"tier": "silver"} if i % 2 else None) for i in range(10)]
    lakeable, book, others, cols = _split(items)
    assert (lakeable, book, others, cols.repeated) == (list(range(10)), set(), [], set())
    assert post_read.distinct(post_lake._table(lakeable, cols))


def test_the_columns_read_as_the_bulk_path_writes_them():
    same = AT.astimezone(PLUS8)
    files = {
        "one offset": [_ev("A", "m1", at=same), _ev("B", "m2", at=same + timedelta(microseconds=5))],
        # the same instant at two offsets: equal datetimes, two texts
        "offsets": [_ev("A", "m1", at=same), _ev("B", "m2", at=AT), _ev("C", "m3", at=AT.astimezone(SHANGHAI))],
    }
    attrs = [{"service_type": "mobile", "tier": "gold"}, {"n": 1}, {"n": True}, {"n": 1.0}, {"名": "值"}, {}]
    files["attrs"] = [_ev(f"A{i}", "m1", attrs=a) for i, a in enumerate(attrs)]
    con = duckdb.connect()
    for name, items in files.items():
        cols = post_lake._Columns(items)
        con.register("post_src", post_lake._table(list(range(len(items))), cols))
        got = con.execute(
            "SELECT typeof(occurred_text), typeof(attrs_text), occurred_text, attrs_text, service_type, tier, day "
            "FROM post_src ORDER BY seq"
        ).fetchall()
        assert got == [
            (
                "VARCHAR",
                "VARCHAR",
                ev.occurred_at.isoformat(),
                json.dumps(ev.attrs, ensure_ascii=False, sort_keys=True) if ev.attrs else None,
                ev.attrs.get("service_type"),
                ev.attrs.get("tier"),
                ev.day,
            )
            for ev in items
        ], name
    assert date(2026, 1, 5) == files["attrs"][0].day
