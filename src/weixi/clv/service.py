"""Customer value service: transactions → RFM summary (set-based in DuckDB), model fits, per-member scores.

Inputs are CSV or Parquet files (or Arrow tables); every problem is a :class:`weixi.clv.DataError` naming
the file, the row (CSV: the line) and the column. Scores are written atomically (a temporary file renamed
into place), so a failed run leaves no half-written output and a rerun simply replaces it.

The entry point other services call is :func:`score_members`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from weixi.adapters import duck, spreadsheet
from weixi.clv import gammagamma, sbg
from weixi.clv.errors import DataError
from weixi.clv.mle import FitResult
from weixi.clv.rfm import RFM, check_rfm
from weixi.clv.value import TRANSACTION_MODELS, UNITS_PER_YEAR, score

DAYS_PER_UNIT = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
META_KEY = b"weixi.clv"
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary")
TRUE_WORDS = ("1", "true", "t", "yes", "y", "是", "churned")
FALSE_WORDS = ("0", "false", "f", "no", "n", "否", "active", "")


@dataclass(frozen=True)
class SummaryColumns:
    """Column names of a summary file (one row per customer)."""

    frequency: str = "frequency"
    recency: str = "recency"
    age: str = "T"
    monetary: str | None = None
    customer: str | None = None


# --- reading files ------------------------------------------------------------------------------------------


def _connect() -> duckdb.DuckDBPyConnection:
    con = duck.connect()
    con.execute("SET preserve_insertion_order = true")
    return con


def _load(con, source: str | Path | pa.Table, name: str) -> tuple[str, int]:
    """Load a CSV/Parquet file or Arrow table as table ``name`` (text columns for CSV); return (label, offset)
    where ``offset`` turns a 0-based rowid into the number shown to people (CSV: file line)."""
    if isinstance(source, pa.Table):
        con.register(f"{name}_arrow", source)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")
        return "the input table", 1
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet(?)", [str(path)])
            return str(path), 1
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, all_varchar=true, header=true)",
                    [str(path)])
    except duckdb.Error as exc:
        raise DataError(f"{path}: cannot be read as {'Parquet' if path.suffix.lower() == '.parquet' else 'CSV'}: "
                        f"{str(exc).splitlines()[0]}") from None
    return str(path), 2


def _columns(con, name: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]


def _require(con, name: str, label: str, wanted: dict[str, str | None]) -> None:
    have = _columns(con, name)
    missing = [f"{opt} {col!r}" for opt, col in wanted.items() if col is not None and col not in have]
    if missing:
        raise DataError(f"{label}: no column {', '.join(missing)}; the columns are: {', '.join(have)}")


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


def _bad_rows(con, name: str, label: str, offset: int, condition: str, col: str, what: str, n: int | None = None):
    """Raise if any row meets ``condition``: the count and up to three examples with row/line numbers."""
    rows = con.execute(f"SELECT rowid, CAST({_q(col)} AS VARCHAR) FROM {name} WHERE {condition} ORDER BY rowid "
                       "LIMIT 3").fetchall()
    if not rows:
        return
    if n is None:
        n = con.execute(f"SELECT count(*) FROM {name} WHERE {condition}").fetchone()[0]
    where = "line" if offset == 2 else "row"
    shown = "; ".join(f"{where} {r + offset}: {v!r}" for r, v in rows)
    raise DataError(f"{label}: column {col!r} {what} in {n} row(s) ({shown}); fix or remove them and run again")


def _check(con, name: str, label: str, offset: int, checks: list[tuple[str, str, str]]) -> None:
    """Count every (condition, column, problem) in one scan; report the first that any row fails."""
    if not checks:
        return
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {c})" for c, _, _ in checks)
                         + f" FROM {name}").fetchone()
    for (condition, col, what), n in zip(checks, counts):
        if n:
            _bad_rows(con, name, label, offset, condition, col, what, n)


def _num(col: str) -> str:
    return f"TRY_CAST({_q(col)} AS DOUBLE)"


def _nonnumeric(col: str) -> str:
    return f"{_num(col)} IS NULL OR NOT isfinite({_num(col)})"


def _date(col: str) -> str:
    v = f"trim(CAST({_q(col)} AS VARCHAR))"
    return (f"COALESCE(TRY_CAST({v} AS DATE), CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE), "
            f"CAST(TRY_STRPTIME({v}, '%Y%m%d') AS DATE))")


# --- transactions → RFM summary ----------------------------------------------------------------------------


def summarise_transactions(source: str | Path | pa.Table, *, customer: str, date_col: str,
                           calibration_end: date, amount: str | None = None, unit: str = "week") -> pa.Table:
    """One row per customer whose first purchase is on or before ``calibration_end``:

    ``customer_id``; ``frequency`` = repeat purchase days in the calibration period (purchases on the same day
    are one transaction, amounts added); ``recency`` = first to last purchase day and ``T`` = first purchase
    day to ``calibration_end``, both in ``unit``; ``monetary`` = average value of the repeat transactions
    (exact DECIMAL(18,2), null without repeats or without ``amount``); ``holdout_frequency`` = purchase days
    after ``calibration_end`` (to check forecasts); ``first_purchase``, ``last_purchase``.
    """
    if unit not in DAYS_PER_UNIT:
        raise DataError(f"unknown unit {unit!r}: use {', '.join(DAYS_PER_UNIT)}")
    con = _connect()
    label, offset = _load(con, source, "raw")
    _require(con, "raw", label, {"--customer": customer, "--date": date_col, "--amount": amount})
    if con.execute("SELECT count(*) FROM raw").fetchone()[0] == 0:
        raise DataError(f"{label}: no transactions (the file is empty)")
    cust = f"trim(CAST({_q(customer)} AS VARCHAR))"
    checks = [(f"{cust} IS NULL OR {cust} = ''", customer, "is empty"),
              (f"{_date(date_col)} IS NULL", date_col, "is not a date (use YYYY-MM-DD)")]
    amt = "NULL::DECIMAL(18,2)"
    if amount is not None:
        amt = f"TRY_CAST({_q(amount)} AS DECIMAL(18,2))"
        checks += [(f"{amt} IS NULL", amount, "is not a number"), (f"{amt} < 0", amount, "is negative")]
    _check(con, "raw", label, offset, checks)
    days = DAYS_PER_UNIT[unit]
    table = con.execute(f"""
        WITH t AS (SELECT {cust} AS c, {_date(date_col)} AS d, {amt} AS a FROM raw),
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
    """, {"end": calibration_end, "days": days}).fetch_arrow_table()
    if table.num_rows == 0:
        raise DataError(f"{label}: no customer made a first purchase on or before {calibration_end}")
    meta = {"unit": unit, "calibration_end": calibration_end.isoformat(), "source": label}
    return table.replace_schema_metadata({META_KEY: json.dumps({"summary": meta}).encode()})


def read_summary(source: str | Path | pa.Table, columns: SummaryColumns | None = None) -> pa.Table:
    """A summary file with the standard columns (customer_id, frequency, recency, T, monetary), checked:
    numbers everywhere, frequency a whole number >= 0, 0 <= recency <= T, recency 0 when frequency is 0,
    monetary > 0 for repeat customers (when a monetary column is named). ``columns=None``: the standard names,
    with monetary and customer_id used when present."""
    con = _connect()
    label, offset = _load(con, source, "raw")
    if columns is None:
        have = _columns(con, "raw")
        spend = "monetary" in have and con.execute('SELECT count("monetary") FROM raw').fetchone()[0] > 0
        columns = SummaryColumns(monetary="monetary" if spend else None,
                                 customer="customer_id" if "customer_id" in have else None)
    c = columns
    _require(con, "raw", label, {"--frequency": c.frequency, "--recency": c.recency, "--age": c.age,
                                 "--monetary": c.monetary, "--customer": c.customer})
    if con.execute("SELECT count(*) FROM raw").fetchone()[0] == 0:
        raise DataError(f"{label}: no customers (the file is empty)")
    f, r, a = _num(c.frequency), _num(c.recency), _num(c.age)
    checks = [(_nonnumeric(col), col, "is not a number") for col in (c.frequency, c.recency, c.age)]
    checks += [(f"{f} < 0 OR {f} <> floor({f})", c.frequency, "is not a whole number >= 0"),
               (f"{r} < 0", c.recency, "is negative"), (f"{a} < 0", c.age, "is negative"),
               (f"{r} > {a}", c.recency, f"is greater than the age ({c.age!r})"),
               (f"{f} = 0 AND {r} <> 0", c.recency,
                f"is not 0 for a customer without repeat purchases ({c.frequency!r} = 0)")]
    mon = "NULL::DECIMAL(18,2)"
    if c.monetary is not None:
        m = _num(c.monetary)
        checks.append((f"{f} > 0 AND ({_nonnumeric(c.monetary)} OR {m} <= 0)", c.monetary,
                       "is not a positive number for a repeat customer"))
        mon = f"CASE WHEN {f} > 0 THEN TRY_CAST({_q(c.monetary)} AS DECIMAL(18,2)) END"
    _check(con, "raw", label, offset, checks)
    cust = f"CAST({_q(c.customer)} AS VARCHAR)" if c.customer else "CAST(rowid + 1 AS VARCHAR)"
    table = con.execute(f"SELECT {cust} AS customer_id, CAST({f} AS BIGINT) AS frequency, {r} AS recency, "
                        f"{a} AS T, {mon} AS monetary FROM raw ORDER BY rowid").fetch_arrow_table()
    return table.replace_schema_metadata({META_KEY: json.dumps({"summary": {"source": label}}).encode()})


def _standard(summary: pa.Table | str | Path, columns: SummaryColumns | None) -> pa.Table:
    """The summary in standard columns; tables made by this module (already checked) pass through."""
    if (isinstance(summary, pa.Table) and columns is None and "summary" in fits_of(summary)
            and set(SUMMARY_COLUMNS) <= set(summary.column_names)):
        return summary
    return read_summary(summary, columns)


# --- fitting --------------------------------------------------------------------------------------------------


def _summary_con(table: pa.Table):
    con = _connect()
    con.register("s_in", table)
    con.execute("CREATE TABLE s AS SELECT * FROM s_in")
    return con


def _weighted_rfm(con) -> RFM:
    x, t_x, T, w = con.execute("SELECT frequency::DOUBLE, recency, T, count(*)::DOUBLE FROM s "
                               "GROUP BY ALL ORDER BY ALL").fetchnumpy().values()
    check_rfm(x, t_x, T)
    if not (x > 0).any():
        raise DataError("no customer made a repeat purchase: the transaction models cannot be fitted "
                        "(a longer calibration period, or more customers, is needed)")
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
            raise DataError("the gammagamma model needs spend: give --amount (transactions) or --monetary (summary)")
        return gammagamma.fit(*_spend_rows(con))
    raise DataError(f"unknown model {model!r} for a summary: use bgnbd, paretonbd or gammagamma")


# --- scoring --------------------------------------------------------------------------------------------------


def score_members(summary: pa.Table | str | Path, *, model: str = "bgnbd", horizon: float = 52.0,
                  unit: str = "week", discount_rate: float = 0.10, params: dict | None = None,
                  spend_params: dict | None = None, columns: SummaryColumns | None = None,
                  out: str | Path | None = None) -> pa.Table:
    """Per member: P(alive), expected transactions over ``horizon`` (in ``unit``), the same discounted at the
    annual ``discount_rate``, expected value of a transaction and CLV (when the summary has monetary values).

    ``summary``: an Arrow table or CSV/Parquet file with customer_id, frequency, recency, T[, monetary]
    (e.g. from :func:`summarise_transactions`), or other names given in ``columns``. The models are fitted on
    the summary unless ``params`` / ``spend_params`` (parameter dicts, as in ``FitResult.params``) are given.
    Returns an Arrow table in the summary's order, the fits in its schema metadata (key ``weixi.clv``); with
    ``out`` also writes it (Parquet, or CSV for a .csv name) atomically.
    """
    if model not in TRANSACTION_MODELS:
        raise DataError(f"unknown transaction model {model!r}: use {', '.join(TRANSACTION_MODELS)}")
    if unit not in UNITS_PER_YEAR:
        raise DataError(f"unknown unit {unit!r}: use {', '.join(UNITS_PER_YEAR)}")
    if not horizon > 0:
        raise DataError("the horizon must be a positive number of time units")
    if not discount_rate >= 0:
        raise DataError("the discount rate must be >= 0 (an annual rate, e.g. 0.1)")
    table = _standard(summary, columns)
    con = _summary_con(table)
    fits: dict = {}
    if params is None:
        fitted = TRANSACTION_MODELS[model].fit(_weighted_rfm(con))
        params, fits[model] = fitted.params, fitted.to_json()
    else:
        fits[model] = {"model": model, "params": params, "given": True}
    names = TRANSACTION_MODELS[model].NAMES
    p = _param_values(params, names, model)
    has_spend = table.column("monetary").null_count < table.num_rows
    sp = None
    if spend_params is None and has_spend:
        fitted = gammagamma.fit(*_spend_rows(con))
        spend_params, fits["gammagamma"] = fitted.params, fitted.to_json()
    elif spend_params is not None:
        fits["gammagamma"] = {"model": "gammagamma", "params": spend_params, "given": True}
    if spend_params is not None:
        sp = _param_values(spend_params, gammagamma.NAMES, "gammagamma")
        if sp[1] <= 1:
            raise DataError(f"the spend model's q = {sp[1]:.3g} <= 1: the population mean spend is infinite, "
                            "so customers without repeat purchases cannot be valued")
    # the transaction model once per distinct (frequency, recency, T), joined back in the summary's order
    u = con.execute("SELECT frequency::DOUBLE AS x, recency AS t_x, T FROM s GROUP BY ALL").fetchnumpy()
    scores = score(model, p, u["x"], u["t_x"], u["T"], horizon, discount_rate, unit)
    con.register("u", pa.table({"x": u["x"], "t_x": u["t_x"], "T": u["T"], "p_alive": scores.p_alive,
                                "expected_transactions": scores.expected_transactions,
                                "discounted_transactions": scores.discounted_transactions}))
    result = con.execute("""
        SELECT s.customer_id, s.frequency, s.recency, s.T, s.monetary, u.p_alive, u.expected_transactions,
               u.discounted_transactions
        FROM s JOIN u ON s.frequency::DOUBLE = u.x AND s.recency = u.t_x AND s.T = u.T
        ORDER BY s.rowid
    """).fetch_arrow_table()
    if sp is not None:  # the spend model per member (closed form), CLV, both to the cent
        x = result["frequency"].to_numpy().astype(float)
        m = result["monetary"].cast(pa.float64()).fill_null(0.0).to_numpy()
        spend = gammagamma.conditional_expected_spend(sp, x, m)
        con.register("r", result)
        con.register("v", pa.table({"spend": spend, "clv": result["discounted_transactions"].to_numpy() * spend}))
        result = con.execute("SELECT r.*, CAST(round(v.spend, 2) AS DECIMAL(18,2)) AS expected_spend, "
                             "CAST(round(v.clv, 2) AS DECIMAL(18,2)) AS clv FROM r POSITIONAL JOIN v").fetch_arrow_table()
    meta = {"model": model, "horizon": horizon, "unit": unit, "discount_rate": discount_rate, "fits": fits}
    result = result.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    if out is not None:
        write_table(result, out)
    return result


def _param_values(params: dict, names: tuple[str, ...], model: str) -> tuple[float, ...]:
    missing = [n for n in names if n not in params]
    if missing:
        raise DataError(f"parameters for {model} lack {', '.join(missing)} (need {', '.join(names)})")
    values = tuple(float(params[n]) for n in names)
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise DataError(f"parameters for {model} must be positive numbers: {params}")
    return values


def write_table(table: pa.Table, out: str | Path) -> Path:
    """Write Parquet (or CSV for a .csv name) to a temporary file beside ``out`` and rename it into place."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            pacsv.write_csv(spreadsheet.table(table), tmp)  # no cell can start a formula
        else:
            pq.write_table(table, tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


# --- contract renewals (sBG) ----------------------------------------------------------------------------------


def read_survival(source: str | Path | pa.Table, *, period: str, alive: str, cohort: str | None = None):
    """A survival table: per cohort, rows (period 0, 1, ..., k; customers still active at that point), period 0
    being the cohort's size. Returns sBG rows (t, churned, count) over all cohorts."""
    con = _connect()
    label, offset = _load(con, source, "raw")
    _require(con, "raw", label, {"--period": period, "--alive": alive, "--cohort": cohort})
    if con.execute("SELECT count(*) FROM raw").fetchone()[0] == 0:
        raise DataError(f"{label}: no rows (the file is empty)")
    _check(con, "raw", label, offset, [(_nonnumeric(col), col, "is not a number") for col in (period, alive)])
    coh = f"CAST({_q(cohort)} AS VARCHAR)" if cohort else "''"
    rows = con.execute(f"SELECT {coh}, {_num(period)}, {_num(alive)}, rowid FROM raw "
                       f"ORDER BY 1, 2").fetchall()
    ts, churned, counts = [], [], []
    by_cohort: dict[str, list] = {}
    for c, p, a, rid in rows:
        by_cohort.setdefault(c, []).append((p, a, rid))
    for c, items in by_cohort.items():
        periods = [p for p, _, _ in items]
        name = f" cohort {c!r}" if cohort else ""
        if periods != list(range(len(periods))):
            raise DataError(f"{label}:{name} periods must run 0, 1, 2, ... without gaps or repeats "
                            f"(found {', '.join(f'{p:g}' for p in periods[:8])})")
        try:
            t, ch, n = sbg.from_survival([a for _, a, _ in items])
        except DataError as exc:
            raise DataError(f"{label}:{name} {exc}") from None
        ts.append(t), churned.append(ch), counts.append(n)
    return np.concatenate(ts), np.concatenate(churned), np.concatenate(counts)


def read_renewals(source: str | Path | pa.Table, *, tenure: str, churned: str, member: str | None = None,
                  value: str | None = None) -> pa.Table:
    """A renewal table, one row per member: ``tenure`` = whole contract periods completed (for a member who
    left: the period in which they left, >= 1), ``churned`` = 1/0, true/false, yes/no. Optional ``value`` =
    what the member pays per period. Returns member_id, tenure, churned[, value]."""
    con = _connect()
    label, offset = _load(con, source, "raw")
    _require(con, "raw", label, {"--tenure": tenure, "--churned": churned, "--member": member, "--value": value})
    if con.execute("SELECT count(*) FROM raw").fetchone()[0] == 0:
        raise DataError(f"{label}: no members (the file is empty)")
    t = _num(tenure)
    flag = f"lower(trim(coalesce(CAST({_q(churned)} AS VARCHAR), '')))"
    words = ", ".join(f"'{w}'" for w in TRUE_WORDS + FALSE_WORDS)
    is_churned = f"{flag} IN ({', '.join(repr(w) for w in TRUE_WORDS)})"
    checks = [(f"{_nonnumeric(tenure)} OR {t} < 0 OR {t} <> floor({t})", tenure,
               "is not a whole number of periods >= 0"),
              (f"{flag} NOT IN ({words})", churned, "is not a yes/no value (1/0, true/false, yes/no)"),
              (f"{is_churned} AND {t} < 1", tenure,
               "is 0 for a member who churned (churn happens at the end of period 1 or later)")]
    val = ""
    if value is not None:
        checks.append((f"{_nonnumeric(value)} OR {_num(value)} < 0", value, "is not a number >= 0"))
        val = f", TRY_CAST({_q(value)} AS DECIMAL(18,2)) AS value"
    _check(con, "raw", label, offset, checks)
    mem = f"CAST({_q(member)} AS VARCHAR)" if member else "CAST(rowid + 1 AS VARCHAR)"
    return con.execute(f"SELECT {mem} AS member_id, CAST({t} AS BIGINT) AS tenure, {is_churned} AS churned{val} "
                       "FROM raw ORDER BY rowid").fetch_arrow_table()


def fit_renewals(table: pa.Table) -> FitResult:
    t = table.column("tenure").to_numpy().astype(float)
    churned = table.column("churned").to_numpy(zero_copy_only=False).astype(bool)
    return sbg.fit(t, churned)


def score_renewals(table: pa.Table, *, horizon: int, discount_rate: float = 0.10, params: dict | None = None,
                   out: str | Path | None = None) -> pa.Table:
    """Per active member of a renewal table: P(renewing at the next renewal), expected renewals over the next
    ``horizon`` periods, DERL (the present value, in periods, of the payments at the next and later renewals,
    the next undiscounted, at ``discount_rate`` per period) and CLV = value × DERL when there is a value
    column. Members who churned get 0."""
    if not (isinstance(horizon, int) and horizon > 0):
        raise DataError("the horizon must be a positive whole number of periods")
    if not discount_rate >= 0:
        raise DataError("the discount rate must be >= 0 (per contract period)")
    fit = None
    if params is None:
        fit = fit_renewals(table)
        params = fit.params
    p = _param_values(params, sbg.NAMES, "sbg")
    n = table.column("tenure").to_numpy().astype(float)
    active = ~table.column("churned").to_numpy(zero_copy_only=False).astype(bool)
    un, inv = np.unique(n, return_inverse=True)
    cols = {
        "member_id": table.column("member_id"), "tenure": table.column("tenure"), "churned": table.column("churned"),
        "p_renew": np.where(active, sbg.p_renew(p, un)[inv], 0.0),
        "expected_renewals": np.where(active, sbg.expected_renewals(p, un, horizon)[inv], 0.0),
        "derl": np.where(active, sbg.derl(p, un, discount_rate)[inv], 0.0),
    }
    result = pa.table(cols)
    if "value" in table.column_names:
        con = _connect()
        con.register("r", result)
        con.register("v", table.select(["value"]))
        result = con.execute("SELECT r.*, v.value, CAST(round(r.derl * v.value::DOUBLE, 2) AS DECIMAL(18,2)) AS clv "
                             "FROM r POSITIONAL JOIN v").fetch_arrow_table()
    meta = {"model": "sbg", "horizon": horizon, "discount_rate": discount_rate,
            "fits": {"sbg": fit.to_json() if fit else {"model": "sbg", "params": params, "given": True}}}
    result = result.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    if out is not None:
        write_table(result, out)
    return result


def fits_of(table: pa.Table) -> dict:
    """The fits recorded in a scored table's metadata."""
    meta = (table.schema.metadata or {}).get(META_KEY)
    return json.loads(meta) if meta else {}
