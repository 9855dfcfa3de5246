"""The service layer: transactions → summary in DuckDB, located errors, per-member scores."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.unit.clv.conftest import SBG_SURVIVAL, cdnow_transactions_csv
from weixi.clv import DataError, bgnbd
from weixi.clv import service as clv

END = date(1997, 9, 30)  # the end of the 39-week calibration period


@pytest.fixture(scope="module")
def cdnow_summary(tmp_path_factory):
    path = cdnow_transactions_csv(tmp_path_factory.mktemp("cdnow") / "transactions.csv")
    return clv.summarise_transactions(path, customer="customer", date_col="date", amount="amount", calibration_end=END)


def write(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_summary_of_cdnow_transactions_is_the_published_summary(cdnow_summary, cdnow_spend):
    s = cdnow_summary
    assert s.num_rows == 2357
    np.testing.assert_array_equal(s["frequency"].to_numpy(), cdnow_spend["x"])
    np.testing.assert_allclose(s["recency"].to_numpy(), cdnow_spend["t_x"], atol=0.006)  # published to 2 decimals
    np.testing.assert_allclose(s["T"].to_numpy(), cdnow_spend["T"], atol=0.006)
    monetary = np.array([float(v) if v is not None else 0.0 for v in s["monetary"].to_pylist()])
    np.testing.assert_allclose(monetary, cdnow_spend["zbar"], atol=0.006)
    assert isinstance(s["monetary"][0].as_py(), Decimal)  # money stays exact
    first = s.slice(0, 1).to_pylist()[0]
    assert (first["customer_id"], first["frequency"], first["first_purchase"], first["last_purchase"]) == (
        "0001",
        2,
        date(1997, 1, 1),
        date(1997, 8, 2),
    )
    assert first["holdout_frequency"] == 1  # one purchase day after 1997-09-30
    fit = clv.fit_summary(s, "bgnbd")
    np.testing.assert_allclose(list(fit.params.values()), [0.243, 4.414, 0.793, 2.426], atol=1e-3)


def test_score_members_keeps_order_fits_once_and_writes_atomically(cdnow_summary, tmp_path):
    out = tmp_path / "scores.parquet"
    scored = clv.score_members(cdnow_summary, horizon=39, discount_rate=0.1, out=out)
    assert scored.column_names == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary",
        "p_alive",
        "expected_transactions",
        "discounted_transactions",
        "expected_spend",
        "clv",
    ]
    assert scored["customer_id"].to_pylist() == cdnow_summary["customer_id"].to_pylist()
    p = scored["p_alive"].to_numpy()
    assert np.all((p > 0) & (p <= 1)) and np.all(p[cdnow_summary["frequency"].to_numpy() == 0] == 1)
    tx = scored["expected_transactions"].to_numpy()
    assert np.all(scored["discounted_transactions"].to_numpy() <= tx + 1e-12)
    # customer 0001 (x=2, t_x=30.43, T=38.86): 1.226 transactions in the next 39 weeks (Hardie's sheet)
    assert tx[0] == pytest.approx(1.226, abs=2e-3)
    row = scored.slice(0, 1).to_pylist()[0]
    # CLV = discounted transactions × expected spend, in cents (the spend shown is itself rounded to cents)
    assert abs(float(row["clv"]) - row["discounted_transactions"] * float(row["expected_spend"])) < 0.01
    fits = clv.fits_of(scored)["fits"]
    assert set(fits) == {"bgnbd", "gammagamma"}
    assert pq.read_table(out).equals(scored) and not list(tmp_path.glob(".*tmp"))
    # given parameters: no fitting, the same scores
    again = clv.score_members(
        cdnow_summary, horizon=39, params=fits["bgnbd"]["params"], spend_params=fits["gammagamma"]["params"]
    )
    np.testing.assert_allclose(again["p_alive"].to_numpy(), p)
    assert clv.fits_of(again)["fits"]["bgnbd"]["given"] is True


def test_pareto_scores_and_summary_files(cdnow_summary, tmp_path):
    path = clv.write_table(cdnow_summary, tmp_path / "summary.parquet")
    scored = clv.score_members(path, model="paretonbd", horizon=52, unit="week")
    assert scored.num_rows == 2357 and "clv" in scored.column_names
    p = clv.fits_of(scored)["fits"]["paretonbd"]["params"]
    assert p["r"] == pytest.approx(0.553, abs=2e-3)
    # a summary CSV without spend: no CLV columns
    csv_path = write(
        tmp_path / "s.csv", ["id", "x", "tx", "age"], [[1, 2, 30.43, 38.86], [2, 0, 0, 38.86], [3, 5, 20, 30]]
    )
    cols = clv.SummaryColumns(frequency="x", recency="tx", age="age", customer="id")
    scored = clv.score_members(csv_path, columns=cols, horizon=39, params=dict(r=0.243, alpha=4.414, a=0.793, b=2.426))
    assert "clv" not in scored.column_names
    assert scored["expected_transactions"][0].as_py() == pytest.approx(
        float(bgnbd.conditional_expected((0.243, 4.414, 0.793, 2.426), 39, 2, 30.43, 38.86))
    )


def test_errors_name_the_file_line_and_column(tmp_path):
    tx = write(
        tmp_path / "tx.csv",
        ["cust", "day", "amt"],
        [["a", "2024-01-01", "10"], ["a", "2024-02-01", "ten"], ["b", "2024-01-05", "5"]],
    )
    with pytest.raises(DataError, match=r"tx\.csv: column 'amt' is not a number in 1 row\(s\) \(line 3: 'ten'\)"):
        clv.summarise_transactions(tx, customer="cust", date_col="day", amount="amt", calibration_end=date(2024, 3, 1))
    with pytest.raises(DataError, match=r"no column --date 'date'; the columns are: cust, day, amt"):
        clv.summarise_transactions(tx, customer="cust", date_col="date", calibration_end=date(2024, 3, 1))
    bad_day = write(tmp_path / "d.csv", ["cust", "day"], [["a", "2024-01-01"], ["a", "31/02/2024"]])
    with pytest.raises(DataError, match=r"column 'day' is not a date .* \(line 3: '31/02/2024'\)"):
        clv.summarise_transactions(bad_day, customer="cust", date_col="day", calibration_end=date(2024, 3, 1))
    with pytest.raises(DataError, match="no customer made a first purchase on or before 2023-01-01"):
        clv.summarise_transactions(tx, customer="cust", date_col="day", calibration_end=date(2023, 1, 1))
    empty = write(tmp_path / "e.csv", ["cust", "day"], [])
    with pytest.raises(DataError, match="no transactions"):
        clv.summarise_transactions(empty, customer="cust", date_col="day", calibration_end=date(2024, 3, 1))
    summary = write(tmp_path / "s.csv", ["frequency", "recency", "T"], [[1, 3, 10], [2, 12, 10], [0, 0, 4]])
    with pytest.raises(DataError, match=r"column 'recency' is greater than the age \('T'\) in 1 row\(s\) \(line 3"):
        clv.fit_summary(summary, "bgnbd")
    with pytest.raises(DataError, match="no such file"):
        clv.fit_summary(tmp_path / "missing.csv", "bgnbd")
    no_repeat = write(tmp_path / "n.csv", ["frequency", "recency", "T"], [[0, 0, 10], [0, 0, 4]])
    with pytest.raises(DataError, match="no customer made a repeat purchase"):
        clv.fit_summary(no_repeat, "bgnbd")
    with pytest.raises(DataError, match="needs spend"):
        clv.fit_summary(write(tmp_path / "ok.csv", ["frequency", "recency", "T"], [[1, 3, 10]]), "gammagamma")


def test_sbg_survival_and_renewal_tables(tmp_path):
    # one cohort, periods 0-7, as in the paper
    rows = [r for r in csv.DictReader(open(SBG_SURVIVAL)) if r["cohort"] == "regular" and int(r["period"]) <= 7]
    path = write(tmp_path / "reg.csv", ["year", "customers"], [[r["period"], r["alive"]] for r in rows])
    from weixi.clv import sbg

    fit = sbg.fit(*clv.read_survival(path, period="year", alive="customers"))
    assert (round(fit.params["alpha"], 3), round(fit.params["beta"], 3)) == (0.704, 1.182)
    # both cohorts in one table: pooled rows, one per cohort and period
    t, churned, n = clv.read_survival(SBG_SURVIVAL, period="period", alive="alive", cohort="cohort")
    assert n.sum() == 2000 and len(t) == 26
    gap = write(tmp_path / "gap.csv", ["period", "alive"], [[0, 100], [2, 50]])
    with pytest.raises(DataError, match="periods must run 0, 1, 2"):
        clv.read_survival(gap, period="period", alive="alive")
    up = write(tmp_path / "up.csv", ["period", "alive"], [[0, 100], [1, 120]])
    with pytest.raises(DataError, match="rises from period 0"):
        clv.read_survival(up, period="period", alive="alive")
    # members: tenure and churned flags, value per period
    members = write(
        tmp_path / "m.csv",
        ["id", "periods", "left", "fee"],
        [["m1", 1, "yes", "50"], ["m2", 3, "no", "80"], ["m3", 7, "0", "120.5"], ["m4", 2, "1", "10"]],
    )
    table = clv.read_renewals(members, tenure="periods", churned="left", member="id", value="fee")
    scored = clv.score_renewals(table, horizon=12, discount_rate=0.1, params={"alpha": 0.704, "beta": 1.182})
    row = {r["member_id"]: r for r in scored.to_pylist()}
    assert row["m1"]["p_renew"] == 0 and row["m1"]["clv"] == Decimal("0.00")
    assert row["m3"]["p_renew"] == pytest.approx((1.182 + 7) / (0.704 + 1.182 + 7))
    assert row["m3"]["derl"] == pytest.approx(float(sbg.derl((0.704, 1.182), 7, 0.1)))
    assert row["m3"]["clv"] == Decimal(str(round(row["m3"]["derl"] * 120.5, 2)))
    assert row["m3"]["p_renew"] > row["m2"]["p_renew"]  # survivors are the loyal ones
    bad = write(tmp_path / "b.csv", ["tenure", "churned"], [[2, "maybe"]])
    with pytest.raises(DataError, match=r"column 'churned' is not a yes/no value .*line 2: 'maybe'"):
        clv.read_renewals(bad, tenure="tenure", churned="churned")


def test_arrow_table_input_without_files():
    table = pa.table(
        {
            "customer_id": ["a", "b", "new"],
            "frequency": [2, 0, 0],
            "recency": [30.43, 0.0, 0.0],
            "T": [38.86, 20.0, 0.0],
        }
    )
    scored = clv.score_members(table, horizon=10, params=dict(r=0.243, alpha=4.414, a=0.793, b=2.426))
    assert scored["customer_id"].to_pylist() == ["a", "b", "new"] and scored["p_alive"][1].as_py() == 1.0
    # a member whose first purchase is on the calibration end (T = 0) is scored like a brand-new customer
    assert scored["expected_transactions"][2].as_py() == pytest.approx(
        float(bgnbd.expected((0.243, 4.414, 0.793, 2.426), 10))
    )
    fit = clv.fit_summary(
        pa.table(
            {"frequency": [2, 0, 0, 1, 3], "recency": [30.0, 0.0, 0.0, 5.0, 12.0], "T": [38.0, 20.0, 0.0, 30.0, 14.0]}
        ),
        "paretonbd",
    )
    assert fit.customers == 5
