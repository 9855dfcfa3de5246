"""The close's monthly files: readers list finished months only, never a write in progress."""

from __future__ import annotations

import pyarrow as pa

from weixi.close import store


def test_a_partition_being_written_is_not_listed(tmp_path):
    table = pa.table({"member_id": ["M1"], "month": ["2026-09"]})
    store.write(tmp_path, "snapshots", "2026-09", table)
    half = tmp_path / "snapshots" / "month=2026-10.tmp"  # what a close leaves while it writes, or after a crash
    half.mkdir()
    (half / "part-0.parquet").write_bytes(b"PAR1 half a file")
    assert store.months(tmp_path, "snapshots") == ["2026-09"]
    assert store.files(tmp_path, "snapshots") == [tmp_path / "snapshots" / "month=2026-09" / "part-0.parquet"]
    store.write(tmp_path, "snapshots", "2026-10", table)
    assert store.months(tmp_path, "snapshots") == ["2026-09", "2026-10"]
    assert not half.exists()  # the finished write replaced the leftover
