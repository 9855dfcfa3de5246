"""The close's monthly files: readers list finished months only, never a write in progress."""

from __future__ import annotations

import pyarrow as pa

from weixi.close import store


def test_a_partition_being_written_is_not_listed(tmp_path):
    table = pa.table({"member_id": ["M1"], "month": ["2026-09"]})
    written = store.write(tmp_path, "snapshots", "2026-09", table)
    half = tmp_path / "snapshots" / "month=2026-10.tmp"  # what a close before the lake left after a crash
    half.mkdir()
    (half / "part-0.parquet").write_bytes(b"PAR1 half a file")
    orphan = tmp_path / "snapshots" / "month=2026-10" / "part-crashed.parquet"  # written, never committed
    orphan.parent.mkdir()
    orphan.write_bytes(b"PAR1 half a file")
    assert store.months(tmp_path, "snapshots") == ["2026-09"]
    assert store.files(tmp_path, "snapshots") == [written]
    assert written.parent == tmp_path / "snapshots" / "month=2026-09"
    store.write(tmp_path, "snapshots", "2026-10", table)
    assert store.months(tmp_path, "snapshots") == ["2026-09", "2026-10"]
    assert orphan not in store.files(tmp_path, "snapshots")


def test_member_rows_reads_the_member_from_its_row_groups_only(tmp_path):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    ids = sorted([f"M{i:03d}" for i in range(100)] + ["M050", "M050"])  # M050 crosses a row-group boundary
    table = pa.table({"member_id": ids, "n": list(range(len(ids)))})
    path = tmp_path / "part-0.parquet"
    pq.write_table(table, path, row_group_size=10)
    assert pq.read_metadata(path).num_row_groups == 11
    for member in ("M000", "M050", "M099", "M0505", "A", "Z"):
        expected = table.filter(pc.equal(table["member_id"], member)).to_pylist()
        assert store.member_rows(path, member, ["member_id", "n"]) == expected
    assert len(store.member_rows(path, "M050", ["member_id", "n"])) == 3
    bare = tmp_path / "nostats.parquet"
    pq.write_table(table, bare, row_group_size=10, write_statistics=False)
    assert [r["n"] for r in store.member_rows(bare, "M050", ["member_id", "n"])] == [50, 51, 52]
