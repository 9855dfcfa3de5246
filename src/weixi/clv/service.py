"""Customer value service: transactions → RFM summary (set-based in DuckDB), model fits, per-member scores.

Inputs are CSV or Parquet files (or Arrow tables); every problem is a coded :class:`weixi.clv.DataError` naming
the file, the row (CSV: the line) and the column (:mod:`weixi.clv.files`). Scores are written atomically (a
temporary file renamed into place), so a failed run leaves no half-written output and a rerun simply replaces it.
Contract renewals (sBG) are in :mod:`weixi.clv.renewals`, re-exported here.

The entry point other services call is :func:`score_members`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from weixi.clv import gammagamma
from weixi.clv.errors import DataError
from weixi.clv.files import (
    META_KEY,
    as_date,
    check_rows,
    connect,
    count,
    load,
    nonnumeric,
    num,
    param_values,
    quote,
    require,
    write_table,
)
from weixi.clv.files import (
    columns as column_names,
)
from weixi.clv.mle import FitResult
from weixi.clv.renewals import fit_renewals, read_renewals, read_survival, score_renewals
from weixi.clv.rfm import RFM, check_rfm
from weixi.clv.value import TRANSACTION_MODELS, UNITS_PER_YEAR, score

__all__ = [
    "META_KEY",
    "SummaryColumns",
    "fit_renewals",
    "fit_summary",
    "fits_of",
    "read_renewals",
    "read_summary",
    "read_survival",
    "score_members",
    "score_renewals",
    "summarise_transactions",
    "write_table",
]

DAYS_PER_UNIT = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary")


@dataclass(frozen=True)
class SummaryColumns:
    """Column names of a summary file (one row per customer)."""

    frequency: str = "frequency"
    recency: str = "recency"
    age: str = "T"
    monetary: str | None = None
    customer: str | None = None


# --- transactions → RFM summary ----------------------------------------------------------------------------


def summarise_transactions(
    source: str | Path | pa.Table,
    *,
    customer: str,
    date_col: str,
    calibration_end: date,
    amount: str | None = None,
    unit: str = "week",
) -> pa.Table:
    """One row per customer whose first purchase is on or before ``calibration_end``:

    ``customer_id``; ``frequency`` = repeat purchase days in the calibration period (purchases on the same day
    are one transaction, amounts added); ``recency`` = first to last purchase day and ``T`` = first purchase
    day to ``calibration_end``, both in ``unit``; ``monetary`` = average value of the repeat transactions
    (exact DECIMAL(18,2), null without repeats or without ``amount``); ``holdout_frequency`` = purchase days
    after ``calibration_end`` (to check forecasts); ``first_purchase``, ``last_purchase``.
    """
    if unit not in DAYS_PER_UNIT:
        raise DataError("clv_unit_unknown", unit=unit, units=list(DAYS_PER_UNIT))
    con = connect()
    label, offset = load(con, source, "raw")
    require(con, "raw", label, {"--customer": customer, "--date": date_col, "--amount": amount})
    if count(con, "raw") == 0:
        raise DataError("clv_no_transactions", label=label)
    cust = f"trim(CAST({quote(customer)} AS VARCHAR))"
    checks = [
        (f"{cust} IS NULL OR {cust} = ''", customer, "clv_column_empty", {}),
        (f"{as_date(date_col)} IS NULL", date_col, "clv_column_not_date", {}),
    ]
    amt = "NULL::DECIMAL(18,2)"
    if amount is not None:
        amt = f"TRY_CAST({quote(amount)} AS DECIMAL(18,2))"
        checks += [
            (f"{amt} IS NULL", amount, "clv_column_not_number", {}),
            (f"{amt} < 0", amount, "clv_column_negative", {}),
        ]
    check_rows(con, "raw", label, offset, checks)
    days = DAYS_PER_UNIT[unit]
    table = con.execute(
        f"""
        WITH t AS (SELECT {cust} AS c, {as_date(date_col)} AS d, {amt} AS a FROM raw),
        daily AS (SELECT c, d, SUM(a) AS a FROM t GROUP BY c, d),
        firsts AS (SELECT c, MIN(d) AS f FROM daily GROUP BY c HAVING MIN(d) <= $end)
        SELECT c AS customer_id,
               CAST(count(*) FILTER (WHERE d <= $end) - 1 AS BIGINT) AS frequency,
               date_diff('day', f, MAX(d) FILTER (WHERE d <= $end)) / $days AS recency,
               date_diff('day', f, $end) / $days AS T,
               CAST(CAST((2 * CAST(SUM(a) FILTER (WHERE d > f AND d <= $end) * 100 AS HUGEINT)
                          + count(*) FILTER (WHERE d <= $end) - 1)
                         // NULLIF(2 * (count(*) FILTER (WHERE d <= $end) - 1), 0) AS DECIMAL(18,0))
                    * 0.01::DECIMAL(3,2) AS DECIMAL(18,2)) AS monetary,  -- exact, half-up to the cent
               CAST(count(*) FILTER (WHERE d > $end) AS BIGINT) AS holdout_frequency,
               f AS first_purchase, MAX(d) FILTER (WHERE d <= $end) AS last_purchase
        FROM daily JOIN firsts USING (c)
        GROUP BY c, f ORDER BY c
    """,
        {"end": calibration_end, "days": days},
    ).fetch_arrow_table()
    if table.num_rows == 0:
        raise DataError("clv_no_first_purchase", label=label, calibration_end=calibration_end)
    meta = {"unit": unit, "calibration_end": calibration_end.isoformat(), "source": label}
    return table.replace_schema_metadata({META_KEY: json.dumps({"summary": meta}).encode()})


def read_summary(source: str | Path | pa.Table, columns: SummaryColumns | None = None) -> pa.Table:
    """A summary file with the standard columns (customer_id, frequency, recency, T, monetary), checked:
    numbers everywhere, frequency a whole number >= 0, 0 <= recency <= T, recency 0 when frequency is 0,
    monetary > 0 for repeat customers (when a monetary column is named). ``columns=None``: the standard names,
    with monetary and customer_id used when present."""
    con = connect()
    label, offset = load(con, source, "raw")
    if columns is None:
        have = column_names(con, "raw")
        spend = "monetary" in have and con.execute('SELECT count("monetary") FROM raw').fetchone()[0] > 0
        columns = SummaryColumns(
            monetary="monetary" if spend else None, customer="customer_id" if "customer_id" in have else None
        )
    c = columns
    require(
        con,
        "raw",
        label,
        {
            "--frequency": c.frequency,
            "--recency": c.recency,
            "--age": c.age,
            "--monetary": c.monetary,
            "--customer": c.customer,
        },
    )
    if count(con, "raw") == 0:
        raise DataError("clv_no_customers_in_file", label=label)
    f, r, a = num(c.frequency), num(c.recency), num(c.age)
    checks = [(nonnumeric(col), col, "clv_column_not_number", {}) for col in (c.frequency, c.recency, c.age)]
    checks += [
        (f"{f} < 0 OR {f} <> floor({f})", c.frequency, "clv_column_not_whole", {}),
        (f"{r} < 0", c.recency, "clv_column_negative", {}),
        (f"{a} < 0", c.age, "clv_column_negative", {}),
        (f"{r} > {a}", c.recency, "clv_recency_beyond_age", {"age": c.age}),
        (f"{f} = 0 AND {r} <> 0", c.recency, "clv_recency_without_repeats", {"frequency": c.frequency}),
    ]
    mon = "NULL::DECIMAL(18,2)"
    if c.monetary is not None:
        m = num(c.monetary)
        checks.append(
            (f"{f} > 0 AND ({nonnumeric(c.monetary)} OR {m} <= 0)", c.monetary, "clv_monetary_not_positive", {})
        )
        mon = f"CASE WHEN {f} > 0 THEN TRY_CAST({quote(c.monetary)} AS DECIMAL(18,2)) END"
    check_rows(con, "raw", label, offset, checks)
    cust = f"CAST({quote(c.customer)} AS VARCHAR)" if c.customer else "CAST(rowid + 1 AS VARCHAR)"
    table = con.execute(
        f"SELECT {cust} AS customer_id, CAST({f} AS BIGINT) AS frequency, {r} AS recency, "
        f"{a} AS T, {mon} AS monetary FROM raw ORDER BY rowid"
    ).fetch_arrow_table()
    return table.replace_schema_metadata({META_KEY: json.dumps({"summary": {"source": label}}).encode()})


def _standard(summary: pa.Table | str | Path, columns: SummaryColumns | None) -> pa.Table:
    """The summary in standard columns; tables made by this module (already checked) pass through."""
    if (
        isinstance(summary, pa.Table)
        and columns is None
        and "summary" in fits_of(summary)
        and set(SUMMARY_COLUMNS) <= set(summary.column_names)
    ):
        return summary
    return read_summary(summary, columns)


# --- fitting --------------------------------------------------------------------------------------------------


def _summary_con(table: pa.Table):
    con = connect()
    con.register("s_in", table)
    con.execute("CREATE TABLE s AS SELECT * FROM s_in")
    return con


def _weighted_rfm(con) -> RFM:
    x, t_x, T, w = (
        con.execute("SELECT frequency::DOUBLE, recency, T, count(*)::DOUBLE FROM s GROUP BY ALL ORDER BY ALL")
        .fetchnumpy()
        .values()
    )
    check_rfm(x, t_x, T)
    if not (x > 0).any():
        raise DataError("clv_no_repeat_purchase")
    return RFM(x, t_x, T, w, np.empty(0, dtype=np.int64))


def _spend_rows(con) -> tuple[np.ndarray, np.ndarray]:
    x, m = con.execute("SELECT frequency::DOUBLE, monetary::DOUBLE FROM s WHERE frequency > 0").fetchnumpy().values()
    return x, m


def fit_summary(summary: pa.Table | str | Path, model: str, columns: SummaryColumns | None = None) -> FitResult:
    """Fit ``bgnbd``, ``paretonbd`` or ``gammagamma`` (repeat customers, needs monetary) on a summary."""
    table = _standard(summary, columns)
    con = _summary_con(table)
    if model in TRANSACTION_MODELS:
        data = _weighted_rfm(con)
        return TRANSACTION_MODELS[model].fit(data)
    if model == "gammagamma":
        if table.column("monetary").null_count == table.num_rows:
            raise DataError("clv_spend_needed")
        return gammagamma.fit(*_spend_rows(con))
    raise DataError("clv_summary_model_unknown", model=model)


# --- scoring --------------------------------------------------------------------------------------------------


def score_members(
    summary: pa.Table | str | Path,
    *,
    model: str = "bgnbd",
    horizon: float = 52.0,
    unit: str = "week",
    discount_rate: float = 0.10,
    params: dict | None = None,
    spend_params: dict | None = None,
    columns: SummaryColumns | None = None,
    out: str | Path | None = None,
) -> pa.Table:
    """Per member: P(alive), expected transactions over ``horizon`` (in ``unit``), the same discounted at the
    annual ``discount_rate``, expected value of a transaction and CLV (when the summary has monetary values).

    ``summary``: an Arrow table or CSV/Parquet file with customer_id, frequency, recency, T[, monetary]
    (e.g. from :func:`summarise_transactions`), or other names given in ``columns``. The models are fitted on
    the summary unless ``params`` / ``spend_params`` (parameter dicts, as in ``FitResult.params``) are given.
    Returns an Arrow table in the summary's order, the fits in its schema metadata (key ``weixi.clv``); with
    ``out`` also writes it (Parquet, or CSV for a .csv name) atomically.
    """
    if model not in TRANSACTION_MODELS:
        raise DataError("clv_transaction_model_unknown", model=model, models=list(TRANSACTION_MODELS))
    if unit not in UNITS_PER_YEAR:
        raise DataError("clv_unit_unknown", unit=unit, units=list(UNITS_PER_YEAR))
    if not horizon > 0:
        raise DataError("clv_horizon_not_positive")
    if not discount_rate >= 0:
        raise DataError("clv_discount_rate_negative")
    table = _standard(summary, columns)
    con = _summary_con(table)
    fits: dict = {}
    if params is None:
        fitted = TRANSACTION_MODELS[model].fit(_weighted_rfm(con))
        params, fits[model] = fitted.params, fitted.to_json()
    else:
        fits[model] = {"model": model, "params": params, "given": True}
    names = TRANSACTION_MODELS[model].NAMES
    p = param_values(params, names, model)
    sp = _spend_values(con, table, spend_params, fits)
    result = _transactions(con, model, p, horizon, discount_rate, unit)
    if sp is not None:
        result = _with_value(con, result, sp)
    meta = {"model": model, "horizon": horizon, "unit": unit, "discount_rate": discount_rate, "fits": fits}
    result = result.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    if out is not None:
        write_table(result, out)
    return result


def _spend_values(con, table: pa.Table, spend_params: dict | None, fits: dict) -> tuple[float, ...] | None:
    """The spend model's parameters (given, or fitted when the summary has spend; recorded in ``fits``)."""
    if spend_params is None and table.column("monetary").null_count < table.num_rows:
        fitted = gammagamma.fit(*_spend_rows(con))
        spend_params, fits["gammagamma"] = fitted.params, fitted.to_json()
    elif spend_params is not None:
        fits["gammagamma"] = {"model": "gammagamma", "params": spend_params, "given": True}
    if spend_params is None:
        return None
    sp = param_values(spend_params, gammagamma.NAMES, "gammagamma")
    if sp[1] <= 1:
        raise DataError("clv_spend_q_too_small", q=sp[1])
    return sp


def _transactions(con, model: str, p, horizon: float, discount_rate: float, unit: str) -> pa.Table:
    """The transaction model once per distinct (frequency, recency, T), joined back in the summary's order."""
    u = con.execute("SELECT frequency::DOUBLE AS x, recency AS t_x, T FROM s GROUP BY ALL").fetchnumpy()
    scores = score(model, p, u["x"], u["t_x"], u["T"], horizon, discount_rate, unit)
    con.register(
        "u",
        pa.table(
            {
                "x": u["x"],
                "t_x": u["t_x"],
                "T": u["T"],
                "p_alive": scores.p_alive,
                "expected_transactions": scores.expected_transactions,
                "discounted_transactions": scores.discounted_transactions,
            }
        ),
    )
    return con.execute("""
        SELECT s.customer_id, s.frequency, s.recency, s.T, s.monetary, u.p_alive, u.expected_transactions,
               u.discounted_transactions
        FROM s JOIN u ON s.frequency::DOUBLE = u.x AND s.recency = u.t_x AND s.T = u.T
        ORDER BY s.rowid
    """).fetch_arrow_table()


def _with_value(con, result: pa.Table, sp: tuple[float, ...]) -> pa.Table:
    """The spend model per member (closed form) and CLV, both to the cent."""
    x = result["frequency"].to_numpy().astype(float)
    m = result["monetary"].cast(pa.float64()).fill_null(0.0).to_numpy()
    spend = gammagamma.conditional_expected_spend(sp, x, m)
    con.register("r", result)
    con.register("v", pa.table({"spend": spend, "clv": result["discounted_transactions"].to_numpy() * spend}))
    return con.execute(
        "SELECT r.*, CAST(round(v.spend, 2) AS DECIMAL(18,2)) AS expected_spend, "
        "CAST(round(v.clv, 2) AS DECIMAL(18,2)) AS clv FROM r POSITIONAL JOIN v"
    ).fetch_arrow_table()


def fits_of(table: pa.Table) -> dict:
    """The fits recorded in a scored table's metadata."""
    meta = (table.schema.metadata or {}).get(META_KEY)
    return json.loads(meta) if meta else {}
