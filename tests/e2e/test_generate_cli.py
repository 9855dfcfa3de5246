"""``weixi generate`` end to end: files, manifest, --json, determinism, errors."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from tests.e2e.cli_helpers import weixi, weixi_json


def test_generate_writes_every_table_and_the_manifest(tmp_path):
    out = tmp_path / "op"
    manifest = weixi_json("generate", "--members", 1500, "--months", 3, "--seed", 4, "--out", out,
                          "--end-month", "2026-02", "--chunk-size", 700)  # fmt: skip
    assert manifest["months"] == ["2025-12", "2026-01", "2026-02"]
    assert manifest["chunks"] == 3 and manifest["members"] == 1500
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    for table, info in manifest["tables"].items():
        files = sorted((out / table).glob("part-*.parquet"))
        assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
        assert pq.read_table(out / table).num_rows == info["rows"]
    assert manifest["tables"]["members"]["rows"] == 1500
    assert manifest["tables"]["bills"]["rows"] > 3 * 1000


def test_generate_text_output_and_same_data_with_two_workers(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    text = weixi("generate", "-n", 600, "-m", 2, "--out", a, "--chunk-size", 200).stdout
    assert "600 members" in text and "bills" in text
    weixi("generate", "-n", 600, "-m", 2, "--out", b, "--chunk-size", 300, "--workers", 2)
    keys = {"members": "member_id", "bills": "bill_id", "complaints": "complaint_id", "churn_labels": "member_id"}
    for table, key in keys.items():
        ta = pq.read_table(a / table).sort_by(key)
        tb = pq.read_table(b / table).sort_by(key)
        assert ta.equals(tb), table


def test_generate_errors(tmp_path):
    out = weixi_json("generate", "-n", 10, "--end-month", "2026-13", "--out", tmp_path / "x", expect=1)
    assert "YYYY-MM" in out["error"]["message"]
    weixi("generate", "-n", 10, "-m", 1, "--out", tmp_path / "y")
    out = weixi_json("generate", "-n", 10, "-m", 1, "--out", tmp_path / "y", expect=1)
    assert "--overwrite" in out["error"]["message"]
    weixi_json("generate", "-n", 10, "-m", 1, "--out", tmp_path / "y", "--overwrite")
    assert "--members" in weixi("generate", "--help").stdout
