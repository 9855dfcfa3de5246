"""The accrual reads only the lake partitions whose id ranges meet its batch's (``weixi.close.lake_ids``).

A close checks that no id of its month is in another partition. Each partition keeps, per leading character of its
ids, the least and greatest id; a partition whose ranges all miss the batch's cannot hold one of its ids and is not
read. A month's bill delivered again in a later month's file is still a duplicate, and ranges kept for other files
than the partition's are found again from the files."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.integration.test_lake_ledger import MONTHS, _ledger, operator  # noqa: F401 (a fixture)
from weixi.adapters import lake
from weixi.close import lake_ids
from weixi.close.run import close_month
from weixi.close.verify_lake import verify_lake
from weixi.ledger.fold import accruals_dir
from weixi.ledger.verify import verify

IDS = st.text(alphabet="ABR0129-", min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.sets(IDS, min_size=1, max_size=12), st.sets(IDS, min_size=1, max_size=12))
def test_batches_sharing_an_id_always_meet(theirs, ours):
    con = duckdb.connect()
    con.register("a", pa.table({"event_id": sorted(theirs)}))
    con.register("b", pa.table({"event_id": sorted(ours)}))
    met = lake_ids.meet(lake_ids.ranges(con, "a"), lake_ids.ranges(con, "b"))
    if theirs & ours:
        assert met
    # ranges that meet need not share an id; ranges that miss never do
    if not met:
        assert not theirs & ours


def test_month_stamped_ids_miss_and_a_shared_prefix_range_meets():
    con = duckdb.connect()
    old = lake_ids.ranges(con, "(SELECT unnest(['B2025110001', 'B2025110099', 'R2025110007']) AS event_id)")
    new = lake_ids.ranges(con, "(SELECT unnest(['B2026100001', 'R2026100002', 'R2026100050']) AS event_id)")
    assert old == {"B": ("B2025110001", "B2025110099"), "R": ("R2025110007", "R2025110007")}
    assert not lake_ids.meet(old, new)
    assert lake_ids.meet(old, {**new, "B": ("B2025110050", "B2026100001")})  # an old bill again, in a new file


def _partitions(data) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = {}
    for uri in lake.file_uris(accruals_dir(data)):
        by_key.setdefault(uri.split("/month=")[1].split("/")[0], []).append(uri)
    return by_key


def _recording(monkeypatch) -> list:
    """``lake_ids.holding`` that records the files it returns, per call."""
    calls: list = []
    real = lake_ids.holding

    def holding(con, lake_dir, by_key, ours):
        out = real(con, lake_dir, by_key, ours)
        calls.append(sorted(out))
        return out

    monkeypatch.setattr(lake_ids, "holding", holding)
    return calls


def test_a_close_reads_no_earlier_partition_when_the_ids_grow_with_the_month(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    calls = _recording(monkeypatch)
    for month in MONTHS:
        close_month(engine, data, month)
    # each month's ranges are kept with its files, and are the ranges of the ids those files hold
    con = duckdb.connect()
    for key, files in _partitions(data).items():
        kept = json.loads((data / "lake" / "ids" / f"{key}.json").read_text(encoding="utf-8"))
        assert sorted(name for name, _ in kept["files"]) == sorted(f.rsplit("/", 1)[1] for f in files)
        found = lake_ids.ranges(con, f"read_parquet({files!r})")
        assert all(kept["facts"][c][0] <= lo and hi <= kept["facts"][c][1] for c, (lo, hi) in found.items())
    # the generator's ids carry their month: no close reads another partition's ids
    assert calls == [[], [], []]
    assert verify(engine)[0] == [] and verify_lake(engine, data)[0] == []


def _repeat_bill(data, from_month: str, to_month: str) -> str:
    """A paid bill of ``from_month`` delivered again (same id, same member) in ``to_month``'s bills."""
    part = sorted((data / "bills").glob("part-*.parquet"))[0]
    con = duckdb.connect()
    bill = con.execute(
        f"SELECT bill_id FROM read_parquet('{part}') WHERE month = '{from_month}' AND paid AND amount_fen > 100 "
        "ORDER BY bill_id LIMIT 1"
    ).fetchone()[0]
    rows = con.execute(
        f"SELECT * FROM read_parquet('{part}') UNION ALL SELECT * REPLACE ('{to_month}' AS month, "
        f"CAST(billed_on + INTERVAL 2 MONTH AS DATE) AS billed_on, CAST(paid_on + INTERVAL 2 MONTH AS DATE) AS paid_on) "
        f"FROM read_parquet('{part}') WHERE bill_id = '{bill}'"
    ).fetch_arrow_table()
    pq.write_table(rows, part)
    return bill


def test_an_earlier_months_bill_in_a_later_months_file_is_a_duplicate(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    bill = _repeat_bill(data, MONTHS[0], MONTHS[2])
    calls = _recording(monkeypatch)
    results = [close_month(engine, data, month) for month in MONTHS]
    assert [r["accrual"]["duplicates"] for r in results] == [0, 0, 1]
    # the third month's bill range reaches back to the repeated bill: the months it spans are read
    assert calls[2] == sorted(_partitions(data)[MONTHS[0]] + _partitions(data)[MONTHS[1]])
    files = lake.file_uris(accruals_dir(data))
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r}) WHERE event_id = '{bill}'").fetchone()[0] == 1
    assert verify(engine)[0] == []


def _ids_file(path, ids: list[str]) -> str:
    pq.write_table(pa.table({"event_id": ids}), path)
    return str(path)


def test_ranges_kept_for_other_files_are_read_again_from_the_files(tmp_path):
    con = duckdb.connect()
    lake_dir = tmp_path / "lake"
    a = _ids_file(tmp_path / "a.parquet", ["B2026010001", "B2026010009"])
    b = _ids_file(tmp_path / "b.parquet", ["B2026020001", "B2026020009"])
    ours = {"B": ("B2026020005", "B2026020005")}
    # kept for file a alone, the partition now a and b: read again, and b's ids meet the batch
    lake_ids.keep(lake_dir, "2026-01", [a], lake_ids.ranges(con, f"read_parquet({[a]!r})"))
    assert lake_ids.holding(con, lake_dir, {"2026-01": [a, b]}, ours) == [a, b]
    kept = json.loads((lake_dir / "ids" / "2026-01.json").read_text(encoding="utf-8"))
    assert kept["facts"] == {"B": ["B2026010001", "B2026020009"]}
    # a file rewritten under its name with other ids (another size): read again
    lake_ids.keep(lake_dir, "2026-02", [b], {"B": ("B2026020001", "B2026020009")})
    _ids_file(tmp_path / "b.parquet", ["B2026030001", "B2026030002", "B2026030003"])
    assert lake_ids.holding(con, lake_dir, {"2026-02": [b]}, ours) == []
    assert lake_ids.holding(con, lake_dir, {"2026-02": [b]}, {"B": ("B2026030002", "B2026030002")}) == [b]
    # a damaged record: read again
    (lake_dir / "ids" / "2026-02.json").write_text("{", encoding="utf-8")
    assert lake_ids.holding(con, lake_dir, {"2026-02": [b]}, ours) == []
