"""Churn features: one row per member in service at the end of a month, built set-based in DuckDB SQL.

Everything is read from the member archive (:func:`weixi.adapters.archive.scan_sql`, so loaded corrections
win) for the feature month ``T`` and the three months before it, plus — when they exist — the monthly close's
results (tier events, points balance) and the points ledger (redemptions, points about to expire).

Trends compare the feature month with the member's own average over the three months before it
(``data_change = -0.45`` means "data use down 45% against its 3-month average"); a member with no earlier
month has a null trend. Counts "in 30 days" are over the 30 days ending at the month end, "in 90 days" over
the 90 days ending there. Money features are yuan as floats: they feed a model, never a ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from weixi.adapters import archive, duck
from weixi.adapters.duck import lit
from weixi.close import store as close_store
from weixi.ledger import fold
from weixi.segments import months
from weixi.settings import DEFAULT_TIMEZONE

# Feature name -> what it means (docs/churn.md lists the same).
FEATURES: dict[str, str] = {
    "tenure_months": "months in service at the month end",
    "age": "age in full years at the month end",
    "migrant": "1 when the ID number's birth place is outside the member's province (Guangdong: 44)",
    "prepaid": "1 for a prepaid card",
    "secondary": "1 for a secondary card (副卡)",
    "secondary_cards": "secondary cards attached to this primary card",
    "network_5g": "1 on 5G",
    "broadband": "1 with a bundled broadband line",
    "broadband_mbps": "broadband speed (null without broadband)",
    "monthly_rent_yuan": "the plan's monthly rent",
    "arpu_yuan": "average monthly bill over the feature month and the two before it",
    "bill_yuan": "the feature month's bill (all services)",
    "bill_change": "the month's bill against its 3-month average (-0.3 = down 30%)",
    "unpaid_bills_90d": "postpaid bills of the last three months not paid",
    "value_added_dropped": "1 when value-added services billed before were not billed this month",
    "voice_minutes": "voice minutes in the month",
    "voice_change": "voice minutes against the 3-month average",
    "data_mb": "data used in the month (MB)",
    "data_change": "data use against the 3-month average",
    "sms_change": "SMS against the 3-month average",
    "recharge_yuan": "top-ups in the month (prepaid)",
    "recharge_change": "top-ups against the 3-month average (prepaid)",
    "days_since_recharge": "days since the last top-up (prepaid; null for postpaid)",
    "complaints_30d": "complaints opened in the last 30 days",
    "unresolved_complaints_30d": "complaints of the last 30 days still unresolved at the month end",
    "complaints_90d": "complaints opened in the last 90 days",
    "miit_complaints_90d": "complaints to the MIIT (工信部申诉) in the last 90 days",
    "survey_score": "the latest satisfaction score (1-10) in the last 90 days",
    "portout_30d": "port-out inquiries (携号转网查询) in the last 30 days",
    "portout_90d": "port-out inquiries in the last 90 days",
    "contract_days_left": "days until the contract ends (negative: ended that many days ago; null: none)",
    "subsidy_days_left": "days until the subsidy ends (negative: ended that many days ago; null: none)",
    "history_months": "months with usage among the three before the feature month",
    "tier_downgrades_90d": "tier downgrades and downgrade notices in the last three closes (null without closes)",
    "points_balance": "points balance at the month's close (null without a close)",
    "points_redeemed_90d": "points redeemed in the last 90 days (null without a ledger)",
    "points_expiring_60d": "points that expire in the 60 days after the month end (null without a ledger)",
}
FEATURE_NAMES = tuple(FEATURES)
HOME_PROVINCE = "44"  # Guangdong: the synthetic operator's province (ID number area code prefix)


@dataclass(frozen=True)
class Sources:
    """Optional inputs besides the archive: the close's results and the points ledger (a SQLAlchemy engine), and
    the operator's timezone (the active plan's: a time of day in the archive falls on that zone's date)."""

    ledger: object | None = None  # sqlalchemy.Engine
    timezone: str = DEFAULT_TIMEZONE


