"""The month's retention target lists, built in one DuckDB statement from the scores, features and archive.

Lists, each member on at most one, in this order:

* ``expiring`` (到期目标客户): contract or subsidy ends within the plan's window after the month end;
* ``high_risk`` (非到期目标客户): not expiring, churn probability at least the plan's threshold;
* ``silent``: neither, and this month's voice and data use at most the plan's share of the member's own 3-month
  average (or none at all);
* ``winback``: left in the plan's number of days up to the month end.

Value (fen, integer) = ARPU × margin share × expected months in service over the plan's value horizon, where
a member stays each month with probability ``(1 - p) ** (1 / horizon)`` (``p``: the churn probability within
the model's horizon); leavers are valued as a typical member of the month. Or a CLV per member from a file
(``--value FILE`` with ``member_id`` and ``clv`` in yuan). Priority = risk × value (fen at risk). The
recommended offer is the first eligible offer in catalogue order that addresses one of the member's reasons,
else the first eligible offer. The control group is drawn per stratum (list × segment: the value grade of the
month's close, else the risk quintile within the list) by systematic sampling in a keyed-hash order, so
every stratum holds the plan's share (±1 member; the start of the sampling is a keyed-hash offset per stratum,
so small strata get a control member with probability equal to their share) and a rerun draws the same members.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import duckdb

from weixi.adapters import archive
from weixi.adapters.duck import lit
from weixi.churn import features, reasons
from weixi.churn.operator import HORIZON_MONTHS
from weixi.close import store as close_store
from weixi.plans.retention import Eligibility, Offer, RetentionPlan
from weixi.segments import months

LISTS = ("expiring", "high_risk", "silent", "winback")
STATUS = {"expiring": "expiring", "high_risk": "non_expiring", "silent": "non_expiring", "winback": "non_expiring"}


def eligibility_sql(e: Eligibility) -> str:
    conds = ["TRUE"]
    if e.card_role:
        conds.append(f"card_role IN ({', '.join(map(lit, e.card_role))})")
    if e.payment_type:
        conds.append(f"payment_type IN ({', '.join(map(lit, e.payment_type))})")
    if e.network:
        conds.append(f"network IN ({', '.join(map(lit, e.network))})")
    if e.min_monthly_rent_yuan is not None:
        conds.append(f"monthly_rent_fen >= {int(e.min_monthly_rent_yuan * 100)}")
    if e.broadband is not None:
        conds.append(f"coalesce(broadband, false) = {str(e.broadband).upper()}")
    if e.max_broadband_mbps is not None:
        conds.append(f"coalesce(broadband_mbps, 0) <= {int(e.max_broadband_mbps)}")
    if e.broadband_only is not None:  # 单宽带: broadband and no mobile line, as the incentive orders' broadband_only
        conds.append(f"(coalesce(broadband, false) AND coalesce(network, '') = '') = {str(e.broadband_only).upper()}")
    if e.subsidy_running is not None:
        conds.append(f"(coalesce(subsidy_end > month_end, false)) = {str(e.subsidy_running).upper()}")
    if e.min_tenure_months is not None:
        conds.append(f"coalesce(tenure_months, 0) >= {int(e.min_tenure_months)}")
    if e.lists:
        conds.append(f"list IN ({', '.join(map(lit, e.lists))})")
    return " AND ".join(conds)


def offer_sql(offers: tuple[Offer, ...]) -> tuple[str, str]:
    """(offer id expression, offer name expression) over a row with eligibility columns and reasons."""
    arms = []
    for o in offers:
        if o.for_reasons:
            wanted = "[" + ", ".join(map(lit, o.for_reasons)) + "]"
            arms.append(
                f"WHEN ({eligibility_sql(o.eligible)}) AND list_has_any([reason_feature_1, reason_feature_2, "
                f"reason_feature_3], {wanted}) THEN {lit(o.id)}"
            )
    arms += [f"WHEN ({eligibility_sql(o.eligible)}) THEN {lit(o.id)}" for o in offers]
    names = " ".join(f"WHEN {lit(o.id)} THEN {lit(o.name)}" for o in offers)
    return "CASE " + " ".join(arms) + " END", "CASE offer_id " + names + " END"


def build_sql(
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    month: str,
    plan: RetentionPlan,
    scores: Path,
    value_file: Path | None = None,
) -> str:
    data_dir = Path(data_dir)
    end = months.end(month)
    feats = features.build_sql(con, data_dir, month)
    members = archive.scan_sql(data_dir, "members")
    share = Decimal(plan.control_share)
    margin = float(plan.margin_share)
    n = int(plan.value_months)
    h = HORIZON_MONTHS
    snap = close_store.source(data_dir, "snapshots", month)  # read_parquet([...]) of the month's files, or None
    segment_join = (
        f"LEFT JOIN (SELECT member_id AS sid, value_grade FROM {snap}) sg ON sg.sid = c.member_id" if snap else ""
    )
    segment = "sg.value_grade" if snap else "NULL"
    silent = plan.silent_max_usage_ratio
    silent_cond = (
        (
            f"(c.voice_minutes + c.data_mb = 0 OR (c.data_change <= {float(silent) - 1} "
            f"AND c.voice_change <= {float(silent) - 1}))"
        )
        if silent is not None
        else "FALSE"
    )
    # expected months in service over n months with monthly survival s: s (1 - s^n) / (1 - s)
    months_expr = f"CASE WHEN s >= 1 THEN {n} ELSE s * (1 - pow(s, {n})) / (1 - s) END"
    value_join, value_expr = "", None
    if value_file is not None:
        value_join = (
            f"LEFT JOIN (SELECT CAST(member_id AS VARCHAR) AS vid, CAST(clv AS DOUBLE) AS clv "
            f"FROM {scan_any(value_file)}) vf ON vf.vid = c.member_id"
        )
        value_expr = "CAST(round(coalesce(vf.clv, 0) * 100) AS BIGINT)"
    winback = ""
    if plan.winback_days and features.has_table(data_dir, "churn_labels"):
        since = end - timedelta(days=plan.winback_days)
        labels = archive.scan_sql(data_dir, "churn_labels")
        bills = archive.scan_sql(data_dir, "bills", [months.shift(month, -i) for i in range(4)])
        winback = f"""
