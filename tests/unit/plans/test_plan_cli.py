"""``weixi plan check`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import weixi.cli  # noqa: F401  registers the commands
from weixi.cli.app import app

EXAMPLES = Path(__file__).resolve().parents[3] / "plans" / "examples"
runner = CliRunner()

GOOD = "plan: good\nname: Good\nexpiry: {months_after: 12}\n"
BAD = """\
plan: bad
name: Bad
earning:
  - {id: bill, type: spend, per_yaun: 10}
  - {id: bill, type: signup, points: 0}
"""
WARN = "plan: warn\nname: Warn\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_clean_files_exit_zero_with_ok_summary(tmp_path):
    good = write(tmp_path, "good.yaml", GOOD)
    result = runner.invoke(app, ["plan", "check", good, str(EXAMPLES / "telecom-points.yaml")])
    assert result.exit_code == 0, result.output
    assert result.output == "ok: 2 files checked\n"


def test_errors_print_sorted_lines_and_summary_and_exit_one(tmp_path):
    bad = write(tmp_path, "bad.yaml", BAD)
    result = runner.invoke(app, ["plan", "check", bad])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        f"{bad}:1:1: warning: points never expire: outstanding points stay a liability forever"
        " (set expiry, or write 'expiry: never' on purpose and accept this warning)",
        f"{bad}:4:29: error: unknown key 'per_yaun' in earning rule 'bill'; did you mean 'per_yuan'?",
        f"{bad}:5:10: error: duplicate rule id 'bill' (first defined at line 4, column 10)",
        f"{bad}:5:38: error: points: must be a positive whole number, got 0",
        "3 errors, 1 warning in 1 file",
    ]


def test_warnings_alone_exit_zero(tmp_path):
    warn = write(tmp_path, "warn.yaml", WARN)
    result = runner.invoke(app, ["plan", "check", warn])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "0 errors, 1 warning in 1 file"


def test_json_prints_only_the_list(tmp_path):
    bad = write(tmp_path, "bad.yaml", BAD)
    good = write(tmp_path, "good.yaml", GOOD)
    result = runner.invoke(app, ["plan", "check", "--json", good, bad])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert isinstance(data, list) and len(data) == 4
    assert all(set(d) == {"file", "line", "column", "severity", "code", "params", "message"} for d in data)
    assert data[1] == {
        "file": bad,
        "line": 4,
        "column": 29,
        "severity": "error",
        "code": "plan_unknown_key_of_suggest",
        "params": {"key": "per_yaun", "noun": "earning_rule", "id": "bill", "suggestion": "per_yuan"},
        "message": "unknown key 'per_yaun' in earning rule 'bill'; did you mean 'per_yuan'?",
    }


def test_json_of_clean_files_is_an_empty_list(tmp_path):
    good = write(tmp_path, "good.yaml", GOOD)
    result = runner.invoke(app, ["plan", "check", good, "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == []


def test_missing_file_is_an_error_not_a_traceback(tmp_path):
    missing = str(tmp_path / "missing.yaml")
    result = runner.invoke(app, ["plan", "check", missing])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.splitlines() == [
        f"{missing}:1:1: error: cannot read plan file: no such file",
        "1 error, 0 warnings in 1 file",
    ]


def test_yaml_syntax_error_exit_one(tmp_path):
    broken = write(tmp_path, "broken.yaml", "plan: p\nname: [x\n")
    result = runner.invoke(app, ["plan", "check", "--json", broken])
    assert result.exit_code == 1
    (diagnostic,) = json.loads(result.output)
    assert diagnostic["severity"] == "error" and diagnostic["message"].startswith("invalid YAML")


def test_all_examples_check_clean():
    files = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))
    assert len(files) >= 4
    result = runner.invoke(app, ["plan", "check", *files])
    assert result.exit_code == 0, result.output
    assert result.output == f"ok: {len(files)} files checked\n"
