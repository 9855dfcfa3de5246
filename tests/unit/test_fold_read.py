"""The fold's direct Parquet read (weixi.ledger.fold_read.read over weixi.adapters.parquet_lookup.rows_table): only the
row groups whose member range can hold the members are read, a file replaced by another is read again, and the
rows are the ones a DuckDB query over the same files finds, in the same order."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from weixi.adapters import lake, parquet_lookup
from weixi.close.accrual_lake import ACCRUAL_SCHEMA
from weixi.ledger import fold, fold_read
from weixi.ledger.expire_lake import EXPIRY_SCHEMA

KEY = pa.schema([("member_id", pa.string()), ("n", pa.int64())])


def _file(path, members: list[str], row_group: int):
    """A file sorted by member: row ``n`` holds ``members[n]``."""
    pq.write_table(
        pa.table({"member_id": members, "n": list(range(len(members)))}, schema=KEY), path, row_group_size=row_group
    )
    return path


@pytest.fixture
def groups_read(monkeypatch):
    """The row groups each read asks for."""
    seen: list[list[int]] = []
    real = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, *args, **kwargs):
        seen.append(list(row_groups))
        return real(self, row_groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    return seen


@pytest.mark.parametrize("ordered", [True, False])
def test_the_groups_holding_a_member_are_those_whose_range_reaches_it(ordered):
    ranges = [("A", "C"), ("C", "F"), ("G", "K"), ("K", "K"), ("K", "M")]
    assert parquet_lookup.groups_holding(ranges, ordered, ["C"]) == [0, 1]  # on the boundary: both groups
    assert parquet_lookup.groups_holding(ranges, ordered, ["K"]) == [2, 3, 4]  # over three groups
    assert parquet_lookup.groups_holding(ranges, ordered, ["D"]) == [1]
    assert parquet_lookup.groups_holding(ranges, ordered, ["F5"]) == []  # between two groups: in none
    assert parquet_lookup.groups_holding(ranges, ordered, ["0", "Z"]) == []  # before the first, after the last
    assert parquet_lookup.groups_holding(ranges, ordered, ["B", "H", "L"]) == [0, 2, 4]
    # more members than groups: tested group by group, same answer
    many = sorted(["B", "H", "L", "0", "Z", "F5", "J"])
    assert parquet_lookup.groups_holding(ranges, ordered, many) == [0, 2, 4]
    assert parquet_lookup.groups_holding(ranges, ordered, []) == []


def test_a_group_without_statistics_is_always_read():
    assert parquet_lookup.groups_holding([("A", "C"), (None, None), ("G", "K")], False, ["H"]) == [1, 2]


def test_only_the_row_groups_that_can_hold_the_members_are_read(tmp_path, groups_read):
    # groups of 3 rows: [A A B] [B B C] [D E F] [G G G] [G H J]
    members = ["A", "A", "B", "B", "B", "C", "D", "E", "F", "G", "G", "G", "G", "H", "J"]
    path = _file(tmp_path / "m.parquet", members, 3)
    assert parquet_lookup.footer(path).ordered

    rows = parquet_lookup.rows_table(path, ["B"]).to_pylist()  # at a row-group boundary
    assert [r["n"] for r in rows] == [2, 3, 4] and groups_read[-1] == [0, 1]

    rows = parquet_lookup.rows_table(path, ["G"]).to_pylist()  # over two groups
    assert [r["n"] for r in rows] == [9, 10, 11, 12] and groups_read[-1] == [3, 4]

    rows = parquet_lookup.rows_table(path, ["A", "E", "J"]).to_pylist()  # spread over several groups
    assert [(r["member_id"], r["n"]) for r in rows] == [("A", 0), ("A", 1), ("E", 7), ("J", 14)]
    assert groups_read[-1] == [0, 2, 4]

    before = len(groups_read)
    assert parquet_lookup.rows_table(path, ["C5", "Z"]) is None  # in no group: nothing read
    assert len(groups_read) == before
    # inside a group's range but not in it: that group only is read, no row
    assert parquet_lookup.rows_table(path, ["A0"]).num_rows == 0 and groups_read[before:] == [[0]]

    # only the asked columns the file has; the key is read to filter, not returned
    assert parquet_lookup.rows_table(path, ["D"], ["n", "absent"]).to_pylist() == [{"n": 6}]


def test_a_replaced_file_is_read_again(tmp_path):
    path = _file(tmp_path / "m.parquet", ["A", "B", "C"], 2)
    assert parquet_lookup.rows_table(path, ["B"]).to_pylist() == [{"member_id": "B", "n": 1}]
    first = parquet_lookup.footer(path)
    assert parquet_lookup.footer(path) is first  # cached

    other = _file(tmp_path / "other.parquet", ["B", "B", "D", "E", "F"], 2)
    os.replace(other, path)  # another file under the same name
    assert parquet_lookup.footer(path) is not first
    assert parquet_lookup.rows_table(path, ["B"]).to_pylist() == [
        {"member_id": "B", "n": 0},
        {"member_id": "B", "n": 1},
    ]
    assert parquet_lookup.rows_table(path, ["A"]) is None


def _accruals(members_seq: list[tuple[str, int]], month: str, earned: int = 10) -> pa.Table:
    rows = sorted(members_seq)  # the close's order: by member, then posting order
    day = dt.date(2026, int(month[5:7]), 5)
    return pa.table(
        {
            "event_id": [f"b{month}-{m}-{s}" for m, s in rows],
            "member_id": [m for m, _ in rows],
            "type": ["bill"] * len(rows),
            "occurred_at": [f"{day}T10:00:00+08:00"] * len(rows),
            "day": [day] * len(rows),
            "amount_fen": [1000 * s for _, s in rows],
            "attrs": ['{"service_type": "mobile"}'] * len(rows),
            "earned": [earned if s % 3 else 0 for _, s in rows],
            "plan_version": [1] * len(rows),
            "expires_on": [dt.date(2028, int(month[5:7]), 1) if s % 3 else None for _, s in rows],
            "seq": [s for _, s in rows],
            "entries": [[{"rule_id": "base", "points": earned, "note": None}] if s % 3 else [] for _, s in rows],
        },
        schema=ACCRUAL_SCHEMA,
    )


def _commit(table_dir, key: str, parts: list[pa.Table], schema, app: str, version: int, partition: str = "month"):
    files = []
    for t in parts:
        f = lake.new_file(table_dir, {partition: key})
        pq.write_table(t, f, row_group_size=2)
        files.append(f)
    return lake.commit_files(table_dir, files, {partition: key}, schema, app, version)


def _reference(lake_dir, version, months, todo, exp_version):
    """The fold's read as one DuckDB query over the same files (what ``_read`` did before the direct read)."""
    since = min(todo.values())
    source = fold.lake_sql(lake_dir, version, months, since)
    if source is None:
        return [], {}
    con = duckdb.connect()
    con.register("t", pa.table({"member_id": list(todo), "since": list(todo.values())}))
    table = con.execute(
        f"SELECT s.* FROM ({source}) s JOIN t ON s.member_id = t.member_id AND s.month > t.since ORDER BY s.month, s.seq"
    ).to_arrow_table()
    exp = fold.expiries_sql(lake_dir, exp_version)
    con.register("r", table.select(["event_id"]))
    expired = con.execute(
        f"SELECT x.lot_id, sum(x.points) FROM ({exp}) x JOIN r ON r.event_id = x.lot_id "
        "WHERE x.member_id IN (SELECT member_id FROM t) GROUP BY x.lot_id"
    ).fetchall()
    rows = table.to_pylist()
    for r in rows:  # DuckDB reads the partition's month from the path too: the same key
        assert r.pop("month_1", r["month"]) == r["month"]
    return rows, {k: int(v) for k, v in expired}