UNION ALL
SELECT m.member_id, 'winback' AS list, 1.0 AS churn_probability, CAST(NULL AS TINYINT) AS risk_decile,
       {reasons.left_sql("l.churn_date", "l.churn_reason", "en")} AS reason_1,
       NULL AS reason_2, NULL AS reason_3,
       {reasons.left_sql("l.churn_date", "l.churn_reason", "zh_CN")} AS reason_1_zh,
       NULL AS reason_2_zh, NULL AS reason_3_zh,
       l.churn_reason AS reason_feature_1, NULL AS reason_feature_2, NULL AS reason_feature_3,
       coalesce(wb.arpu_fen, 0) AS arpu_fen,
       datediff('month', m.join_date, l.churn_date) AS tenure_months, l.churn_date AS left_on
FROM ({members}) m JOIN ({labels}) l ON l.member_id = m.member_id
LEFT JOIN (SELECT member_id, sum(amount_fen) / count(DISTINCT month) AS arpu_fen FROM ({bills}) GROUP BY member_id) wb
  ON wb.member_id = m.member_id
WHERE l.churned AND l.churn_date > DATE {lit(since)} AND l.churn_date <= DATE {lit(end)}"""
    offer_id, offer_name = offer_sql(plan.offers)
    return f"""
WITH f AS ({feats}),
s AS (SELECT * FROM read_parquet({lit(scores)})),
scored AS (
  SELECT s.member_id,
    CASE WHEN (f.contract_days_left BETWEEN 0 AND {plan.expiring_window_days})
              OR (f.subsidy_days_left BETWEEN 0 AND {plan.expiring_window_days}) THEN 'expiring'
         WHEN s.churn_probability >= {float(plan.high_risk_min_probability)} THEN 'high_risk'
         WHEN {silent_cond.replace("c.", "f.")} THEN 'silent' END AS list,
    s.churn_probability, s.risk_decile, s.reason_1, s.reason_2, s.reason_3, s.reason_1_zh, s.reason_2_zh, s.reason_3_zh,
    s.reason_feature_1, s.reason_feature_2, s.reason_feature_3,
    CAST(round(coalesce(f.arpu_yuan, 0) * 100) AS BIGINT) AS arpu_fen, f.tenure_months, CAST(NULL AS DATE) AS left_on
  FROM s JOIN f ON f.member_id = s.member_id),
