"""Contract renewals (the shifted-beta-geometric model): read a survival or renewal table, fit it, and score
every active member (renewal chance, expected renewals, discounted expected residual lifetime, CLV)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from weixi.clv import sbg
from weixi.clv.errors import DataError
from weixi.clv.files import (
    META_KEY,
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
from weixi.clv.mle import FitResult
from weixi.errors import Where

TRUE_WORDS = ("1", "true", "t", "yes", "y", "是", "churned")
FALSE_WORDS = ("0", "false", "f", "no", "n", "否", "active", "")


def read_survival(source: str | Path | pa.Table, *, period: str, alive: str, cohort: str | None = None):
    """A survival table: per cohort, rows (period 0, 1, ..., k; customers still active at that point), period 0
    being the cohort's size. Returns sBG rows (t, churned, count) over all cohorts."""
    con = connect()
    label, offset = load(con, source, "raw")
    require(con, "raw", label, {"--period": period, "--alive": alive, "--cohort": cohort})
    if count(con, "raw") == 0:
        raise DataError("clv_no_rows", label=label)
    check_rows(
        con, "raw", label, offset, [(nonnumeric(col), col, "clv_column_not_number", {}) for col in (period, alive)]
    )
    coh = f"CAST({quote(cohort)} AS VARCHAR)" if cohort else "''"
    rows = con.execute(f"SELECT {coh}, {num(period)}, {num(alive)}, rowid FROM raw ORDER BY 1, 2").fetchall()
    ts, churned, counts = [], [], []
    by_cohort: dict[str, list] = {}
    for c, p, a, rid in rows:
        by_cohort.setdefault(c, []).append((p, a, rid))
    for c, items in by_cohort.items():
        periods = [p for p, _, _ in items]
        if periods != list(range(len(periods))):
            found = [f"{p:g}" for p in periods[:8]]
            if cohort:
                raise DataError("clv_cohort_periods_gaps", label=label, cohort=c, found=found)
            raise DataError("clv_survival_periods_gaps", label=label, found=found)
        try:
            t, ch, n = sbg.from_survival([a for _, a, _ in items])
        except DataError as exc:  # the same problem, located in the file (and cohort)
            raise DataError(exc.code, Where(file=label, field=c if cohort else None), **exc.params) from None
        ts.append(t), churned.append(ch), counts.append(n)
    return np.concatenate(ts), np.concatenate(churned), np.concatenate(counts)


def read_renewals(
    source: str | Path | pa.Table, *, tenure: str, churned: str, member: str | None = None, value: str | None = None
) -> pa.Table:
    """A renewal table, one row per member: ``tenure`` = whole contract periods completed (for a member who
    left: the period in which they left, >= 1), ``churned`` = 1/0, true/false, yes/no. Optional ``value`` =
    what the member pays per period. Returns member_id, tenure, churned[, value]."""
    con = connect()
    label, offset = load(con, source, "raw")
    require(con, "raw", label, {"--tenure": tenure, "--churned": churned, "--member": member, "--value": value})
    if count(con, "raw") == 0:
        raise DataError("clv_no_members_in_file", label=label)
    t = num(tenure)
    flag = f"lower(trim(coalesce(CAST({quote(churned)} AS VARCHAR), '')))"
    words = ", ".join(f"'{w}'" for w in TRUE_WORDS + FALSE_WORDS)
    is_churned = f"{flag} IN ({', '.join(repr(w) for w in TRUE_WORDS)})"
    checks = [
        (f"{nonnumeric(tenure)} OR {t} < 0 OR {t} <> floor({t})", tenure, "clv_tenure_not_whole", {}),
        (f"{flag} NOT IN ({words})", churned, "clv_churned_not_yesno", {}),
        (f"{is_churned} AND {t} < 1", tenure, "clv_tenure_zero_churned", {}),
    ]
    val = ""
    if value is not None:
        checks.append((f"{nonnumeric(value)} OR {num(value)} < 0", value, "clv_value_negative", {}))
        val = f", TRY_CAST({quote(value)} AS DECIMAL(18,2)) AS value"
    check_rows(con, "raw", label, offset, checks)
    mem = f"CAST({quote(member)} AS VARCHAR)" if member else "CAST(rowid + 1 AS VARCHAR)"
    return con.execute(
        f"SELECT {mem} AS member_id, CAST({t} AS BIGINT) AS tenure, {is_churned} AS churned{val} "
        "FROM raw ORDER BY rowid"
    ).fetch_arrow_table()


def fit_renewals(table: pa.Table) -> FitResult:
    t = table.column("tenure").to_numpy().astype(float)
    churned = table.column("churned").to_numpy(zero_copy_only=False).astype(bool)
    return sbg.fit(t, churned)


def score_renewals(
    table: pa.Table,
    *,
    horizon: int,
    discount_rate: float = 0.10,
    params: dict | None = None,
    out: str | Path | None = None,
) -> pa.Table:
    """Per active member of a renewal table: P(renewing at the next renewal), expected renewals over the next
    ``horizon`` periods, DERL (the present value, in periods, of the payments at the next and later renewals,
    the next undiscounted, at ``discount_rate`` per period) and CLV = value × DERL when there is a value
    column. Members who churned get 0."""
    if not (isinstance(horizon, int) and horizon > 0):
        raise DataError("clv_horizon_not_whole")
    if not discount_rate >= 0:
        raise DataError("clv_discount_rate_negative_per_period")
    fit = None
    if params is None:
        fit = fit_renewals(table)
        params = fit.params
    p = param_values(params, sbg.NAMES, "sbg")
    n = table.column("tenure").to_numpy().astype(float)
    active = ~table.column("churned").to_numpy(zero_copy_only=False).astype(bool)
    un, inv = np.unique(n, return_inverse=True)
    cols = {
        "member_id": table.column("member_id"),
        "tenure": table.column("tenure"),
        "churned": table.column("churned"),
        "p_renew": np.where(active, sbg.p_renew(p, un)[inv], 0.0),
        "expected_renewals": np.where(active, sbg.expected_renewals(p, un, horizon)[inv], 0.0),
        "derl": np.where(active, sbg.derl(p, un, discount_rate)[inv], 0.0),
    }
    result = pa.table(cols)
    if "value" in table.column_names:
        con = connect()
        con.register("r", result)
        con.register("v", table.select(["value"]))
        result = con.execute(
            "SELECT r.*, v.value, CAST(round(r.derl * v.value::DOUBLE, 2) AS DECIMAL(18,2)) AS clv "
            "FROM r POSITIONAL JOIN v"
        ).fetch_arrow_table()
    meta = {
        "model": "sbg",
        "horizon": horizon,
        "discount_rate": discount_rate,
        "fits": {"sbg": fit.to_json() if fit else {"model": "sbg", "params": params, "given": True}},
    }
    result = result.replace_schema_metadata({META_KEY: json.dumps(meta).encode()})
    if out is not None:
        write_table(result, out)
    return result