def test_the_fold_reads_the_rows_a_query_over_the_lake_finds_in_month_and_posting_order(tmp_path):
    lake_dir = tmp_path / "lake"
    acc = lake_dir / fold.ACCRUALS
    members = [f"M{i}" for i in range(8)]
    _commit(acc, "2026-08", [_accruals([(m, i + 1) for i, m in enumerate(members)], "2026-08")], ACCRUAL_SCHEMA, "a", 1)
    # a month in two files, a member's rows in both (posting order interleaved), and a post after it
    _commit(
        acc,
        "2026-09",
        [
            _accruals([(m, 2 * i + 1) for i, m in enumerate(members)], "2026-09"),
            _accruals([(m, 2 * i + 2) for i, m in enumerate(members[2:6])] + [("M3", 40)], "2026-09"),
        ],
        ACCRUAL_SCHEMA,
        "a",
        2,
    )
    version = _commit(acc, "2026-09+000001", [_accruals([("M1", 1), ("M5", 2)], "2026-09")], ACCRUAL_SCHEMA, "p", 1)
    months = ["2026-08", "2026-09", "2026-09+000001"]
    exp = lake_dir / fold.EXPIRIES

    def expiry(lots):
        return pa.table(
            {
                "lot_id": [lot for lot, _, _ in lots],
                "member_id": [m for _, m, _ in lots],
                "month": ["2026-08"] * len(lots),
                "expires_on": [dt.date(2026, 9, 1)] * len(lots),
                "points": [p for _, _, p in lots],
                "plan_version": [1] * len(lots),
            },
            schema=EXPIRY_SCHEMA,
        )

    _commit(
        exp,
        "2026-09-01",
        [expiry([("b2026-08-M1-2", "M1", 10), ("b2026-08-M4-5", "M4", 10)])],
        EXPIRY_SCHEMA,
        "e",
        1,
        "as_of",
    )
    exp_version = _commit(
        exp,
        "2026-10-01",
        [expiry([("b2026-08-M4-5", "M4", 3), ("b2026-08-M7-8", "M7", 10)])],
        EXPIRY_SCHEMA,
        "e",
        2,
        "as_of",
    )

    cases = [
        {m: "" for m in members},  # nobody folded
        {"M1": "", "M3": "2026-08", "M4": "2026-09", "M5": "2026-08", "X": ""},  # folded through various months
        {"M3": "2026-08", "M5": "2026-09"},  # all after the first month
        {"M2": "2026-09+000001"},  # folded through everything: nothing
        {"M9": "", "M0": "2026-09"},  # one in no file
    ]
    for todo in cases:
        rows, expired = fold_read.read(lake_dir, version, months, todo, exp_version)
        assert (rows, expired) == _reference(lake_dir, version, months, todo, exp_version), todo
        assert [r["month"] for r in rows] == sorted(r["month"] for r in rows)
        assert all(r["month"] > todo[r["member_id"]] for r in rows)
    rows, expired = fold_read.read(lake_dir, version, months, cases[0], exp_version)
    assert len(rows) == 8 + 13 + 2 and expired == {"b2026-08-M1-2": 10, "b2026-08-M4-5": 13, "b2026-08-M7-8": 10}
    # without an applied expiry run nothing is expired
    assert fold_read.read(lake_dir, version, months, cases[0], None)[1] == {}