def connect(timezone: str = DEFAULT_TIMEZONE) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose dates of timestamps are those of ``timezone`` (an IANA name)."""
    con = duck.connect()
    con.execute(f"SET TimeZone = '{ZoneInfo(timezone).key}'")  # a known zone name, never free text
    con.execute("SET preserve_insertion_order = false")
    return con


def has_table(data_dir: Path, table: str) -> bool:
    return bool(archive.part_files(data_dir, table) or archive.load_files(data_dir, table))


def population_sql(data_dir: Path, month: str, where: str = "") -> str:
    """Members in service after the end of ``month``: joined by then and not left by then. ``where`` (SQL over
    ``member_id``) restricts both the members and the labels read, e.g. to a range of member ids."""
    end = lit(months.end(month))
    members = _restrict(archive.scan_sql(data_dir, "members"), where)
    if has_table(data_dir, "churn_labels"):
        labels = _restrict(archive.scan_sql(data_dir, "churn_labels"), where)
        gone = f"LEFT JOIN (SELECT member_id AS lid, churn_date FROM ({labels}) WHERE churned) l ON l.lid = m.member_id"
        alive = f"AND (l.churn_date IS NULL OR l.churn_date > DATE {end})"
    else:
        gone, alive = "", ""
    return f"SELECT m.* FROM ({members}) m {gone} WHERE m.join_date <= DATE {end} {alive}"


def _restrict(sql: str, where: str) -> str:
    """``sql`` filtered by ``where``; DuckDB pushes the filter into the Parquet scans (row groups whose
    member-id statistics cannot match are skipped)."""
    return f"SELECT * FROM ({sql}) WHERE {where}" if where else sql


def range_filter(member_range: tuple[str | None, str | None] | None, column: str = "member_id") -> str:
    """SQL for ``lo <= column < hi`` (either end open when None); empty without a range."""
    if member_range is None:
        return ""
    lo, hi = member_range
    conds = ([f"{column} >= {lit(lo)}"] if lo is not None else []) + (
        [f"{column} < {lit(hi)}"] if hi is not None else []
    )
    return " AND ".join(conds) or "TRUE"


def secondaries_sql(data_dir: Path, month: str) -> str:
    """Secondary cards in service per primary card (``member_id``, ``n``), over the whole population."""
    return (
        f"SELECT primary_member_id AS member_id, count(*) AS n FROM ({population_sql(data_dir, month)}) "
        f"WHERE card_role = 'secondary' AND primary_member_id IS NOT NULL GROUP BY primary_member_id"
    )


def feature_sql(
    data_dir: Path,
    month: str,
    extras: dict[str, str] | None = None,
    member_range: tuple[str | None, str | None] | None = None,
) -> str:
    """The SQL of the feature table; ``extras`` maps optional relation names (tier_events, snapshot,
    ledger_redeemed, ledger_expiring, secondaries) to SQL already registered or inlined. ``member_range``
    (``lo <= member_id < hi``, either end None for open) builds the features of those members only; the
    secondary-card counts then come from ``extras["secondaries"]`` (see :func:`secondaries_sql`), since a
    secondary card may lie outside the range of its primary.

    Each input table is read once (the four months, only the columns used) and aggregated once per member
    with conditional aggregates. Averages over months divide a sum by the number of months that had rows
    (a bit per month, OR-ed), which is what an average of monthly sums is."""
    months.check(month)
    data_dir = Path(data_dir)
    extras = extras or {}
    m0, m1, m2, m3 = (months.shift(month, -i) for i in range(4))
    end = months.end(month)
    e, d30, d90 = lit(end), lit(end - timedelta(days=29)), lit(end - timedelta(days=89))
    recent = [m0, m1, m2, m3]
    prev = f"({lit(m1)}, {lit(m2)}, {lit(m3)})"
    where = range_filter(member_range)

    def scan(table: str, ms: list[str] | None) -> str:
        if not has_table(data_dir, table):
            return archive.empty_sql(table)
        return _restrict(archive.scan_sql(data_dir, table, ms), where)

    def change(now: str, avg: str) -> str:
        return f"CASE WHEN {avg} > 0 THEN {now} / {avg} - 1 WHEN {avg} = 0 AND {now} > 0 THEN 1.0 END"

    # bit of each month: 1 = the feature month, 2, 4, 8 = the three before it
    bit = f"CASE month WHEN {lit(m0)} THEN 1 WHEN {lit(m1)} THEN 2 WHEN {lit(m2)} THEN 4 WHEN {lit(m3)} THEN 8 END"
    tier = extras.get("tier_events")
    snapshot = extras.get("snapshot")
    redeemed = extras.get("ledger_redeemed")
    expiring = extras.get("ledger_expiring")
    secondaries = extras.get("secondaries")
    if secondaries is None:
        if member_range is not None:
            raise ValueError("a member range needs extras['secondaries'] (secondaries_sql over everyone)")
        secondaries = (
            "SELECT primary_member_id AS member_id, count(*) AS n FROM pop WHERE card_role = 'secondary' "
            "AND primary_member_id IS NOT NULL GROUP BY primary_member_id"
        )
    else:
        secondaries = _restrict(secondaries, where)
    return f"""
