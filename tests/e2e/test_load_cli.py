"""``weixi load`` end to end: --json summary shape, exit codes, masking, --data / WEIXI_DATA."""

from __future__ import annotations

import json

from typer.testing import CliRunner

import weixi.cli  # noqa: F401  (registers every command)
from tests.unit.members.conftest import id_number, write_bills, write_csv, write_members
from weixi.cli.app import app

runner = CliRunner()
SUMMARY_KEYS = {"status", "seq", "table", "store", "source", "format", "encoding", "sha256", "loaded_at", "rows",
                "loaded", "replaced", "unchanged", "quarantined", "issues", "columns", "ignored_columns",
                "row_numbers", "file", "quarantine_file", "examples", "data"}  # fmt: skip


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env or {})


def test_load_json_summary_exit_codes_and_masking(tmp_path):
    data = tmp_path / "d"
    write_members(data)
    write_bills(data)
    f = write_csv(tmp_path / "m.csv", ["用户编号", "姓名", "手机号码", "身份证号"],
                  [["N1", "张三", "13812341234", id_number("44030119900101123")],
                   ["N2", "李四", "1381234", "440301199001011230"]], encoding="gbk")  # fmt: skip
    r = run("load", "members", f, "--data", data, "--json")
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert SUMMARY_KEYS <= set(s)
    assert (s["status"], s["loaded"], s["quarantined"], s["encoding"]) == ("loaded", 1, 1, "gb18030")
    assert {e["field"]: e["value"] for e in s["examples"]} == {"phone": "*******", "id_number": "440301********1230"}
    assert "13812341234" not in r.stdout
    # text output, masked; reload = nothing changed, exit 0
    r = run("load", "members", f, "--data", data)
    assert r.exit_code == 0 and "already loaded" in r.stdout
    r = run("load", "members", f, "--data", data, "--force")
    assert r.exit_code == 0 and "unchanged 1" in r.stdout and "quarantined 1" in r.stdout
    assert "1381234" not in r.stdout and "440301********1230" in r.stdout


def test_load_errors_exit_1(tmp_path):
    data = tmp_path / "d"
    write_members(data)
    r = run("load", "bills", tmp_path / "missing.csv", "--data", data, "--json")
    assert r.exit_code == 1 and "no such file" in json.loads(r.stdout)["error"]["message"]
    f = write_csv(tmp_path / "b.csv", ["a", "b"], [["1", "2"]])
    r = run("load", "bills", f, "--data", data, "--json")
    assert r.exit_code == 1 and "no column for bill_id" in json.loads(r.stdout)["error"]["message"]
    r = run("load", "nope", f, "--data", data, "--json")
    assert r.exit_code == 1 and "unknown table" in json.loads(r.stdout)["error"]["message"]
    r = run("load", "bills", f, "--data", data, "--map", "x", "--json")
    assert r.exit_code == 1 and "SOURCE=FIELD" in json.loads(r.stdout)["error"]["message"]
    r = run("load", "bills", f, "--data", data, "--encoding", "latin1")
    assert r.exit_code == 1


def test_load_uses_weixi_data_and_map(tmp_path):
    data = tmp_path / "env"
    write_members(data)
    f = write_csv(tmp_path / "b.csv", ["单号", "用户编号", "账期", "费"], [["B1", "M0000000001", "2026-03", "9.90"]])
    r = run("load", "bills", f, "--map", "单号=bill_id", "--map", "费=amount", "--json", env={"WEIXI_DATA": str(data)})
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["loaded"] == 1 and s["data"] == str(data) and (data / s["file"]).exists()
    assert "--map" in run("load", "--help").stdout