def test_dictionary_columns_give_the_same_rows_and_a_file_stays_open_for_the_next_read(tmp_path):
    # strings the writer dictionary-encoded (type, attrs) come as dictionaries: the same values in to_pylist
    path = tmp_path / "a.parquet"
    rows = _accruals([(f"M{i}", s) for i in range(6) for s in (1, 2, 3)], "2026-08")
    pq.write_table(rows, path, row_group_size=4)
    assert set(parquet_lookup.footer(path).dictionaries) >= {"type", "attrs"}
    plain = parquet_lookup.rows_table(path, ["M1", "M4"])
    coded = parquet_lookup.rows_table(path, ["M1", "M4"], dictionaries=True)
    assert pa.types.is_dictionary(coded.schema.field("type").type)
    assert coded.to_pylist() == plain.to_pylist() == [r for r in rows.to_pylist() if r["member_id"] in ("M1", "M4")]
    # the fold's rows: the same dicts, each with its month
    assert fold_read._pylist(coded, "2026-08") == [{**r, "month": "2026-08"} for r in plain.to_pylist()]

    opened = []
    real = pq.ParquetFile.__init__

    def spy(self, *args, **kwargs):
        opened.append(args[0])
        real(self, *args, **kwargs)

    pq.ParquetFile.__init__ = spy
    try:
        for _ in range(3):
            assert parquet_lookup.rows_table(path, ["M2"], dictionaries=True).num_rows == 3
        assert opened == []  # the reader of the read above is kept
        hit = parquet_lookup.footer(path)
        with parquet_lookup._reader(path, hit, [c for c in hit.dictionaries if c != "member_id"]) as busy:
            # another thread's read while this reader is in use gets a reader of its own
            assert parquet_lookup.rows_table(path, ["M2"], dictionaries=True).num_rows == 3
            assert opened == [path] and busy is not None  # (the kept one was not opened again)
    finally:
        pq.ParquetFile.__init__ = real


