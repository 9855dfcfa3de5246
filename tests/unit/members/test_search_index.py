"""Member search through the search index: the same members as the archive scan, kept current by every members
load, never read when stale, and reading only the row groups that can hold the key."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.members.test_members_intake import load, member_row
from weixi.adapters import parquet_lookup, search_index
from weixi.members import search as member_search

NAMES = ["张伟", "张敏", "王芳", "李娜", "张伟"]


def _people(n: int = 40) -> list[list]:
    return [
        member_row(mid=f"N{i:04d}", name=NAMES[i % len(NAMES)] + ("" if i < 5 else str(i)), phone=f"1381234{i:04d}")
        for i in range(n)
    ]


def _ids(rows):
    return [r["member_id"] for r in rows]


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "archive"  # only the members these tests load


QUERIES = ["N0001", "N00", "张", "张伟", "王芳1", "13812340007", "0007", "4000", "nobody", "138"]


def test_every_members_load_leaves_a_fresh_index_that_finds_what_the_scan_finds(data, tmp_path, monkeypatch):
    load(data, tmp_path, _people())
    assert search_index.fresh(data) is not None
    indexed = {q: _ids(member_search.search(data, q, phone_fragments=True)) for q in QUERIES}
    monkeypatch.setattr(search_index, "fresh", lambda d: None)  # force the scan
    scanned = {q: _ids(member_search.search(data, q, phone_fragments=True)) for q in QUERIES}
    assert indexed == scanned
    assert (
        indexed["张伟"] == [f"N{i:04d}" for i in range(40) if i % 5 in (0, 4)]
        and indexed["0007"] == ["N0007"]
        and indexed["138"] == []
    )
    assert len(indexed["张"]) == 24  # 张伟 / 张敏 and their numbered namesakes: a surname finds them all


def test_a_corrected_phone_is_found_by_its_new_number_only(data, tmp_path):
    load(data, tmp_path, _people())
    load(data, tmp_path, [member_row(mid="N0003", name="李娜", phone="13900001111")], name="fix.csv")
    assert _ids(member_search.search(data, "13900001111")) == ["N0003"]
    assert _ids(member_search.search(data, "13812340003")) == []
    assert _ids(member_search.search(data, "1111", phone_fragments=True)) == ["N0003"]


def test_a_stale_index_is_not_read(data, tmp_path, monkeypatch):
    load(data, tmp_path, _people())
    monkeypatch.setattr(search_index, "build", lambda d: None)  # a load that did not rebuild it
    load(data, tmp_path, [member_row(mid="N9999", name="赵六", phone="13700009999")], name="more.csv")
    assert search_index.fresh(data) is None
    assert _ids(member_search.search(data, "赵六")) == ["N9999"]


def test_build_is_skipped_when_fresh_and_redone_when_the_archive_changed(data, tmp_path):
    load(data, tmp_path, _people())
    again = search_index.build(data)
    assert again["rebuilt"] is False and again["members"] == 40 and again["keys"] == 40 * 4
    load(data, tmp_path, [member_row(mid="N7777", phone="13700007777")], name="one.csv")
    assert search_index.build(data)["rebuilt"] is False  # the load already rebuilt it
    assert json_counts(data)["members"] == 41


def json_counts(data) -> dict:
    import json

    return json.loads(search_index.location(data).with_suffix(".json").read_text())["counts"]


def test_prefix_lookup_reads_only_the_row_groups_it_needs(tmp_path: Path, monkeypatch):
    keys = sorted(f"n:{c}{i:03d}" for c in "ABCDEFGH" for i in range(100))
    path = tmp_path / "index.parquet"
    pq.write_table(pa.table({"key": keys, "member_id": [f"M{i}" for i in range(len(keys))]}), path, row_group_size=50)
    read = []
    real = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", lambda self, i, **kw: read.append(i) or real(self, i, **kw))
    rows = parquet_lookup.prefix_rows(path, "key", "n:D", 60)
    assert [r["key"] for r in rows] == keys[300:360]
    assert read == [6, 7]  # 16 groups of 50: "n:D000".."n:D059" are in groups 6 and 7, and 60 rows are enough
    read.clear()
    assert parquet_lookup.prefix_rows(path, "key", "n:Z", 10) == [] and read == []
