"""`weixi churn train` on the real IBM Telco table and on bad input: exit 2, a message, never a traceback."""

from __future__ import annotations

import importlib.metadata
import json
import os

import pytest

from tests.e2e.cli_helpers import runner
from weixi.cli.app import app

KEYS = {"auc", "pr_auc", "lift_top_decile", "brier", "rows", "folds"}


def telco_csv():
    """The IBM Telco churn table shipped in the evalml wheel (installed --no-deps by `make install`)."""
    try:
        path = importlib.metadata.distribution("evalml").locate_file("evalml/demos/data/churn.csv")
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not os.path.exists(path):
        if os.environ.get("CI"):
            pytest.fail("evalml (test data: the IBM Telco churn table) is not installed: run make install")
        pytest.skip("evalml not installed: run make install")
    return str(path)


def run(*args, env=None):
    return runner.invoke(app, [str(a) for a in args], env=env or {})


def test_train_on_the_telco_table_with_a_report(tmp_path):
    res = run(
        "churn",
        "train",
        "--data",
        telco_csv(),
        "--label",
        "Churn",
        "--id",
        "customerID",
        "--report",
        tmp_path / "report",
        "--data-dir",
        tmp_path / "data",
        "--json",
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert KEYS <= set(out) and out["rows"] == 7043 and out["folds"] == 5
    assert 0.83 <= out["auc"] <= 0.87  # published results: about 0.84-0.85
    assert out["lift_top_decile"] > 2.5 and 0.10 < out["brier"] < 0.16
    html = (tmp_path / "report" / "churn-model-v0001.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "Calibration" in html and "TotalCharges" in html
    assert (tmp_path / "data" / "models" / "churn" / "v0001" / "model.json").exists()
    listed = json.loads(run("churn", "models", "--data-dir", tmp_path / "data", "--json").stdout)
    assert [m["version"] for m in listed] == [1]


def table(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n", encoding="utf-8")
    return path


GOOD = [(f"c{i}", i % 50, "yes" if i % 3 == 0 else "no", "", "Yes" if i % 4 == 0 else "No") for i in range(150)]


@pytest.mark.parametrize(
    "rows,args,message",
    [
        ([(r[0], r[1], r[2], r[3], "No") for r in GOOD], ["--label", "churn"], "has one class only"),
        (GOOD, ["--label", "churn"], "have no values (all missing)"),
        (GOOD[:30], ["--label", "churn"], "too few rows: 30 labelled row(s)"),
        (GOOD, ["--label", "Churned"], "no column 'Churned' (given by --label)"),
        (GOOD, ["--label", "churn", "--id", "cust"], "no column 'cust' (given by --id)"),
    ],
)
def test_bad_input_is_named_with_exit_2(tmp_path, rows, args, message):
    f = table(tmp_path / "t.csv", ["id", "tenure", "partner", "empty_col", "churn"], rows)
    res = run("churn", "train", "--data", f, *args, "--data-dir", tmp_path / "d")
    assert res.exit_code == 2, res.output
    assert message in res.output.replace("\n", " ") and "Traceback" not in res.output
    js = run("churn", "train", "--data", f, *args, "--data-dir", tmp_path / "d", "--json")
    assert js.exit_code == 2 and message in json.loads(js.stdout)["error"]["message"]


def test_usage_errors_exit_2(tmp_path):
    for args, message in (
        (["churn", "train"], "either --month"),
        (["churn", "train", "--data", "x.csv"], "--data needs --label"),
        (["churn", "train", "--month", "2026-13"], "is not a month"),
        (["churn", "score", "--month", "2026-10", "--data-dir", tmp_path / "nope"], "does not exist"),
        (["targets", "build", "--month", "2026-10", "--data-dir", tmp_path / "nope"], "does not exist"),
    ):
        res = run(*args)
        assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output, res.output


def test_operator_cli_round_trip(tmp_path):
    data = tmp_path / "op"
    assert run("generate", "--members", 1500, "--months", 6, "--seed", 2, "--out", data, "--json").exit_code == 0
    env = {"WEIXI_DATA": str(data)}
    out = json.loads(run("churn", "train", "--month", "2026-10", "--json", env=env).stdout)
    assert KEYS <= set(out) and out["auc"] > 0.65
    scored = run("churn", "score", "--month", "2026-08", env=env)
    assert scored.exit_code == 0 and "scored" in scored.output
    built = run("targets", "build", "--month", "2026-08", "--csv", tmp_path / "calls.csv", "--json", env=env)
    assert built.exit_code == 0, built.output
    assert (tmp_path / "calls.csv").read_text(encoding="utf-8-sig").startswith('"priority_rank","member_id","phone"')
    inc = run(
        "targets", "export", "--month", "2026-08", "--out", tmp_path / "inc.csv", "--format", "incentive", env=env
    )
    assert inc.exit_code == 0, inc.output
    ev = run("targets", "evaluate", "--month", "2026-08", "--json", env=env)
    assert ev.exit_code == 0 and json.loads(ev.stdout)["analysis"] == "intent to treat"
    early = run("targets", "evaluate", "--month", "2026-10", env=env)
    assert early.exit_code == 2 and "no target lists for 2026-10" in early.output


def test_json_refusals_print_the_error_envelope(tmp_path):
    """Under --json a refusal prints the one error envelope (code, message, params, where, details), exit 2."""
    nope = tmp_path / "nope"
    for args, code, params in (
        (
            ["targets", "build", "--month", "2026-10", "--data-dir", nope],
            "churn_data_dir_missing",
            {"data_dir": str(nope)},
        ),
        (["churn", "train", "--month", "2026-10", "--data", "x.csv"], "churn_train_source_needed", {}),
        (
            ["clv", "fit", "--model", "nope", "--summary", "s.csv"],
            "clv_model_unknown",
            {"model": "nope", "models": ["bgnbd", "paretonbd", "gammagamma", "sbg"]},
        ),
    ):
        res = run(*args, "--json")
        assert res.exit_code == 2, res.output
        err = json.loads(res.stdout)["error"]
        assert set(err) == {"code", "message", "params", "where", "details"}
        assert err["code"] == code and err["params"] == params and err["message"], err
