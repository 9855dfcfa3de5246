"""``weixi clv`` end to end: published estimates through the CLI, scores files, exit status 2 on bad input."""

from __future__ import annotations

import csv
import json

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import weixi.cli  # noqa: F401  (registers every command)
from tests.unit.clv.conftest import SBG_SURVIVAL, cdnow_transactions_csv, lifetimes_datasets
from weixi.cli.app import app

runner = CliRunner()


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def ok_json(*args):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def transactions(tmp_path_factory):
    return cdnow_transactions_csv(tmp_path_factory.mktemp("cdnow") / "tx.csv")


def tx_args(path):
    return [
        "--transactions",
        path,
        "--customer",
        "customer",
        "--date",
        "date",
        "--amount",
        "amount",
        "--calibration-end",
        "1997-09-30",
    ]


def test_fit_reproduces_the_published_estimates(transactions):
    summary = lifetimes_datasets() / "cdnow_customers_summary.csv"
    bg = ok_json(
        "clv",
        "fit",
        "--summary",
        summary,
        "--frequency",
        "frequency",
        "--recency",
        "recency",
        "--age",
        "T",
        "--model",
        "bgnbd",
    )
    assert {k: round(v, 3) for k, v in bg["params"].items()} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(bg["log_likelihood"], 1) == -9582.4 and bg["customers"] == 2357
    pn = ok_json("clv", "fit", *tx_args(transactions), "--model", "paretonbd")
    assert pn["params"]["r"] == pytest.approx(0.553, abs=1e-3) and pn["params"]["s"] == pytest.approx(0.606, abs=1e-3)
    assert round(pn["log_likelihood"], 1) == -9595.0
    gg = ok_json("clv", "fit", *tx_args(transactions), "--model", "gammagamma")
    assert gg["customers"] == 946 and gg["params"]["p"] == pytest.approx(6.25, abs=0.01)
    text = run("clv", "fit", *tx_args(transactions), "--model", "bgnbd")
    assert text.exit_code == 0 and "0.2426" in text.stdout and "-9582.4" in text.stdout


def test_sbg_fit_on_the_papers_survival_table(tmp_path):
    rows = [r for r in csv.DictReader(open(SBG_SURVIVAL)) if r["cohort"] == "high_end" and int(r["period"]) <= 7]
    path = tmp_path / "high_end.csv"
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, ["cohort", "period", "alive"])
        w.writeheader()
        w.writerows(rows)
    fit = ok_json("clv", "fit", "--model", "sbg", "--survival", path, "--period", "period", "--alive", "alive")
    assert (round(fit["params"]["alpha"], 3), round(fit["params"]["beta"], 3)) == (0.668, 3.806)


def test_summarise_then_score_with_saved_parameters(transactions, tmp_path):
    summary = tmp_path / "summary.parquet"
    info = ok_json("clv", "summarise", *tx_args(transactions), "--out", summary)
    assert info["customers"] == 2357 and info["repeat_customers"] == 946
    fit = ok_json("clv", "fit", "--summary", summary, "--monetary", "monetary", "--model", "bgnbd")
    params = tmp_path / "bgnbd.json"
    params.write_text(json.dumps(fit))
    out = tmp_path / "scores.parquet"
    scored = ok_json(
        "clv",
        "score",
        "--summary",
        summary,
        "--monetary",
        "monetary",
        "--customer",
        "customer_id",
        "--params",
        params,
        "--horizon",
        52,
        "--out",
        out,
    )
    assert scored["members"] == 2357 and scored["fits"]["bgnbd"]["given"] is True
    table = pq.read_table(out)
    assert table.num_rows == 2357 and {"p_alive", "expected_transactions", "clv"} <= set(table.column_names)
    assert table["customer_id"][0].as_py() == "0001"
    csv_out = tmp_path / "scores.csv"
    text = run("clv", "score", *tx_args(transactions), "--model", "paretonbd", "--horizon", 39, "--out", csv_out)
    assert text.exit_code == 0 and "2,357 members" in text.stdout and csv_out.read_text().startswith('"customer_id"')


def test_sbg_scores_members(tmp_path):
    members = tmp_path / "contracts.csv"
    members.write_text("member,periods,left,fee\nA,1,yes,50\nB,3,no,80\nC,7,no,120\nD,2,yes,10\nE,5,yes,60\n")
    out = tmp_path / "renewals.parquet"
    info = ok_json(
        "clv",
        "score",
        "--model",
        "sbg",
        "--renewals",
        members,
        "--member",
        "member",
        "--tenure",
        "periods",
        "--churned",
        "left",
        "--value",
        "fee",
        "--horizon",
        12,
        "--discount-rate",
        0.1,
        "--out",
        out,
    )
    assert info["members"] == 5 and info["active"] == 2
    rows = {r["member_id"]: r for r in pq.read_table(out).to_pylist()}
    assert rows["A"]["derl"] == 0 and rows["C"]["derl"] > rows["B"]["derl"] > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "bgnbd", "--summary", "{dir}/s.csv", "--frequency", "x"], "no column --frequency 'x'"),
        (
            ["--model", "bgnbd", "--summary", "{dir}/bad.csv"],
            "column 'recency' is not a number in 1 row(s) (line 3: 'soon')",
        ),
        (["--model", "bgnbd", "--summary", "{dir}/late.csv"], "is greater than the age"),
        (["--model", "bgnbd", "--summary", "{dir}/empty.csv"], "no customers (the file is empty)"),
        (["--model", "bgnbd", "--summary", "{dir}/flat.csv"], "did not converge"),
        (["--model", "nope", "--summary", "{dir}/s.csv"], "unknown model 'nope'"),
        (["--model", "bgnbd"], "give either --transactions"),
        (
            [
                "--model",
                "bgnbd",
                "--transactions",
                "{dir}/tx.csv",
                "--customer",
                "c",
                "--date",
                "d",
                "--calibration-end",
                "30/09/1997",
            ],
            "is not a date",
        ),
        (
            [
                "--model",
                "bgnbd",
                "--transactions",
                "{dir}/tx.csv",
                "--customer",
                "c",
                "--date",
                "d",
                "--amount",
                "amt",
                "--calibration-end",
                "2024-12-31",
            ],
            "column 'amt' is not a number in 1 row(s) (line 2: '1O.00')",
        ),
    ],
)
def test_bad_input_exits_2_with_a_located_message(tmp_path, args, message):
    (tmp_path / "s.csv").write_text("frequency,recency,T\n1,2,5\n")
    (tmp_path / "bad.csv").write_text("frequency,recency,T\n1,2,5\n2,soon,5\n")
    (tmp_path / "late.csv").write_text("frequency,recency,T\n1,6,5\n")
    (tmp_path / "empty.csv").write_text("frequency,recency,T\n")
    # every customer buys steadily and is seen buying at the end: dropout is not identified
    (tmp_path / "flat.csv").write_text("frequency,recency,T\n" + "".join(f"{k},10,10\n" for k in (2, 3, 4, 5)))
    (tmp_path / "tx.csv").write_text("c,d,amt\nA,2024-01-01,1O.00\nA,2024-02-01,5\n")
    full = ["clv", "fit", *[a.format(dir=tmp_path) for a in args]]
    result = run(*full)
    assert result.exit_code == 2, result.output
    assert message in result.output
    as_json = run(*full, "--json")
    assert as_json.exit_code == 2 and message in json.loads(as_json.stdout)["error"]["message"]
