"""The close's tables in Delta Lake on a generated operator (issue 21): each month one commit per table with
its application transaction, the closes table recording the versions a close built on (time travel), a lake
file deleted or corrupted by hand named by ``weixi verify`` and refused by the close, and a three-month data
folder of the layout before the lake upgraded in place with nothing changed."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

import weixi.cli  # noqa: F401  (registers every command)
from tests.integration.test_close import (  # noqa: F401  (fixtures)
    MONTHS,
    _copy_ledger,
    clean_run,
    clean_runs,
    closed,
    ledger_state,
    planned,
    snapshot,
)
from weixi.adapters.db import make_engine
from weixi.cli.app import app
from weixi.close import store
from weixi.close.run import close_month
from weixi.errors import Conflict
from weixi.ledger.verify import verify

runner = CliRunner()


def test_each_close_commits_a_month_per_table_and_records_the_versions(closed):  # noqa: F811
    engine, data = closed(MONTHS[1])
    for dataset in store.DATASETS:
        table = DeltaTable(str(store.table_dir(data, dataset)))
        assert table.transaction_version(f"weixi-close-{dataset}") == 202609, dataset
        assert table.metadata().partition_columns == ["month"]
        assert store.months(data, dataset) == MONTHS[:2]
    assert store.closed_months(data) == MONTHS[:2]
    first, second = (store.close_versions(data, m) for m in MONTHS[:2])
    assert set(first) >= {"snapshots", "close/history", "close/tier_events", "close/star_events"}
    assert all(second[t] > first[t] for t in first)  # each close built on its own commits
    assert store.read_manifest(data, MONTHS[1])["lake"] == second
    assert not list((data / "close").glob("20??-??.json"))  # no JSON manifests any more


def test_a_past_close_reads_the_version_it_recorded(closed):  # noqa: F811
    engine, data = closed(MONTHS[1])
    recorded = store.close_versions(data, MONTHS[0])["snapshots"]
    before = snapshot(data, MONTHS[0])
    # the month's snapshot replaced by hand after its close (what a later rerun or a repair would do)
    changed = before.set_column(
        before.schema.get_field_index("points_balance"),
        "points_balance",
        pa.array([0] * before.num_rows, before.schema.field("points_balance").type),
    )
    store.write(data, "snapshots", MONTHS[0], changed)
    assert snapshot(data, MONTHS[0]).equals(changed)
    assert store.read(data, "snapshots", MONTHS[0], version=recorded).equals(before)
    # any Delta reader gets the same from that version
    old = DeltaTable(str(store.table_dir(data, "snapshots")), version=recorded)
    assert old.file_uris(file_pruning_predicate=[("month", "=", MONTHS[0])]) == store.uris(
        data, "snapshots", MONTHS[0], version=recorded
    )


def _verify_lake(data, expect):
    result = runner.invoke(app, ["verify", "--lake", "--data", str(data), "--json"])
    assert result.exit_code == expect, result.output
    return json.loads(result.stdout)


def test_verify_names_a_deleted_lake_file_and_the_close_refuses_to_build_on_it(closed, tmp_path):  # noqa: F811
    engine, data = closed(MONTHS[1])
    assert _verify_lake(data, 0)["ok"] is True
    both = ["verify", "--db", str(tmp_path / "ledger.db"), "--data", str(data), "--json"]
    whole = runner.invoke(app, both)
    assert whole.exit_code == 0, whole.output
    assert json.loads(whole.stdout)["checked"]["lake_tables"] >= 4  # the ledger checked, and the lake with it
    gone = store.path(data, "history", MONTHS[1])
    gone.unlink()
    out = _verify_lake(data, 1)
    assert [(d["code"], d["table"], d["file"]) for d in out["lake"]] == [
        ("lake_file_missing", "close/history", str(gone))
    ]
    assert str(gone) in out["lake"][0]["message"]
    whole = runner.invoke(app, both)
    assert whole.exit_code == 1 and json.loads(whole.stdout)["mismatches"] == []  # the ledger is sound
    text = runner.invoke(app, ["verify", "--lake", "--data", str(data)])
    assert text.exit_code == 1 and gone.name in text.output.replace("\n", "")
    with pytest.raises(Conflict) as refused:
        close_month(engine, data, MONTHS[2])
    assert refused.value.code == "lake_file_missing" and refused.value.params["file"] == str(gone)
    assert store.closed_months(data) == MONTHS[:2]  # nothing of the month was written


def test_verify_names_a_corrupted_lake_file_and_the_close_refuses(closed):  # noqa: F811
    engine, data = closed(MONTHS[1])
    snap = store.path(data, "snapshots", MONTHS[1])
    raw = snap.read_bytes()
    snap.write_bytes(raw[:-8] + b"\0" * 8)  # same size, the footer's length and magic overwritten
    out = _verify_lake(data, 1)
    assert [(d["code"], d["file"]) for d in out["lake"]] == [("lake_file_corrupt", str(snap))]
    with pytest.raises(Conflict) as refused:
        close_month(engine, data, MONTHS[2])
    assert refused.value.code == "lake_file_corrupt" and refused.value.params["table"] == "snapshots"
    snap.write_bytes(raw)  # restored from a backup: the close goes on
    assert close_month(engine, data, MONTHS[2])["status"] == "closed"
    assert verify(engine)[0] == []


def _as_before_the_lake(data):
    """Turn a data folder into what the close before the lake left: one ``part-0.parquet`` a month per table
    (the current file), no Delta logs, and a ``close/M.json`` manifest a month."""
    for dataset in store.DATASETS:
        table = store.table_dir(data, dataset)
        keep = {m: store.path(data, dataset, m) for m in store.months(data, dataset)}
        for month, current in keep.items():
            legacy = table / f"month={month}" / "part-0.parquet"
            shutil.copy2(current, legacy.with_suffix(".keep"))
        for p in table.glob("month=*/*.parquet"):
            p.unlink()
        for p in table.glob("month=*/*.keep"):
            p.rename(p.with_suffix(".parquet"))
        shutil.rmtree(table / "_delta_log")
    for month in store.closed_months(data):
        manifest = {k: v for k, v in store.read_manifest(data, month).items() if k != "lake"}
        (data / "close" / f"{month}.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    shutil.rmtree(store.table_dir(data, store.CLOSES))


def test_a_data_folder_from_before_the_lake_upgrades_in_place_and_closes_on(clean_run, tmp_path):  # noqa: F811
    """Three months: two closed by the layout before the lake, the third closed after the upgrade, equal to the
    same three months closed on the lake throughout."""
    runs = {}
    for name in ("lake", "legacy"):
        data = tmp_path / name / "data"
        shutil.copytree(clean_run[MONTHS[1]] / "data", data)
        _copy_ledger(clean_run[MONTHS[1]] / "ledger.db", tmp_path / name / "ledger.db")
        runs[name] = (make_engine(str(tmp_path / name / "ledger.db")), data)
    engine, data = runs["legacy"]
    before = [snapshot(data, m) for m in MONTHS[:2]]
    manifests = [store.read_manifest(data, m) for m in MONTHS[:2]]
    _as_before_the_lake(data)
    assert not (data / "snapshots" / "_delta_log").exists()
    assert store.upgrade(data) == [*store.DATASETS, "closes"]
    assert [snapshot(data, m) for m in MONTHS[:2]] == before
    assert store.closed_months(data) == MONTHS[:2]
    assert [store.read_manifest(data, m)["summary"] for m in MONTHS[:2]] == [m["summary"] for m in manifests]
    assert store.files(data, "snapshots") == [data / "snapshots" / f"month={m}" / "part-0.parquet" for m in MONTHS[:2]]
    assert _verify_lake(data, 0)["ok"] is True
    for name, (eng, folder) in runs.items():
        assert close_month(eng, folder, MONTHS[2])["status"] == "closed", name
    (lake_engine, lake_data) = runs["lake"]
    assert snapshot(data, MONTHS[2]).equals(snapshot(lake_data, MONTHS[2]))
    for dataset in ("history", "tier_events", "star_events"):
        assert store.read(data, dataset, MONTHS[2]).equals(store.read(lake_data, dataset, MONTHS[2])), dataset
    assert ledger_state(engine) == ledger_state(lake_engine)
    assert verify(engine)[0] == []
    for eng, _ in runs.values():
        eng.dispose()