typical AS (SELECT avg(churn_probability) AS p FROM s),
listed AS (SELECT * FROM scored WHERE list IS NOT NULL {winback}),
c AS (
  SELECT l.*, m.card_role, m.payment_type, m.network, m.monthly_rent_fen, m.broadband, m.broadband_mbps,
         m.subsidy_end, m.manager_id, m.city, m.plan_name, DATE {lit(end)} AS month_end,
         pow(1 - least(CASE WHEN l.list = 'winback' THEN (SELECT p FROM typical) ELSE l.churn_probability END,
                       0.999999), 1.0 / {h}) AS s
  FROM listed l JOIN ({members}) m ON m.member_id = l.member_id),
valued AS (
  SELECT c.*, {segment} AS grade,
    {value_expr or f"CAST(round(c.arpu_fen * {margin} * ({months_expr})) AS BIGINT)"} AS value_fen
  FROM c {segment_join} {value_join}),
priced AS (
  SELECT *, CAST(round(churn_probability * value_fen) AS BIGINT) AS priority_fen,
    list || '/' || coalesce(grade, 'risk_q' || CAST(ntile(5) OVER (PARTITION BY list ORDER BY churn_probability DESC,
      member_id) AS VARCHAR)) AS stratum
  FROM valued),
drawn AS (
  SELECT *, row_number() OVER (PARTITION BY stratum ORDER BY hash({lit(plan.control_seed)} || '/' || {lit(month)}
    || '/' || member_id), member_id) AS draw_rank,
    (hash({lit(plan.control_seed)} || '/' || {lit(month)} || '/' || stratum) % 1000003) / 1000003.0
      / {share if share > 0 else 1} AS draw_offset
  FROM priced),
offered AS (SELECT *, {offer_id} AS offer_id FROM drawn)
SELECT {lit(month)} AS month, member_id, list,
  CASE list WHEN 'expiring' THEN 'expiring' ELSE 'non_expiring' END AS status,
  CASE WHEN {share} > 0 AND floor((draw_rank + draw_offset) * {share}) > floor((draw_rank - 1 + draw_offset) * {share})
       THEN 'control' ELSE 'treatment' END AS "group",
  stratum, churn_probability, risk_decile, arpu_fen, value_fen, priority_fen,
  CAST(row_number() OVER (ORDER BY priority_fen DESC, member_id) AS BIGINT) AS priority_rank,
  offer_id, {offer_name} AS offer_name,
  reason_1, reason_2, reason_3, reason_1_zh, reason_2_zh, reason_3_zh,
  reason_feature_1, reason_feature_2, reason_feature_3,
  manager_id, city, plan_name, card_role, payment_type, CAST(tenure_months AS INTEGER) AS tenure_months, left_on
FROM offered
"""


def scan_any(path: Path) -> str:
    p = str(path)
    if p.lower().endswith((".parquet", ".pq")):
        return f"read_parquet({lit(p)})"
    return f"read_csv({lit(p)}, header = true)"
