"""Target-list services: build the month's lists, export them, evaluate treated against control, order by
uplift. Refusals are :class:`weixi.churn.errors.ChurnError` kinds with a code (retention plan errors carry
file:line:col)."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from weixi.adapters import archive, duck
from weixi.churn import features, store
from weixi.churn.errors import ChurnInputError, DataNotReady, NoTargetLists, NotScored
from weixi.churn.operator import HORIZON_MONTHS, check_data
from weixi.churn.score import scores_path
from weixi.members import pii, pii_audit
from weixi.plans.retention import RetentionPlan, load_retention_plan
from weixi.segments import months
from weixi.targets import build as builder
from weixi.targets import evaluate as ev
from weixi.targets import export, uplift
from weixi.users.service import User

ORDERS = ("risk", "uplift")


def plan_or_fail(path: str | None) -> RetentionPlan:
    plan, diags = load_retention_plan(path)
    if plan is None:
        errors = [d.format() for d in diags if d.is_error]
        raise ChurnInputError("retention_plan_has_errors", errors="\n".join(errors), count=len(errors))
    return plan


def build(
    data_dir: Path, month: str, plan_path: str | None = None, order: str = "risk", value_file: str | None = None
) -> dict:
    months.check(month)
    data_dir = Path(data_dir)
    check_data(data_dir)
    plan = plan_or_fail(plan_path)
    scores = scores_path(data_dir, month)
    if not scores.exists():
        raise NotScored("churn_month_not_scored", month=month)
    if order not in ORDERS:
        raise ChurnInputError("targets_order_unknown", order=order, orders=ORDERS)
    if value_file is not None and not Path(value_file).exists():
        raise ChurnInputError("targets_value_file_missing", path=str(value_file))
    if plan.value_source == "clv" and value_file is None:
        raise ChurnInputError("targets_value_file_needed", source=str(plan.source))
    con = features.connect()
    sql = builder.build_sql(con, data_dir, month, plan, scores, Path(value_file) if value_file else None)
    if value_file is not None:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {builder.scan_any(Path(value_file))}").fetchall()]
        missing = [c for c in ("member_id", "clv") if c not in cols]
        if missing:
            raise ChurnInputError("targets_value_file_columns", path=str(value_file), missing=missing, columns=cols)
    uplift_version = None
    if order == "uplift":
        model, meta = store.load(data_dir, kind="uplift")
        uplift_version = meta["version"]
        con.register("targets_raw", con.sql(sql).to_arrow_table())
        raw = con.sql("SELECT * FROM targets_raw").to_arrow_table()
        feats = con.sql(f"SELECT * FROM ({features.build_sql(con, data_dir, month)})").to_df()
        ids = pa.table({"member_id": raw["member_id"]}).to_pandas().merge(feats, on="member_id", how="left")
        up = model.predict(ids[model.features].astype(float))
        value = raw["value_fen"].to_numpy(zero_copy_only=False).astype(float)
        raw = raw.append_column("uplift", pa.array(up)).append_column(
            "uplift_value_fen", pa.array(np.round(up * value).astype(np.int64))
        )
        con.register("targets_up", raw)
        sql = (
            "SELECT * REPLACE (CAST(row_number() OVER (ORDER BY uplift_value_fen DESC, member_id) AS BIGINT) "
            "AS priority_rank) FROM targets_up"
        )
    export.write_atomic(con, f"SELECT * FROM ({sql}) ORDER BY priority_rank", export.path(data_dir, month))
    return summary(data_dir, month, plan, order, uplift_version)


def summary(data_dir: Path, month: str, plan: RetentionPlan, order: str, uplift_version=None) -> dict:
    t = export.read(data_dir, month)
    con = duck.connect()
    con.register("t", t)
    rows = con.execute("""SELECT list, "group", count(*), sum(value_fen), sum(priority_fen) FROM t
                          GROUP BY 1, 2 ORDER BY 1, 2""").fetchall()
    lists: dict = {}
    for lst, grp, n, value, prio in rows:
        d = lists.setdefault(lst, {"members": 0, "treatment": 0, "control": 0, "value_fen": 0, "priority_fen": 0})
        d["members"] += n
        d[grp] = n
        d["value_fen"] += int(value or 0)
        d["priority_fen"] += int(prio or 0)
    for d in lists.values():
        d["value_yuan"] = str(Decimal(d.pop("value_fen")) / 100)
        d["value_at_risk_yuan"] = str(Decimal(d.pop("priority_fen")) / 100)
    offers = dict(
        con.execute(
            "SELECT coalesce(offer_id, '(none eligible)'), count(*) FROM t WHERE \"group\" = "
            "'treatment' GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    )
    return {
        "month": month,
        "plan": plan.id,
        "order": order,
        "uplift_model_version": uplift_version,
        "members": t.num_rows,
        "control_share": str(plan.control_share),
        "lists": lists,
        "offers": offers,
        "path": str(export.path(data_dir, month)),
    }


def targets(data_dir: Path, month: str) -> pa.Table:
    t = export.read(Path(data_dir), month)
    if t is None:
        raise NoTargetLists("targets_not_built", month=month)
    return t


def export_lists(
    data_dir: Path,
    month: str,
    out: str,
    fmt: str | None = None,
    group: str = "treatment",
    lists: list[str] | None = None,
    reveal: bool = False,
    who: tuple[Engine, User] | None = None,
) -> dict:
    """Write the lists for the outbound centre (CSV or XLSX) or the incentive engine (``fmt='incentive'``).
    Phone numbers in clear (``reveal``) only with ``who`` (the database and the person), where the export is
    written to the audit log as a ``pii.view`` (:mod:`weixi.members.pii_audit`)."""
    t = targets(data_dir, month)
    if group not in ("treatment", "control", "all"):
        raise ChurnInputError("targets_group_unknown", group=group)
    bad = [x for x in (lists or []) if x not in builder.LISTS]
    if bad:
        raise ChurnInputError("targets_list_unknown", lists=bad, known=builder.LISTS)
    fmt = fmt or Path(out).suffix.lower().lstrip(".")
    if fmt == "incentive":
        table = export.incentive_list(t, group)
        path = export.write_csv(table, Path(out))
    elif fmt in ("csv", "xlsx"):
        if reveal and who is None:
            raise ChurnInputError("targets_reveal_needs_database")
        con = duck.connect()
        ids = pa.table({"member_id": t["member_id"]})
        con.register("ids", ids)
        rows = con.execute(
            f"SELECT m.member_id, m.phone FROM ({archive.scan_sql(Path(data_dir), 'members')}) m "
            f"JOIN ids USING (member_id)"
        ).fetchall()
        phones = {m: pii.mask_phone(p, reveal) for m, p in rows}
        table = export.for_calls(t, phones, group, lists)
        path = export.write_csv(table, Path(out)) if fmt == "csv" else export.write_xlsx(table, Path(out))
        if reveal:
            pii_audit.record(
                *who,
                "targets_export",
                table["member_id"].to_pylist(),
                subject=f"targets:{month}",
                month=month,
                format=fmt,
                lists=lists,
                group=group,
                fields=["phone"],
                file=str(path),
            )
    else:
        raise ChurnInputError("targets_export_format_unknown", out=str(out), format=fmt)
    return {"month": month, "format": fmt, "rows": table.num_rows, "path": str(path), "group": group}


def _outcomes(con, data_dir: Path, month: str, t: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    after = [months.shift(month, k) for k in range(1, HORIZON_MONTHS + 1)]
    have = {r[0] for r in con.execute(f"SELECT DISTINCT month FROM ({archive.scan_sql(data_dir, 'bills')})").fetchall()}
    missing = [m for m in after if m not in have]
    if missing:
        raise DataNotReady("targets_outcomes_not_yet", month=month, missing=missing, horizon=HORIZON_MONTHS)
    if not features.has_table(data_dir, "churn_labels"):
        raise DataNotReady("targets_no_labels_table", data_dir=str(data_dir))
    end, until = months.end(month), months.end(after[-1])
    con.register("ids", pa.table({"member_id": t["member_id"]}))
    rows = con.execute(f"""
        SELECT i.member_id,
          coalesce(l.churned AND l.churn_date > DATE '{end}' AND l.churn_date <= DATE '{until}', false),
          coalesce(b.fen, 0)
        FROM ids i
        LEFT JOIN ({archive.scan_sql(data_dir, "churn_labels")}) l ON l.member_id = i.member_id
        LEFT JOIN (SELECT member_id, sum(amount_fen) AS fen FROM ({archive.scan_sql(data_dir, "bills", after)})
                   GROUP BY member_id) b ON b.member_id = i.member_id""").to_arrow_table()
    order = {m: i for i, m in enumerate(rows.column(0).to_pylist())}
    idx = np.array([order[m] for m in t["member_id"].to_pylist()])
    return rows.column(1).to_numpy(zero_copy_only=False)[idx].astype(int), rows.column(2).to_numpy(
        zero_copy_only=False
    )[idx].astype(np.int64)


def evaluate(data_dir: Path, month: str, fit_uplift: bool = True) -> dict:
    """Treated vs control over the months after ``month``, overall and per list; fits and stores the uplift
    model (T- or X-learner) on the non-winback lists when both groups have churners."""
    data_dir = Path(data_dir)
    months.check(month)
    t = targets(data_dir, month)
    con = features.connect()
    churned, revenue = _outcomes(con, data_dir, month, t)
    group = np.asarray(t["group"].to_pylist())
    lst = np.asarray(t["list"].to_pylist())
    live = lst != "winback"  # leavers cannot leave again: win-back is reported by list only
    out = {
        "month": month,
        "horizon_months": HORIZON_MONTHS,
        "analysis": "intent to treat",
        "overall": ev.compare(group[live], churned[live], revenue[live]),
        "by_list": {},
    }
    for name in builder.LISTS:
        mask = lst == name
        if mask.any():
            out["by_list"][name] = ev.compare(group[mask], churned[mask], revenue[mask])
    out["uplift"] = None
    if fit_uplift:
        keep = lst != "winback"
        y, treated = churned[keep], (group[keep] == "treatment").astype(int)
        ok = all(((treated == g) & (y == c)).sum() >= 5 for g in (0, 1) for c in (0, 1))
        if ok:
            feats = con.sql(f"SELECT * FROM ({features.build_sql(con, data_dir, month)})").to_df()
            ids = pa.table({"member_id": pc.filter(t["member_id"], pa.array(keep))}).to_pandas()
            X = ids.merge(feats, on="member_id", how="left")
            cols = [c for c in features.FEATURE_NAMES if X[c].notna().any()]
            model, qini = uplift.select(X[cols].astype(float), treated, y)
            meta = {
                "kind": "uplift",
                "learner": model.kind,
                "month": month,
                "qini": qini,
                "rows": int(keep.sum()),
                "features": cols,
                "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "source": {"kind": "targets", "month": month},
            }
            version, _ = store.save(data_dir, model, meta, kind="uplift")
            out["uplift"] = {"learner": model.kind, "qini": qini, "model_version": version, "rows": int(keep.sum())}
        else:
            out["uplift"] = {"skipped": "each of treated/control × churned/stayed needs at least 5 members"}
    return out
