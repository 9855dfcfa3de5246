"""A big lake month is written as several files by member range (``weixi.close.lake_write``): one sort of a
10,000,000-member month ran out of the close's DuckDB memory. Here the file size is cut to a few hundred rows so a
1,500-member month takes several files, and everything a user sees is the same as with one file: the month's rows,
the snapshot, a member's balance and statement after the fold, and ``weixi verify``."""

from __future__ import annotations

from datetime import date

import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.integration.test_close import (  # noqa: F401  (fixtures)
    MONTHS,
    _copy_ledger,
    clean_runs,
    ledger_state,
    planned,
    setup,
    snapshot,
)
from weixi import settings
from weixi.adapters import lake
from weixi.adapters.db import make_engine
from weixi.close import lake_write
from weixi.close.run import close_month
from weixi.ledger import queries
from weixi.ledger.fold import accruals_dir
from weixi.ledger.verify import verify


def _rows(data, month):
    files = lake.file_uris(accruals_dir(data), partition={"month": month})
    return files, pq.ParquetDataset(files).read().sort_by([("event_id", "ascending")])


def test_a_month_cut_into_member_ranges_reads_as_one(setup, clean_runs, monkeypatch, tmp_path):  # noqa: F811
    engine, data = setup
    monkeypatch.setenv(settings.LEDGER_STORE.name, "lake")
    clean_run = clean_runs("lake")  # noqa: F811  (one file a month)
    monkeypatch.setattr(lake_write, "FILE_ROWS", 400)
    close_month(engine, data, MONTHS[0])
    files, rows = _rows(data, MONTHS[0])
    one_file, expected = _rows(clean_run[MONTHS[0]] / "data", MONTHS[0])
    assert len(one_file) == 1 and rows.num_rows > 1200
    assert len(files) >= rows.num_rows // 400 - 1  # about a file per 400 rows
    assert rows.equals(expected)  # the same rows, entries included
    # each file sorted by member and posting order; the files' member ranges disjoint, in the order listed
    previous_last = ""
    for f in sorted(files, key=lambda f: pq.read_table(f, columns=["member_id"])["member_id"][0].as_py()):
        t = pq.read_table(f, columns=["member_id", "seq"])
        keys = list(zip(t["member_id"].to_pylist(), t["seq"].to_pylist()))
        assert keys == sorted(keys)
        assert keys[0][0] > previous_last
        previous_last = keys[-1][0]
        assert pq.ParquetFile(f).metadata.row_group(0).num_rows <= lake_write.ROW_GROUP
    # what members see: the snapshot, then a member's balance and lots after the fold, and verify clean
    assert snapshot(data, MONTHS[0]).equals(snapshot(clean_run[MONTHS[0]] / "data", MONTHS[0]))
    other = tmp_path / "one.db"
    _copy_ledger(clean_run[MONTHS[0]] / "ledger.db", other)
    reference = make_engine(str(other))
    try:
        members = pc.unique(rows["member_id"]).to_pylist()
        for member in members[:: max(1, len(members) // 25)]:
            at = date(2026, 9, 30)
            assert queries.balance(engine, member, at) == queries.balance(reference, member, at), member
        assert ledger_state(engine) == ledger_state(reference)
    finally:
        reference.dispose()
    mismatches, _ = verify(engine)
    assert mismatches == []