WITH pop AS ({population_sql(data_dir, month, where)}),
usage AS (
  SELECT member_id,
    sum(voice_minutes) FILTER (WHERE month = {lit(m0)}) AS voice_now,
    sum(data_mb) FILTER (WHERE month = {lit(m0)}) AS data_now,
    sum(sms_count) FILTER (WHERE month = {lit(m0)}) AS sms_now,
    avg(voice_minutes) FILTER (WHERE month IN {prev}) AS voice_avg,
    avg(data_mb) FILTER (WHERE month IN {prev}) AS data_avg,
    avg(sms_count) FILTER (WHERE month IN {prev}) AS sms_avg,
    count(*) FILTER (WHERE month IN {prev} AND voice_minutes + data_mb + sms_count > 0) AS history_months
  FROM ({scan("usage", recent)}) GROUP BY member_id),
bill_sums AS (
  SELECT member_id,
    sum(amount_fen) FILTER (WHERE month = {lit(m0)}) AS fen_now,
    sum(amount_fen) FILTER (WHERE month IN {prev}) AS fen_prev,
    sum(amount_fen) FILTER (WHERE month IN ({lit(m0)}, {lit(m1)}, {lit(m2)})) AS fen_arpu,
    bit_or({bit}) FILTER (WHERE amount_fen IS NOT NULL) AS billed,
    coalesce(sum(amount_fen) FILTER (WHERE service_type = 'value_added' AND month = {lit(m0)}), 0) AS vas_now,
    coalesce(sum(amount_fen) FILTER (WHERE service_type = 'value_added' AND month IN {prev}), 0) AS vas_before,
    count(*) FILTER (WHERE NOT paid AND month IN ({lit(m0)}, {lit(m1)}, {lit(m2)})) AS unpaid_90d
  FROM ({scan("bills", recent)}) GROUP BY member_id),
bills AS (
  SELECT member_id, fen_now / 100.0 AS bill_now,
    fen_prev / bit_count(billed & 14) / 100.0 AS bill_avg,
    fen_arpu / bit_count(billed & 7) / 100.0 AS arpu,
    vas_now, vas_before, unpaid_90d
  FROM bill_sums),
recharges AS (
  SELECT member_id,
    coalesce(sum(amount_fen) FILTER (WHERE month = {lit(m0)}), 0) / 100.0 AS recharge_now,
    sum(amount_fen) FILTER (WHERE month IN {prev}) / 300.0 AS recharge_avg,
    CAST(max(recharged_at) AS DATE) AS last_on
  FROM ({scan("recharges", recent)}) GROUP BY member_id),
complaints AS (
  SELECT member_id,
    count(*) FILTER (WHERE CAST(opened_at AS DATE) >= DATE {d30}) AS c30,
    count(*) FILTER (WHERE CAST(opened_at AS DATE) >= DATE {d30}
                     AND (NOT resolved OR resolved_at IS NULL OR CAST(resolved_at AS DATE) > DATE {e})) AS u30,
    count(*) AS c90,
    count(*) FILTER (WHERE channel = 'miit') AS miit90
  FROM ({scan("complaints", [m0, m1, m2, m3])})
  WHERE CAST(opened_at AS DATE) BETWEEN DATE {d90} AND DATE {e} GROUP BY member_id),
surveys AS (
  SELECT member_id, arg_max(score, surveyed_at) AS score
  FROM ({scan("surveys", [m0, m1, m2, m3])})
  WHERE CAST(surveyed_at AS DATE) BETWEEN DATE {d90} AND DATE {e} GROUP BY member_id),
portout AS (
  SELECT member_id,
    count(*) FILTER (WHERE CAST(inquired_at AS DATE) >= DATE {d30}) AS p30, count(*) AS p90
  FROM ({scan("portout_inquiries", [m0, m1, m2, m3])})
  WHERE CAST(inquired_at AS DATE) BETWEEN DATE {d90} AND DATE {e} GROUP BY member_id),
