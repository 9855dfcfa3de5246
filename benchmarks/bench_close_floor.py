"""The floor of any monthly close on this machine: the close's own work done as hand-written DuckDB SQL with no
ledger at all, against the bare scan of the same month's input, measured in the same run.

It reads an operator the close benchmark has already closed once (``DATA``: the month before ``MONTH`` has its
history and snapshot files) and does, for ``MONTH``, the least the issue asks of a close:

* accrual: one row per paid bill and recharge with its points (a yuan a point, the tier's multiplier), written
  to Parquet as the bill-by-bill explanation, and the points earned per member;
* the month's history per member (spend, top-ups, touches, last activity, points);
* the window: the month's history and the history files of the eleven months before it that the operator has
  (one at the benchmark's second month; eleven at the twelfth, as the close's window reads);
* tiers by points earned over the window, with the tier events;
* segments: star level, value pyramid by share of contribution, activity grade, RFM, key accounts;
* the snapshot of every member (profile columns, tier, segments, balance = last balance + earned), sorted by
  member in small row groups as member 360 reads it.

Nothing is written to SQLite, nothing is expired, no plan is read: every step is cheaper than the real one, so
the ratio it reports is a lower bound for any implementation of the close with DuckDB on this machine.

    python benchmarks/bench_close_floor.py DATA MONTH OUT_DIR

The close benchmark runs it on its own operator after the real close of the same month (``floor_*`` in its
results).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

from weixi import settings
from weixi.close.months import window
from weixi.close.run import HISTORY_MONTHS  # the close's window, the month closed included


def floor(data: Path, month: str, out: Path) -> dict:
    prev = _previous(month)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{settings.duckdb_memory()}'")  # the close's limit
    con.execute(f"SET temp_directory = '{out / '.spill'}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    src = {
        t: f"read_parquet('{data}/{t}/*.parquet')"
        for t in ("bills", "recharges", "usage", "surveys", "complaints", "members")
    }
    from weixi.adapters.duck import scan_files
    from weixi.close import store  # the close's Delta tables: the month's files the current version lists

    snap = scan_files(store.uris(data, "snapshots", prev))
    # the window's earlier months (the close's tiers and segments read twelve): the history files they have
    earlier = [f for m in window(prev, HISTORY_MONTHS - 1) for f in store.uris(data, "history", m)]
    hist_prev = scan_files(earlier)
    laps: dict[str, float] = {}

    def lap(name: str, sql: str) -> None:
        start = time.perf_counter()
        con.execute(sql)
        laps[name] = round(time.perf_counter() - start, 2)

    total = time.perf_counter()
    end = _end(month)
    lap("read_prev", f"CREATE TEMP TABLE prev AS SELECT member_id, tier, points_balance FROM {snap}")
    lap(
        "accrual",
        f"""
        CREATE TEMP TABLE acc AS
        WITH ev AS (
            SELECT bill_id AS event_id, member_id, 'bill' AS type, paid_on AS day, amount_fen
            FROM {src["bills"]} WHERE month = '{month}' AND paid AND amount_fen > 0
            UNION ALL
            SELECT recharge_id, member_id, 'recharge', CAST(recharged_at AS DATE), amount_fen
            FROM {src["recharges"]} WHERE month = '{month}' AND amount_fen > 0)
        SELECT ev.*, (ev.amount_fen // 100) AS base_points,
               (ev.amount_fen // 100) * CASE p.tier WHEN 'gold' THEN 3 WHEN 'silver' THEN 2 ELSE 2 END // 2 AS points,
               ev.day + INTERVAL 24 MONTH AS expires_on
        FROM ev LEFT JOIN prev p USING (member_id)""",
    )
    lap("accrual_file", f"COPY acc TO '{out}/accruals.parquet' (FORMAT parquet, COMPRESSION zstd)")
    lap(
        "history",
        f"""
        CREATE TEMP TABLE hist AS
        WITH touches AS (
            SELECT member_id, amount_fen AS spend_fen, 0 AS recharge_fen, NULL::DATE AS day
            FROM {src["bills"]} WHERE month = '{month}'
            UNION ALL SELECT member_id, 0, amount_fen, CAST(recharged_at AS DATE) FROM {src["recharges"]}
            WHERE month = '{month}'
            UNION ALL SELECT member_id, 0, 0, DATE '{end}' FROM {src["usage"]}
            WHERE month = '{month}' AND voice_minutes + data_mb + sms_count > 0
            UNION ALL SELECT member_id, 0, 0, CAST(surveyed_at AS DATE) FROM {src["surveys"]} WHERE month = '{month}'
            UNION ALL SELECT member_id, 0, 0, CAST(opened_at AS DATE) FROM {src["complaints"]} WHERE month = '{month}'),
        agg AS (SELECT member_id, sum(spend_fen) AS spend_fen, sum(recharge_fen) AS recharge_fen,
                       count(*) AS touches, max(day) AS last_active_on FROM touches GROUP BY member_id),
        pts AS (SELECT member_id, sum(points) AS points_earned FROM acc GROUP BY member_id)
        SELECT coalesce(agg.member_id, pts.member_id) AS member_id, '{month}' AS month,
               coalesce(spend_fen, 0) AS spend_fen, coalesce(recharge_fen, 0) AS recharge_fen,
               coalesce(touches, 0) AS touches, last_active_on, coalesce(points_earned, 0) AS points_earned
        FROM agg FULL JOIN pts USING (member_id)""",
    )
    lap(
        "history_file",
        f"COPY (SELECT * FROM hist ORDER BY member_id) TO '{out}/history.parquet' "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 4096)",
    )
    lap(
        "window",
        f"""
        CREATE TEMP TABLE win AS
        WITH h AS (
            SELECT member_id, sum(spend_fen) AS spend_12, sum(touches) AS touches_12,
                   sum(points_earned) AS earned_12, max(last_active_on) AS last_active_on,
                   count(*) FILTER (WHERE touches > 0) AS active_months,
                   sum(spend_fen) FILTER (WHERE month = '{month}') AS month_spend_fen,
                   sum(points_earned) FILTER (WHERE month = '{month}') AS month_points_earned
            FROM (SELECT * FROM hist UNION ALL SELECT * FROM {hist_prev}) GROUP BY member_id)
        SELECT m.member_id, m.join_date, m.city, m.manager_id, m.payment_type, m.card_role, m.network, m.plan_name,
               coalesce(spend_12, 0) AS spend_12, coalesce(touches_12, 0) AS touches_12,
               coalesce(earned_12, 0) AS earned_12, last_active_on, coalesce(active_months, 0) AS active_months,
               coalesce(month_spend_fen, 0) AS month_spend_fen, coalesce(month_points_earned, 0) AS month_points_earned,
               date_diff('year', m.join_date, DATE '{end}') AS tenure_years,
               date_diff('day', last_active_on, DATE '{end}') AS days_since
        FROM {src["members"]} m LEFT JOIN h USING (member_id)""",
    )
    lap(
        "tiers",
        """
        CREATE TEMP TABLE tiers AS
        SELECT w.member_id, p.tier AS from_tier,
               CASE WHEN earned_12 >= 5000 THEN 'gold' WHEN earned_12 >= 1000 THEN 'silver' ELSE 'member' END AS tier
        FROM win w LEFT JOIN prev p USING (member_id)""",
    )
    lap(
        "tier_events_file",
        f"COPY (SELECT * FROM tiers WHERE from_tier IS DISTINCT FROM tier ORDER BY member_id) "
        f"TO '{out}/tier_events.parquet' (FORMAT parquet, COMPRESSION zstd)",
    )
    lap(
        "segment_levels",
        """
        CREATE TEMP TABLE pyramid AS
        SELECT amount, sum(level_total) OVER (ORDER BY amount DESC ROWS UNBOUNDED PRECEDING) - level_total AS before,
               sum(level_total) OVER () AS total
        FROM (SELECT greatest(spend_12, 0) AS amount, sum(greatest(spend_12, 0)) AS level_total FROM win GROUP BY 1);
        CREATE TEMP TABLE r AS SELECT k, sum(n) OVER (ORDER BY k ROWS UNBOUNDED PRECEDING) - n AS worse,
               sum(n) OVER () AS total
        FROM (SELECT -coalesce(days_since, 1000000) AS k, count(*) AS n FROM win GROUP BY 1);
        CREATE TEMP TABLE f AS SELECT k, sum(n) OVER (ORDER BY k ROWS UNBOUNDED PRECEDING) - n AS worse,
               sum(n) OVER () AS total FROM (SELECT touches_12 AS k, count(*) AS n FROM win GROUP BY 1);
        CREATE TEMP TABLE mo AS SELECT k, sum(n) OVER (ORDER BY k ROWS UNBOUNDED PRECEDING) - n AS worse,
               sum(n) OVER () AS total FROM (SELECT spend_12 AS k, count(*) AS n FROM win GROUP BY 1)""",
    )
    lap(
        "segments",
        """
        CREATE TEMP TABLE seg AS
        SELECT b.member_id,
               CASE WHEN arpu >= 30000 AND tenure_years >= 5 THEN 7 WHEN arpu >= 20000 THEN 6
                    WHEN arpu >= 15000 THEN 5 WHEN arpu >= 10000 THEN 4 WHEN arpu >= 5000 THEN 3
                    WHEN arpu >= 2000 THEN 2 ELSE 1 END AS star_level,
               CASE WHEN p.before * 10000 < 2000 * p.total THEN 'A' WHEN p.before * 10000 < 5000 * p.total THEN 'B'
                    WHEN p.before * 10000 < 8000 * p.total THEN 'C' ELSE 'D' END AS value_grade,
               CASE WHEN days_since <= 30 AND touches_12 >= 3 THEN 'active' WHEN days_since <= 90 THEN 'normal'
                    ELSE 'silent' END AS activity_grade,
               CAST(r.worse * 5 // r.total + 1 AS VARCHAR) || CAST(f.worse * 5 // f.total + 1 AS VARCHAR)
                   || CAST(mo.worse * 5 // mo.total + 1 AS VARCHAR) AS rfm,
               CASE WHEN spend_12 >= 1000000 AND active_months >= 2 THEN 'diamond' WHEN spend_12 >= 500000 THEN 'gold'
                    WHEN spend_12 >= 200000 THEN 'silver' WHEN spend_12 >= 100000 THEN 'bronze' END AS key_account,
               arpu AS arpu_fen
        FROM (SELECT *, spend_12 // 2 AS arpu FROM win) b
        JOIN pyramid p ON greatest(b.spend_12, 0) = p.amount
        JOIN r ON -coalesce(b.days_since, 1000000) = r.k
        JOIN f ON b.touches_12 = f.k
        JOIN mo ON b.spend_12 = mo.k""",
    )
    lap(
        "snapshot",
        f"""
        CREATE TEMP TABLE snap AS
        SELECT '{month}' AS month, w.member_id, w.join_date, w.city, w.manager_id, w.payment_type, w.card_role,
               w.network, w.plan_name, t.tier, s.star_level, s.value_grade, s.activity_grade, s.rfm,
               s.key_account, s.arpu_fen, w.month_spend_fen, w.month_points_earned,
               coalesce(p.points_balance, 0) + w.month_points_earned AS points_balance
        FROM win w JOIN tiers t USING (member_id) JOIN seg s USING (member_id) LEFT JOIN prev p USING (member_id)""",
    )
    lap(
        "snapshot_file",
        f"COPY (SELECT * FROM snap ORDER BY member_id) TO '{out}/snapshot.parquet' "
        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 4096)",
    )
    floor_s = time.perf_counter() - total
    rows = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("acc", "hist", "win")}
    con.close()
    shutil.rmtree(out / ".spill", ignore_errors=True)
    return {"floor_seconds": round(floor_s, 1), "floor_laps": laps, "floor_rows": rows}


def _previous(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def _end(month: str) -> str:
    y, m = map(int, month.split("-"))
    nxt = f"{y + 1}-01-01" if m == 12 else f"{y}-{m + 1:02d}-01"
    return str(duckdb.sql(f"SELECT DATE '{nxt}' - 1").fetchone()[0])


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.bench_close import bare_scan_seconds

    data, month = Path(sys.argv[1]), sys.argv[2]
    result = floor(data, month, Path(sys.argv[3]))
    scan = bare_scan_seconds(data, month)
    print(
        json.dumps(
            {
                "month": month,
                **result,
                "bare_scan_seconds": round(scan, 2),
                "floor_ratio_to_bare_scan": round(result["floor_seconds"] / scan, 1),
                "load_average": os.getloadavg(),
            },
            indent=1,
        )
    )
