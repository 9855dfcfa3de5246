"""``weixi events post`` into the lake (issue 21) knows the SQL ledger's ids and members as the SQL store does.

Before the close's statements run, a post reads the SQL ledger's rows of its ids and members from the cheaper side
(:mod:`weixi.close.post_read`): a table holding fewer rows than the post has keys is read whole, a bigger one is
probed by the keys. Both ways end where the SQL store ends: an id the SQL ledger holds is a duplicate, a repeat of
an id it rejected is rejected with the first reason, a member's stored tier gives its extra, a referee whose referral
waits goes through the Book. So do the file's own repeats (an id twice, an id given to two members, the refund of a
bill of the file) and the rows refused when the file was read, whichever way the file's moments are written."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import BACKENDS
from tests.integration.lake_plan import lake_plan, member_rows
from weixi.adapters import schema
from weixi.adapters.arrow_columns import text_column
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.close import accrual_sql, post_read
from weixi.close.post_lake import post_file_events
from weixi.ledger import bulk, queries
from weixi.ledger.events import Event, Rejection
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

PLAN = lake_plan("post-ids").replace(
    "  - {id: tier-bonus", "  - {id: refer, type: referral, points: 30}\n  - {id: tier-bonus"
)
PLUS8 = timezone(timedelta(hours=8))
N = 1_200  # new bills a file brings: above bulk.AUTO_MIN, so the file takes the lake's path


def _ledger(root: Path, url: str | None = None):
    root.mkdir(parents=True)
    (root / "plan.yaml").write_text(PLAN, encoding="utf-8")
    engine = make_engine(url or str(root / "ledger.db"))
    schema.upgrade(engine)
    apply_plan(engine, root / "plan.yaml")
    return engine


def _bill(event_id: str, member: str, n: int, attrs: dict | None = None, tz=PLUS8, kind: str = "bill", ref=None):
    at = datetime(2026, 1, 3 + n % 20, 9 + n % 11, n % 60, tzinfo=timezone.utc).astimezone(tz)
    fen = {"referral": None, "refund": 500}.get(kind, 1_000 + 37 * n % 90_000)
    day = at.astimezone(PLUS8).date()
    return Event(event_id, member, kind, at, day, fen, None, ref, attrs or {}, n + 2)


def _first() -> list:
    """Posted through the Book (too few for the lake): SQL holds these events, a rejection and a waiting referral."""
    return [
        _bill("D1", "P1", 1),
        _bill("D2", "P2", 2, {"service_type": "mobile"}),
        _bill("D3", "P3", 3),
        _bill("X-PLATINUM", "P4", 4, {"tier": "platinum"}),  # the Book rejects it: no such tier
        _bill("REF-1", "R1", 5, kind="referral", ref="P5"),  # P5's first payment awards it
    ]


def _second() -> list:
    """A lake-sized file repeating the SQL ledger's ids and its own, at two offsets."""
    attrs = [None, {"service_type": "mobile"}, {"tier": "gold"}, {"tier": "silver", "service_type": "mobile"}]
    items = [_bill(f"B{i:05d}", f"N{i % 300:04d}", i, attrs[i % 4], timezone.utc if i % 3 else PLUS8) for i in range(N)]
    items += [
        _bill("D1", "P1", 7),  # in SQL: a duplicate
        _bill("D2", "P2", 8, {"service_type": "mobile"}),
        _bill("X-PLATINUM", "P4", 9),  # a repeat of a rejected id: rejected with the first reason
        _bill("P1-NEW", "P1", 10),  # P1's stored tier (gold, set below) gives the extra
        _bill("P5-PAYS", "P5", 11),  # the referee's first payment: the Book's
        _bill("SAME", "N0001", 12),
        _bill("SAME", "N0001", 13),  # the file's own repeat: a duplicate
        _bill("TWO", "N0002", 14),
        _bill("TWO", "N0003", 15),  # one id, two members: both members' events go through the Book
        _bill("B-REFUND", "N0005", 16, kind="refund", ref="B00005"),
        Rejection("", "amount: not a number", 9_999, "amount", "amount_not_a_number", {}),
    ]
    return items


def _third() -> list:
    """A lake-sized file at one fixed offset, no id repeated."""
    return [_bill(f"C{i:05d}", f"N{i % 250:04d}", i + 3) for i in range(N)]


def _outcome(result) -> tuple:
    return (
        result.posted,
        sorted(result.duplicates),
        sorted((r.event_id, r.reason, r.row) for r in result.rejected),  # the lake's repeat has no code (_merge)
    )