def test_a_member_is_found_in_a_file_whose_row_groups_are_out_of_member_order(tmp_path):
    # DuckDB's writer of a member range (weixi.close.store: a month cut into files) keeps each row group a narrow run
    # of members but writes the groups in any order; a lookup that bisected as in a sorted file missed members
    path = tmp_path / "shuffled.parquet"
    with pq.ParquetWriter(path, KEY) as writer:
        for members in (["E", "F"], ["A", "B"], ["G", "H"], ["C", "D"]):
            writer.write_table(pa.table({"member_id": members, "n": [ord(m) for m in members]}, schema=KEY))
    assert not parquet_lookup.footer(path).ordered
    for member in "ABCDEFGH":
        assert parquet_lookup.member_rows(path, member) == [{"member_id": member, "n": ord(member)}]
    assert parquet_lookup.member_rows(path, "Z") == []


def test_a_file_whose_range_cannot_hold_the_member_is_skipped_after_its_footer_left_the_cache(tmp_path, monkeypatch):
    low, high = _file(tmp_path / "low.parquet", ["A", "B"], 1), _file(tmp_path / "high.parquet", ["M", "N"], 1)
    assert parquet_lookup.member_rows(low, "N") == []  # its footer read: the range A..B is kept
    parsed = []
    real = parquet_lookup.pq.read_metadata
    monkeypatch.setattr(parquet_lookup.pq, "read_metadata", lambda p, *a, **k: parsed.append(p) or real(p, *a, **k))
    parquet_lookup.forget()  # the footers left the cache; the ranges stay
    assert parquet_lookup.member_rows(low, "N") == [] and parquet_lookup.rows_table(low, ["M", "N"]) is None
    assert parsed == []  # the range said so: no footer read
    assert parquet_lookup.member_rows(high, "N") == [{"member_id": "N", "n": 1}]
    assert parsed == [high]
    other = _file(tmp_path / "other.parquet", ["M", "N"], 1)
    os.replace(other, low)  # another file under the low one's name: its kept range no longer holds
    assert parquet_lookup.member_rows(low, "N") == [{"member_id": "N", "n": 1}]


def test_the_footers_kept_stay_within_the_lookup_memory_setting(tmp_path, monkeypatch):
    # WEIXI_LOOKUP_MEMORY=1: 1 MB, about 1,280 column chunks; each file here is 400 row groups of 2 columns
    monkeypatch.setenv("WEIXI_LOOKUP_MEMORY", "1")
    parquet_lookup.forget()
    files = [_file(tmp_path / f"{i}.parquet", [f"{i}{n:04d}" for n in range(400)], 1) for i in range(3)]
    for path in files:
        assert parquet_lookup.member_rows(path, path.stem + "0007") == [{"member_id": path.stem + "0007", "n": 7}]
    kept = [key[0] for key in parquet_lookup._FOOTERS]
    assert kept == [str(files[-1])]  # the least recently read went first
    assert parquet_lookup._HELD[0] == 800 <= parquet_lookup.max_chunks()
    monkeypatch.setenv("WEIXI_LOOKUP_MEMORY", "1024")
    for path in files:
        parquet_lookup.member_rows(path, path.stem + "0001")
    assert len(parquet_lookup._FOOTERS) == 3 and parquet_lookup._HELD[0] == 2400
    parquet_lookup.forget()
