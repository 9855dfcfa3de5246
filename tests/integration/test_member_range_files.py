"""A close at scale cuts its per-member months into files by member range, and a member lookup reads the footer of
only the file that can hold its member.

At 10,000,000 members a year-old operator's member 360 took 1.6 s (p50): twelve months of snapshots, six of
history and twelve of the lake were ~90,000 row groups of footers, more than the lookups' footer cache holds, so
every lookup parsed them all again. Here the same operator is closed twice, once as a small operator is (a file a
month) and once with the files cut small (as 10,000,000 members are cut): what every reader sees is the same, and a
lookup with the footer cache emptied parses one file a month.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT
from weixi.adapters import parquet_lookup, schema
from weixi.adapters.db import make_engine
from weixi.close import lake_write, store
from weixi.close.run import close_month
from weixi.close.verify_lake import verify_lake
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import fold_read
from weixi.ledger.fold import accruals_dir
from weixi.ledger.verify import verify
from weixi.members.member360 import member_360
from weixi.plans.service import apply_plan

PLAN = ROOT / "plans" / "examples" / "telecom-points.yaml"  # with star levels: star events compare two snapshots
MONTHS = ["2026-08", "2026-09", "2026-10"]
MEMBERS = 600
CUT = ("history", "snapshots")


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("range-operator") / "data"
    generate(GenerateConfig(members=MEMBERS, months=3, seed=7, out=str(out), end_month=MONTHS[-1]))
    return out


def _closed(operator: Path, root: Path, cut: bool):
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "lake")
    if cut:  # files of ~150 members (history, snapshots) and ~400 lake rows, as 10,000,000 members are cut
        mp.setattr(store, "FILE_ROWS", 150)
        mp.setattr(lake_write, "FILE_ROWS", 400)
    try:
        root.mkdir(parents=True)
        shutil.copytree(operator, root / "data")
        engine = make_engine(str(root / "ledger.db"))
        schema.upgrade(engine)
        apply_plan(engine, PLAN)
        for month in MONTHS:
            close_month(engine, root / "data", month)
        return engine, root / "data"
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def pair(operator, tmp_path_factory):
    base = tmp_path_factory.mktemp("range-closes")
    whole, cut = _closed(operator, base / "whole", False), _closed(operator, base / "cut", True)
    yield whole, cut
    whole[0].dispose()
    cut[0].dispose()


def _ranges(files: list[str]) -> list[tuple[str, str]]:
    out = []
    for f in files:
        meta = pq.read_metadata(f)
        col = meta.schema.to_arrow_schema().get_field_index("member_id")
        stats = [meta.row_group(g).column(col).statistics for g in range(meta.num_row_groups)]
        out.append((min(s.min for s in stats), max(s.max for s in stats)))
    return out


def test_each_month_is_cut_into_member_ranges_in_file_name_order(pair):
    (_, whole), (_, cut) = pair
    for month in MONTHS:
        for dataset in CUT:
            assert len(store.uris(whole, dataset, month)) == 1
            files = store.uris(cut, dataset, month)  # the table's list, sorted by name
            assert len(files) >= 3
            ranges = _ranges(files)
            assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))  # disjoint, in name order
        lake = [f for f in store.lake.file_uris(accruals_dir(cut)) if f"/month={month}/" in f]
        assert len(lake) >= 2


@pytest.mark.parametrize("dataset", ["snapshots", "history", "tier_events", "star_events"])
def test_readers_see_the_same_rows_however_the_month_is_cut(pair, dataset):
    (_, whole), (_, cut) = pair
    seen = 0
    for month in MONTHS:
        a, b = store.read(whole, dataset, month), store.read(cut, dataset, month)
        order = [("member_id", "ascending")] + [(c, "ascending") for c in a.column_names if c != "member_id"]
        assert a.sort_by(order).equals(b.sort_by(order))
        seen += a.num_rows
    assert seen  # the star events of the later months compare two months' snapshots, each cut


def test_member_360_and_verify_are_the_same_on_cut_files(pair):
    (whole_engine, whole), (cut_engine, cut) = pair
    members = sorted(r["member_id"] for r in store.read(whole, "snapshots", MONTHS[0]).to_pylist())
    for member in members[:: len(members) // 12]:
        a, b = member_360(whole_engine, whole, member), member_360(cut_engine, cut, member)
        assert a["tier"]["history"] and [h["month"] for h in a["tier"]["history"]] == MONTHS
        assert a == b
    assert verify(cut_engine)[0] == []
    assert verify_lake(cut_engine, cut)[0] == []


def test_a_first_lookup_parses_the_footer_of_one_file_a_month(pair, monkeypatch):
    (_, _), (engine, cut) = pair
    members = sorted(r["member_id"] for r in store.read(cut, "snapshots", MONTHS[0]).to_pylist())
    parsed: list[str] = []
    real = parquet_lookup.pq.read_metadata

    def counted(path, *args, **kwargs):
        parsed.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(parquet_lookup.pq, "read_metadata", counted)
    # a process's first lookup: nothing cached, every file's member range from the Delta logs
    parquet_lookup.forget(ranges=True)
    store._LEARNT.clear()
    fold_read._FILES.clear()
    found = member_360(engine, cut, members[len(members) // 2])
    assert found["tier"]["history"] and found["points"]["balance"] is not None
    for table in [store.table_dir(cut, d) for d in CUT] + [accruals_dir(cut)]:
        mine = [p for p in parsed if p.startswith(str(table) + "/")]
        months = {Path(p).parent.name for p in mine}
        assert mine and len(mine) == len(months) <= len(MONTHS)  # one footer a month, not one per file