def _members(engine) -> list:
    """The members' rows in one shape on both backends (dates as text, flags as bools)."""
    rows = member_rows(engine)  # each balance over both stores
    return [(m, tier, str(first), bool(paid), balance, debt) for m, tier, first, paid, balance, debt in rows]


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)  # the lake ledger's; the SQL store's on SQLite
@pytest.mark.parametrize("side", ["whole", "probe"])
def test_a_post_reads_the_sql_ledger_s_ids_either_way_and_ends_where_the_sql_store_ends(
    side, db_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(post_read, "WHOLE_BELOW", 1.0 if side == "whole" else 0.0)  # 0: every table probed
    probes, distinct = [], []
    real_select, real_statements = post_read.bulk_sql.select_ids, accrual_sql.statements

    def select_ids(conn, sql, ids, params=()):  # the SQL store's bulk path sends some of these too: not counted
        if os.environ["WEIXI_LEDGER_STORE"] == "lake":
            probes.extend(q[0] for q in post_read.QUERIES if q[2] == sql)
        return real_select(conn, sql, ids, params)

    def statements(*args, **kwargs):
        distinct.append(kwargs.get("distinct_ids", False))
        return real_statements(*args, **kwargs)

    monkeypatch.setattr(post_read.bulk_sql, "select_ids", select_ids)
    monkeypatch.setattr(accrual_sql, "statements", statements)
    engines, outcomes = {}, {}
    for store in ("sql", "lake"):
        monkeypatch.setenv("WEIXI_LEDGER_STORE", store)
        engine = engines[store] = _ledger(tmp_path / store, db_url if store == "lake" else None)
        first = post_file_events(engine, _first(), data_dir=tmp_path / store / "data")
        assert (first.posted, [r.event_id for r in first.rejected]) == (4, ["X-PLATINUM"])
        with engine.begin() as conn:  # a stored tier the lake's rows must see
            execute(conn, "UPDATE members SET tier = 'gold' WHERE member_id = 'P1'")
        outcomes[store] = [
            _outcome(post_file_events(engine, file, data_dir=tmp_path / store / "data"))
            for file in (_second(), _third())
        ]
    assert outcomes["lake"] == outcomes["sql"]
    second, third = outcomes["lake"]
    assert second[1] == ["D1", "D2", "SAME", "TWO"] and third[1:] == ([], [])
    assert second[2] == [("", "amount: not a number", 9_999), ("X-PLATINUM", "attrs: unknown tier 'platinum'", 11)]
    assert (second[0], third[0]) == (N + 5, N)  # P1-NEW, P5-PAYS, SAME and TWO once each, the refund
    tables = ["events", "rejections", "members", "lots", "referrals"]
    # read whole: the tables smaller than the file's keys, all but the members at the third file (250 of 300+)
    assert probes == (2 * tables if side == "probe" else ["members"])
    assert distinct == [False, True]  # the file repeating SAME groups its rows by id
    lk, sql = engines["lake"], engines["sql"]
    with lk.connect() as conn:
        in_sql = {r[0] for r in execute(conn, "SELECT event_id FROM events WHERE event_id NOT LIKE ?", ["C%"])}
    assert {"P5-PAYS", "TWO", "B-REFUND", "D1", "D2", "D3"} <= in_sql and "P1-NEW" not in in_sql
    assert _members(lk) == _members(sql)
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    for member in ("P1", "P5", "N0001", "N0002", "N0005", "N0010"):
        assert queries.balance(lk, member, date(2026, 12, 31)) == queries.balance(sql, member, date(2026, 12, 31))
    assert verify(lk)[0] == [] and verify(sql)[0] == []
    for engine in engines.values():
        engine.dispose()


def test_a_table_is_read_whole_only_when_it_holds_fewer_rows_than_the_post_has_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine = _ledger(tmp_path / "lake")
    post_file_events(engine, _first(), data_dir=tmp_path / "lake" / "data")
    with engine.connect() as conn, conn.begin():
        held = sorted(execute(conn, "SELECT event_id FROM events"))
        many = post_read._Keys(text_column(["D1", *(f"Z{i}" for i in range(len(held)))]))
        few = post_read._Keys(text_column(["D1", "Z"]))
        assert sorted(post_read._rows(conn, post_read._SEEN, many)) == held  # more keys than rows: the table
        assert post_read._rows(conn, post_read._SEEN, few) == [("D1",)]  # fewer: probed by the keys
    assert len(held) > 2 and bulk.AUTO_MIN <= N
