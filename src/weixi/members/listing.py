"""The member list of the console: every member of the latest close snapshot, filtered, sorted and paged.

Two DuckDB queries (the total, then the page with ``LIMIT``/``OFFSET``) over the month's member list table
(:mod:`weixi.members.list_table`: the close snapshot joined once to the archive's name, phone and contract end and
to the month's churn scores, rebuilt when any of them changes). Filter values are bound parameters;
the sort column and direction are chosen from :data:`SORTS`, never taken from the request. No Python loop over
members: the export is the same query without the page, written through :mod:`weixi.adapters.spreadsheet`.

Filters (all optional, combined with AND): ``tier`` (the plan's tier id), ``star`` (star level 1–7), ``value``
(value layer A–D), ``activity`` (activity grade), ``band`` (churn risk band: ``high`` deciles 1–2, ``medium``
3–5, ``low`` 6–10, as the target lists), ``manager`` (customer manager id), ``status`` (``active`` 在网 /
``left`` 离网) and ``contract_before`` (contract end on or before a date).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import duck, spreadsheet
from weixi.adapters.duck import lit
from weixi.adapters.sql import execute
from weixi.close import store
from weixi.errors import Invalid
from weixi.members import list_table, pii, pii_audit
from weixi.users.service import User, audit

BANDS = {"high": (1, 2), "medium": (3, 5), "low": (6, 10)}  # risk deciles, as weixi.targets.reports.BANDS
STATUSES = ("active", "left")
SORTS = {
    "member": "member_id",
    "tier": "tier",
    "star": "star_level",
    "value": "value_grade",
    "join": "join_date",
    "contract": "contract_end",
    "risk": "churn_probability",
    "points": "points_balance",
}
PAGE_SIZES = (20, 50, 100, 200)
XLSX_MAX_ROWS = spreadsheet.XLSX_MAX_ROWS
COLUMNS = [
    "member_id",
    "name",
    "phone",
    "status",
    "tier",
    "star_level",
    "value_grade",
    "activity_grade",
    "risk_decile",
    "churn_probability",
    "manager_id",
    "contract_end",
    "join_date",
    "points_balance",
    "city",
    "plan_name",
]


class ListingError(Invalid, ValueError):
    """A filter or sort of the member list that cannot be applied."""


@dataclass(frozen=True)
class Filters:
    tier: str | None = None
    star: int | None = None
    value: str | None = None
    activity: str | None = None
    band: str | None = None
    manager: str | None = None
    status: str | None = None
    contract_before: date | None = None

    def active(self) -> dict:
        """The filters that are set, as text (for URLs and the audit log)."""
        return {k: str(v) for k, v in asdict(self).items() if v not in (None, "")}


def latest_month(data_dir: Path) -> str | None:
    months = store.months(Path(data_dir), "snapshots")
    return months[-1] if months else None


def _table(data_dir: Path, month: str) -> tuple[str, bool]:
    """The FROM clause over ``month``'s member list table (:mod:`weixi.members.list_table`) and whether the month
    is scored."""
    path, scored = list_table.current(Path(data_dir), month)
    return f"read_parquet({lit(path)})", scored


def _where(f: Filters) -> tuple[str, list]:
    conds, params = [], []
    for col, value in (
        ("tier", f.tier),
        ("value_grade", f.value),
        ("activity_grade", f.activity),
        ("manager_id", f.manager),
    ):
        if value:
            conds.append(f"{col} = ?")
            params.append(value)
    if f.star is not None:
        conds.append("star_level = ?")
        params.append(int(f.star))
    if f.status:
        if f.status not in STATUSES:
            raise ListingError("member_list_unknown_status", status=f.status, statuses=list(STATUSES))
        conds.append("status = ?")
        params.append(f.status)
    if f.band:
        if f.band not in BANDS:
            raise ListingError("member_list_unknown_band", band=f.band, bands=list(BANDS))
        conds.append("risk_decile BETWEEN ? AND ?")
        params += list(BANDS[f.band])
    if f.contract_before is not None:
        conds.append("contract_end <= ?")
        params.append(f.contract_before)
    return ("WHERE " + " AND ".join(conds)) if conds else "", params


def _order(sort: str, desc: bool) -> str:
    if sort not in SORTS:
        raise ListingError("member_list_unknown_sort", sort=sort, sorts=list(SORTS))
    direction = "DESC" if desc else "ASC"
    tie = "" if sort == "member" else ", member_id"
    return f"ORDER BY {SORTS[sort]} {direction} NULLS LAST{tie}"


_SELECT = ", ".join(COLUMNS)


def options(data_dir: Path, month: str) -> dict:
    """The values each filter can take in ``month``'s snapshot (one query)."""
    snap = store.source(Path(data_dir), "snapshots", month)  # its files in the close's Delta table
    with duck.reader() as con:
        row = con.execute(
            "SELECT list_sort(list(DISTINCT tier) FILTER (WHERE tier IS NOT NULL)), "
            "list_sort(list(DISTINCT star_level) FILTER (WHERE star_level IS NOT NULL)), "
            "list_sort(list(DISTINCT value_grade) FILTER (WHERE value_grade IS NOT NULL)), "
            "list_sort(list(DISTINCT activity_grade) FILTER (WHERE activity_grade IS NOT NULL)), "
            "list_sort(list(DISTINCT manager_id) FILTER (WHERE manager_id IS NOT NULL)) "
            f"FROM {snap}"
        ).fetchone()
    keys = ("tiers", "stars", "values", "activities", "managers")
    return {k: list(v or []) for k, v in zip(keys, row)}