secondaries AS ({secondaries})
SELECT
  p.member_id,
  {lit(month)} AS month,
  CAST(datediff('month', p.join_date, DATE {e}) AS DOUBLE) AS tenure_months,
  CAST(datediff('year', p.birthday, DATE {e}) - CASE WHEN month(p.birthday) * 100 + day(p.birthday) >
       {end.month * 100 + end.day} THEN 1 ELSE 0 END AS DOUBLE) AS age,
  CAST(CASE WHEN p.id_number IS NULL THEN NULL WHEN left(p.id_number, 2) <> {lit(HOME_PROVINCE)} THEN 1 ELSE 0 END
       AS DOUBLE) AS migrant,
  CAST(p.payment_type = 'prepaid' AS DOUBLE) AS prepaid,
  CAST(p.card_role = 'secondary' AS DOUBLE) AS secondary,
  CAST(coalesce(s.n, 0) AS DOUBLE) AS secondary_cards,
  CAST(p.network = '5G' AS DOUBLE) AS network_5g,
  CAST(coalesce(p.broadband, false) AS DOUBLE) AS broadband,
  CAST(p.broadband_mbps AS DOUBLE) AS broadband_mbps,
  p.monthly_rent_fen / 100.0 AS monthly_rent_yuan,
  b.arpu AS arpu_yuan,
  coalesce(b.bill_now, 0) AS bill_yuan,
  {change("coalesce(b.bill_now, 0)", "b.bill_avg")} AS bill_change,
  CAST(coalesce(b.unpaid_90d, 0) AS DOUBLE) AS unpaid_bills_90d,
  CAST(coalesce(b.vas_before, 0) > 0 AND coalesce(b.vas_now, 0) = 0 AS DOUBLE) AS value_added_dropped,
  CAST(coalesce(u.voice_now, 0) AS DOUBLE) AS voice_minutes,
  {change("coalesce(u.voice_now, 0)", "u.voice_avg")} AS voice_change,
  CAST(coalesce(u.data_now, 0) AS DOUBLE) AS data_mb,
  {change("coalesce(u.data_now, 0)", "u.data_avg")} AS data_change,
  {change("coalesce(u.sms_now, 0)", "u.sms_avg")} AS sms_change,
  CASE WHEN p.payment_type = 'prepaid' THEN coalesce(r.recharge_now, 0) END AS recharge_yuan,
  CASE WHEN p.payment_type = 'prepaid' THEN {change("coalesce(r.recharge_now, 0)", "r.recharge_avg")} END
    AS recharge_change,
  CASE WHEN p.payment_type = 'prepaid' THEN
    CAST(datediff('day', coalesce(r.last_on, greatest(p.join_date, DATE {lit(first_day(m3))})),
                  DATE {e}) AS DOUBLE) END AS days_since_recharge,
  CAST(coalesce(c.c30, 0) AS DOUBLE) AS complaints_30d,
  CAST(coalesce(c.u30, 0) AS DOUBLE) AS unresolved_complaints_30d,
  CAST(coalesce(c.c90, 0) AS DOUBLE) AS complaints_90d,
  CAST(coalesce(c.miit90, 0) AS DOUBLE) AS miit_complaints_90d,
  CAST(sv.score AS DOUBLE) AS survey_score,
  CAST(coalesce(po.p30, 0) AS DOUBLE) AS portout_30d,
  CAST(coalesce(po.p90, 0) AS DOUBLE) AS portout_90d,
  CAST(datediff('day', DATE {e}, p.contract_end) AS DOUBLE) AS contract_days_left,
  CAST(datediff('day', DATE {e}, p.subsidy_end) AS DOUBLE) AS subsidy_days_left,
  CAST(coalesce(u.history_months, 0) AS DOUBLE) AS history_months,
  {"CAST(coalesce(te.n, 0) AS DOUBLE)" if tier else "CAST(NULL AS DOUBLE)"} AS tier_downgrades_90d,
  {"CAST(sn.points_balance AS DOUBLE)" if snapshot else "CAST(NULL AS DOUBLE)"} AS points_balance,
  {"CAST(coalesce(lr.points, 0) AS DOUBLE)" if redeemed else "CAST(NULL AS DOUBLE)"} AS points_redeemed_90d,
  {"CAST(coalesce(lx.points, 0) AS DOUBLE)" if expiring else "CAST(NULL AS DOUBLE)"} AS points_expiring_60d
