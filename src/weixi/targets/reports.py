"""Read models of churn scores and target lists for the API and the console: scored and built months, the risk
distribution, the reasons breakdown, scored members, target lists with filters and their export, model
reports. Training, scoring, building and evaluating are :mod:`weixi.churn.service` and
:mod:`weixi.targets.service`; everything here reads their Parquet files set-based with DuckDB.

Risk bands (of the monthly ``risk_decile``, 1 = the riskiest 10%): ``high`` deciles 1–2, ``medium`` 3–5,
``low`` 6–10; win-back members (already left) have no decile and no band. A list row's segment is the part of
its ``stratum`` after the list (the value grade from the month's close, else the risk quintile ``risk_qN``).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters import archive, duck
from weixi.adapters.duck import lit
from weixi.churn import report, store
from weixi.churn import service as churn_service
from weixi.churn.errors import ChurnInputError, NoModel, NotScored
from weixi.churn.score import scores_path
from weixi.members import pii, pii_audit
from weixi.targets import build as builder
from weixi.targets import export
from weixi.targets import service as targets_service
from weixi.users.service import User, audit

BANDS = {"high": (1, 2), "medium": (3, 5), "low": (6, 10)}
# Probability bins of the distribution chart: [from, to) in percent.
BINS = ((0, 2), (2, 5), (5, 10), (10, 20), (20, 30), (30, 50), (50, 100.0001))
_MONTH_DIR = re.compile(r"^month=(\d{4}-\d{2})$")


def _months(base: Path) -> list[str]:
    if not base.is_dir():
        return []
    return sorted(
        (m.group(1) for p in base.iterdir() if (m := _MONTH_DIR.match(p.name)) and (p / "part-0.parquet").exists()),
        reverse=True,
    )


def scored_months(data_dir: Path) -> list[str]:
    return _months(Path(data_dir) / "churn" / "scores")


def built_months(data_dir: Path) -> list[str]:
    return _months(Path(data_dir) / "targets")


def _scores_sql(data_dir: Path, month: str) -> str:
    path = scores_path(Path(data_dir), month)
    if not path.exists():
        raise NotScored("churn_month_not_scored", month=month)
    return f"read_parquet({lit(path)})"


def distribution(data_dir: Path, month: str) -> dict:
    """Members by probability bin and by risk decile (count, mean, min and max probability)."""
    src = _scores_sql(data_dir, month)
    con = duck.connect()
    members, mean, expected, version = con.execute(
        f"SELECT count(*), avg(churn_probability), sum(churn_probability), max(model_version) FROM {src}"
    ).fetchone()
    bins = []
    for lo, hi in BINS:
        n = con.execute(
            f"SELECT count(*) FROM {src} WHERE churn_probability * 100 >= ? AND churn_probability * 100 < ?", [lo, hi]
        ).fetchone()[0]
        bins.append({"from_pct": lo, "to_pct": min(hi, 100), "members": int(n)})
    deciles = [
        {
            "decile": int(d),
            "members": int(n),
            "mean_probability": round(float(a), 6),
            "min_probability": round(float(lo), 6),
            "max_probability": round(float(hi), 6),
        }
        for d, n, a, lo, hi in con.execute(
            f"""SELECT risk_decile, count(*), avg(churn_probability), min(churn_probability),
                       max(churn_probability) FROM {src} GROUP BY 1 ORDER BY 1"""
        ).fetchall()
    ]
    return {
        "month": month,
        "members": int(members),
        "mean_probability": round(float(mean or 0), 6),
        "expected_leavers": round(float(expected or 0), 1),
        "model_version": version,
        "bins": bins,
        "deciles": deciles,
    }


def reasons(data_dir: Path, month: str, band: str | None = None) -> dict:
    """How often each reason (feature) is among a member's three reasons and is the first one; with an example
    wording in English and Chinese. ``band`` restricts to a risk band."""
    src = _scores_sql(data_dir, month)
    where = ""
    if band is not None:
        lo, hi = BANDS[band]
        where = f"WHERE risk_decile BETWEEN {lo} AND {hi}"
    con = duck.connect()
    members = con.execute(f"SELECT count(*) FROM {src} {where}").fetchone()[0]
    rows = con.execute(f"""
        WITH r AS (SELECT member_id, reason_feature_1 AS f, reason_1 AS en, reason_1_zh AS zh, 1 AS k FROM {src} {where}
                   UNION ALL SELECT member_id, reason_feature_2, reason_2, reason_2_zh, 2 FROM {src} {where}
                   UNION ALL SELECT member_id, reason_feature_3, reason_3, reason_3_zh, 3 FROM {src} {where})
        SELECT f, count(DISTINCT member_id), count(*) FILTER (WHERE k = 1), min(en), min(zh) FROM r
        WHERE f IS NOT NULL GROUP BY f ORDER BY 2 DESC, 3 DESC, f""").fetchall()
    return {
        "month": month,
        "band": band,
        "members": int(members),
        "reasons": [
            {
                "feature": f,
                "members": int(n),
                "first": int(first),
                "share": round(n / members, 4) if members else 0.0,
                "example": en,
                "example_zh": zh,
            }
            for f, n, first, en, zh in rows
        ],
    }


def scored_members(
    data_dir: Path, month: str, band: str | None = None, reason: str | None = None, limit: int = 50, offset: int = 0
) -> dict:
    """Scored members, riskiest first, with their three reasons (filter by band and by a reason feature)."""
    src = _scores_sql(data_dir, month)
    conds, params = [], []
    if band is not None:
        conds.append("risk_decile BETWEEN ? AND ?")
        params += list(BANDS[band])
    if reason is not None:
        conds.append("? IN (reason_feature_1, reason_feature_2, reason_feature_3)")
        params.append(reason)
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    con = duck.connect()
    total = con.execute(f"SELECT count(*) FROM {src} {where}", params).fetchone()[0]
    cols = (
        "member_id",
        "churn_probability",
        "risk_decile",
        "reason_1",
        "reason_2",
        "reason_3",
        "reason_1_zh",
        "reason_2_zh",
        "reason_3_zh",
        "reason_feature_1",
        "reason_feature_2",
        "reason_feature_3",
    )
    rows = con.execute(
        f"SELECT {', '.join(cols)} FROM {src} {where} ORDER BY churn_probability DESC, member_id LIMIT ? OFFSET ?",
        params + [limit, offset],
    ).fetchall()
    return {"month": month, "total": int(total), "offset": offset, "members": [dict(zip(cols, r)) for r in rows]}


# --- target lists -------------------------------------------------------------------------------------------

LIST_COLUMNS = (
    "priority_rank",
    "member_id",
    "list",
    "status",
    "group",
    "segment",
    "churn_probability",
    "risk_decile",
    "value_fen",
    "priority_fen",
    "offer_id",
    "offer_name",
    "reason_1",
    "reason_2",
    "reason_3",
    "reason_1_zh",
    "reason_2_zh",
    "reason_3_zh",
    "manager_id",
    "city",
    "plan_name",
)


def _segment_sql() -> str:
    return "split_part(stratum, '/', 2)"


def _filtered(
    data_dir: Path,
    month: str,
    lists: list[str] | None,
    segment: str | None,
    band: str | None,
    manager: str | None,
    group: str,
) -> tuple[duckdb.DuckDBPyConnection, str, list]:
    t = targets_service.targets(data_dir, month)
    bad = [x for x in (lists or []) if x not in builder.LISTS]
    if bad:
        raise ChurnInputError("targets_list_unknown", lists=bad, known=builder.LISTS)
    con = duck.connect()
    con.register("t", t)
    conds, params = [], []
    if lists:
        conds.append(f"list IN ({', '.join('?' for _ in lists)})")
        params += list(lists)
    if segment is not None:
        conds.append(f"{_segment_sql()} = ?")
        params.append(segment)
    if band is not None:
        conds.append("risk_decile BETWEEN ? AND ?")
        params += list(BANDS[band])
    if manager is not None:
        conds.append("manager_id = ?")
        params.append(manager)
    if group != "all":
        conds.append('"group" = ?')
        params.append(group)
    return con, ("WHERE " + " AND ".join(conds)) if conds else "", params


def target_rows(
    data_dir: Path,
    month: str,
    lists: list[str] | None = None,
    segment: str | None = None,
    band: str | None = None,
    manager: str | None = None,
    group: str = "treatment",
    limit: int = 100,
    offset: int = 0,
) -> dict:
    """The month's target list rows matching the filters, in priority order, with counts per list and group
    (of the filtered rows) and the values the filters can take. Phone numbers are not included."""
    con, where, params = _filtered(data_dir, month, lists, segment, band, manager, group)
    total = con.execute(f"SELECT count(*) FROM t {where}", params).fetchone()[0]
    select = ", ".join(f"{_segment_sql()} AS segment" if c == "segment" else f'"{c}"' for c in LIST_COLUMNS)
    rows = con.execute(
        f"SELECT {select} FROM t {where} ORDER BY priority_rank LIMIT ? OFFSET ?", params + [limit, offset]
    ).fetchall()
    counts: dict = {}
    for lst, grp, n, value in con.execute(
        f'SELECT list, "group", count(*), sum(value_fen) FROM t {where} GROUP BY 1, 2 ORDER BY 1, 2', params
    ).fetchall():
        d = counts.setdefault(lst, {"treatment": 0, "control": 0, "value_fen": 0})
        d[grp] = int(n)
        d["value_fen"] += int(value or 0)
    options = {
        "lists": [r[0] for r in con.execute("SELECT DISTINCT list FROM t ORDER BY 1").fetchall()],
        "segments": [r[0] for r in con.execute(f"SELECT DISTINCT {_segment_sql()} FROM t ORDER BY 1").fetchall()],
        "managers": [
            r[0]
            for r in con.execute("SELECT DISTINCT manager_id FROM t WHERE manager_id IS NOT NULL ORDER BY 1").fetchall()
        ],
        "bands": list(BANDS),
        "groups": ["treatment", "control", "all"],
    }
    return {
        "month": month,
        "total": int(total),
        "offset": offset,
        "by_list": counts,
        "options": options,
        "rows": [dict(zip(LIST_COLUMNS, r)) for r in rows],
    }


def export_targets(
    data_dir: Path,
    month: str,
    fmt: str,
    lists: list[str] | None = None,
    segment: str | None = None,
    band: str | None = None,
    manager: str | None = None,
    group: str = "treatment",
    reveal: bool = False,
) -> tuple[bytes, list[str]]:
    """The filtered lists for the outbound centre as CSV or XLSX bytes (the columns of ``weixi targets export``;
    phone numbers masked unless ``reveal``); returns (bytes, the members in it). Callers that serve a person use
    :func:`export_targets_audited`."""
    if fmt not in ("csv", "xlsx"):
        raise ChurnInputError("targets_format_unknown", format=fmt)
    con, where, params = _filtered(data_dir, month, lists, segment, band, manager, group)
    table = con.execute(f"SELECT * FROM t {where} ORDER BY priority_rank", params).to_arrow_table()
    ids = pa.table({"member_id": table["member_id"]})
    con.register("ids", ids)
    phones = {
        m: pii.mask_phone(p, reveal)
        for m, p in con.execute(
            f"SELECT m.member_id, m.phone FROM ({archive.scan_sql(Path(data_dir), 'members')}) m JOIN ids USING (member_id)"
        ).fetchall()
    }
    calls = export.for_calls(table, phones, "all")
    with tempfile.TemporaryDirectory(prefix="weixi-targets-") as tmp:
        out = Path(tmp) / f"targets.{fmt}"
        (export.write_csv if fmt == "csv" else export.write_xlsx)(calls, out)
        return out.read_bytes(), calls["member_id"].to_pylist()


def export_targets_audited(
    engine: Engine,
    data_dir: Path,
    user: User,
    month: str,
    fmt: str,
    lists: list[str] | None = None,
    segment: str | None = None,
    band: str | None = None,
    manager: str | None = None,
    group: str = "treatment",
    reveal: bool = False,
) -> tuple[bytes, int]:
    """:func:`export_targets` for ``user``, written to the audit log: ``targets.export`` always, and with phone
    numbers in clear a ``pii.view`` row naming the members (or the list and count for a large export)."""
    data, ids = export_targets(data_dir, month, fmt, lists, segment, band, manager, group, reveal)
    filters = {"lists": lists, "segment": segment, "band": band, "manager": manager, "group": group}
    audit(engine, user, "targets.export", month, {"format": fmt, "rows": len(ids), "reveal": reveal, **filters})
    if reveal:
        pii_audit.record(
            engine,
            user,
            "targets_export",
            ids,
            subject=f"targets:{month}",
            month=month,
            format=fmt,
            fields=["phone"],
            **filters,
        )
    return data, len(ids)


# --- models -------------------------------------------------------------------------------------------------


def model(data_dir: Path, version: int) -> dict:
    """A stored churn model's metadata: metrics, candidates, calibration, lift, importance."""
    if version not in store.versions(Path(data_dir)):
        raise NoModel("churn_model_unknown", version=version)
    return churn_service.model_info(data_dir, version)


def model_report(data_dir: Path, version: int) -> str:
    """The standalone HTML report of a model version (what ``weixi churn train --report`` writes)."""
    meta = model(data_dir, version)
    meta.setdefault("version", version)
    return report.render(meta)


def model_charts(meta: dict) -> dict[str, str]:
    """The report's three charts as SVG documents: calibration, lift, importance."""
    return {
        "calibration": report.calibration_svg(meta["calibration"]),
        "lift": report.lift_svg(meta["lift"]),
        "importance": report.importance_svg(meta["importance"]),
    }