def manager_names(engine: Engine | None) -> dict[str, str]:
    """Customer managers' names by staff id (the operations roster), for names beside ids."""
    if engine is None:
        return {}
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return {s: n for s, n in execute(conn, "SELECT staff_id, name FROM ops_staff") if n}


def list_members(
    data_dir: Path,
    filters: Filters,
    sort: str = "member",
    desc: bool = False,
    limit: int | None = 50,
    offset: int = 0,
    reveal: bool = False,
    month: str | None = None,
) -> dict:
    """One page of the filtered list: ``{"month", "total", "rows", "scored"}`` (``month`` None and no rows before
    the first close). Phone numbers are masked unless ``reveal``; ``limit`` None is every row (the export)."""
    month = month or latest_month(data_dir)
    if month is None:
        return {"month": None, "total": 0, "rows": [], "scored": False}
    where, params = _where(filters)
    src, scored = _table(data_dir, month)
    page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    with duck.reader() as con:
        total = int(con.execute(f"SELECT count(*) FROM {src} {where}", params).fetchone()[0])
        result = con.execute(f"SELECT {_SELECT} FROM {src} {where} {_order(sort, desc)}{page}", params)
        names = [d[0] for d in result.description]
        rows = [dict(zip(names, r)) for r in result.fetchall()]
    for r in rows:
        r["phone"] = pii.mask_phone(r["phone"], reveal)
    return {"month": month, "total": total, "rows": rows, "scored": scored}


def list_audited(engine: Engine, data_dir: Path, user: User, filters: Filters, **kw) -> dict:
    """:func:`list_members` for ``user``; a page shown with phone numbers in clear is a ``pii.view`` row."""
    found = list_members(data_dir, filters, **kw)
    if kw.get("reveal") and found["rows"]:
        pii_audit.record(
            engine, user, "member_list", [r["member_id"] for r in found["rows"]], fields=["phone"], **filters.active()
        )
    return found


def export(rows: list[dict], headers: list[str], fmt: str, labels: dict[str, dict] | None = None) -> bytes:
    """``rows`` (the columns of :data:`COLUMNS`, phones already masked) as CSV (UTF-8 with BOM) or XLSX with
    ``headers`` as the first row; a column of ``labels`` (column -> code -> name) shows the name of its code (a
    manager as "id name"). No cell can start a formula."""
    if fmt not in ("csv", "xlsx"):
        raise ListingError("member_list_unknown_format", format=fmt, formats=["csv", "xlsx"])
    labels = labels or {}

    def shown(col: str, value):
        names = labels.get(col)
        if not names or value is None:
            return value
        name = names.get(str(value))
        if col == "manager_id":
            return f"{value} {name}" if name else value
        return name or value

    table = [[shown(c, r.get(c)) for c in COLUMNS] for r in rows]
    if fmt == "xlsx" and len(table) > XLSX_MAX_ROWS:
        raise ListingError("member_list_too_many_rows_for_xlsx", rows=len(table), max=XLSX_MAX_ROWS)
    return spreadsheet.table_bytes(headers, table, fmt, "members")


def export_audited(
    engine: Engine, user: User, month: str | None, rows: list[dict], fmt: str, filters: Filters, reveal: bool
) -> None:
    """The audit of an export: ``members.export`` always, and with phone numbers in clear a ``pii.view`` row
    naming the members (or the list and the count, for a large export), as the target-list export."""
    ids = [r["member_id"] for r in rows]
    audit(engine, user, "members.export", month or "", {"format": fmt, "rows": len(ids), "reveal": reveal})
    if reveal:
        pii_audit.record(
            engine,
            user,
            "member_list_export",
            ids,
            subject=f"members:{month}",
            fields=["phone"],
            format=fmt,
            **filters.active(),
        )