FROM pop p
LEFT JOIN usage u ON u.member_id = p.member_id
LEFT JOIN bills b ON b.member_id = p.member_id
LEFT JOIN recharges r ON r.member_id = p.member_id
LEFT JOIN complaints c ON c.member_id = p.member_id
LEFT JOIN surveys sv ON sv.member_id = p.member_id
LEFT JOIN portout po ON po.member_id = p.member_id
LEFT JOIN secondaries s ON s.member_id = p.member_id
{f"LEFT JOIN ({tier}) te ON te.member_id = p.member_id" if tier else ""}
{f"LEFT JOIN ({snapshot}) sn ON sn.member_id = p.member_id" if snapshot else ""}
{f"LEFT JOIN ({redeemed}) lr ON lr.member_id = p.member_id" if redeemed else ""}
{f"LEFT JOIN ({expiring}) lx ON lx.member_id = p.member_id" if expiring else ""}
"""


def close_extras(data_dir: Path, month: str) -> dict[str, str]:
    """SQL over the monthly close's results for ``month`` when they exist: tier events of the last three
    closes and the month's snapshot (points balance)."""
    data_dir = Path(data_dir)
    out: dict[str, str] = {}
    events = [
        f
        for m in (month, months.shift(month, -1), months.shift(month, -2))
        for f in close_store.uris(data_dir, "tier_events", m)  # the month's files in the close's Delta table
    ]
    if events:
        files = "[" + ", ".join(lit(p) for p in events) + "]"
        out["tier_events"] = (
            f"SELECT member_id, count(*) AS n FROM read_parquet({files}) "
            f"WHERE event IN ('downgraded', 'will_downgrade') GROUP BY member_id"
        )
    snap = close_store.source(data_dir, "snapshots", month)
    if snap:
        out["snapshot"] = f"SELECT member_id, points_balance FROM {snap}"
    return out


def ledger_extras(con: duckdb.DuckDBPyConnection, ledger, month: str) -> dict[str, str]:
    """Redemptions in the 90 days to the month end and points expiring in the 60 days after it, read from the
    ledger with two aggregate queries and registered in ``con``. Lots' remaining points are as of now; with lake
    months the lake's unfolded lots are added (:func:`weixi.ledger.fold.unfolded_views`)."""
    from weixi.close.ledger_bridge import ledger_arrow

    end = months.end(month)
    redeemed = ledger_arrow(
        ledger,
        "SELECT member_id, -sum(points) FROM journal WHERE kind IN ('redeem', 'cancel') "
        "AND day > ? AND day <= ? GROUP BY member_id",
        [end - timedelta(days=90), end],
        pa.schema([("member_id", pa.string()), ("points", pa.int64())]),
    )
    expiring = ledger_arrow(
        ledger,
        "SELECT member_id, sum(remaining) FROM lots WHERE remaining > 0 AND expires_on > ? "
        "AND expires_on <= ? GROUP BY member_id",
        [end, end + timedelta(days=60)],
        pa.schema([("member_id", pa.string()), ("points", pa.int64())]),
    )
    con.register("ledger_redeemed", redeemed)
    con.register("ledger_expiring", expiring)
    if fold.unfolded_views(ledger, con):  # the lake's lots no fold has brought into ``lots`` (never spent)
        expiring = (
            con.execute(
                "SELECT member_id, CAST(sum(points) AS BIGINT) AS points FROM (SELECT member_id, points "
                "FROM ledger_expiring UNION ALL SELECT member_id, remaining FROM lake_lots WHERE remaining > 0 "
                "AND expires_on > ? AND expires_on <= ?) GROUP BY member_id",
                [end, end + timedelta(days=60)],
            )
            .fetch_arrow_table()
            .cast(expiring.schema)
        )
        con.register("ledger_expiring", expiring)
    return {"ledger_redeemed": "SELECT * FROM ledger_redeemed", "ledger_expiring": "SELECT * FROM ledger_expiring"}


def build_sql(con: duckdb.DuckDBPyConnection, data_dir: Path, month: str, sources: Sources | None = None) -> str:
    """The feature SQL for ``month`` with every optional source that exists wired in."""
    extras = close_extras(data_dir, month)
    if sources is not None and sources.ledger is not None:
        extras.update(ledger_extras(con, sources.ledger, month))
    return feature_sql(data_dir, month, extras)


def build(
    data_dir: Path, month: str, sources: Sources | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> pa.Table:
    """The feature table of ``month`` as Arrow: ``member_id``, ``month`` and :data:`FEATURE_NAMES`."""
    con = con or connect()
    return con.sql(build_sql(con, data_dir, month, sources)).to_arrow_table()


def first_day(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)
