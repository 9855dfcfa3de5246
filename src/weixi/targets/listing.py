"""The month's target lists as the console shows them: filtered by list kind, risk band, customer manager, tier,
segment and group, paged with a total, and exported with the reader's headers (yuan, names beside ids).

One DuckDB query over the lists (``DATA/targets/month=M``) joined to the month's member snapshot (the tier) and
the archive (the member's name and phone, masked unless ``reveal``). Filter values are bound parameters. The
export is the same query without the page; every export is written to the audit log (``targets.export``, and a
``pii.view`` row when phone numbers are in clear)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import archive, duck, spreadsheet
from weixi.churn.errors import ChurnInputError
from weixi.close import store
from weixi.members import pii, pii_audit
from weixi.targets import build as builder
from weixi.targets import service as targets_service
from weixi.users.service import User, audit

BANDS = {"high": (1, 2), "medium": (3, 5), "low": (6, 10)}  # risk deciles, as the member list and the reports
GROUPS = ("treatment", "control", "all")
PAGE_SIZE = 50
XLSX_MAX_ROWS = spreadsheet.XLSX_MAX_ROWS
EXPORT_COLUMNS = (
    "priority_rank",
    "member_id",
    "name",
    "phone",
    "list",
    "group",
    "tier",
    "churn_probability",
    "risk_decile",
    "value_yuan",
    "offer_name",
    "reasons",
    "manager_id",
    "city",
    "plan_name",
)


@dataclass(frozen=True)
class Filters:
    lists: tuple[str, ...] = field(default_factory=tuple)
    band: str | None = None
    manager: str | None = None
    tier: str | None = None
    segment: str | None = None
    group: str = "treatment"

    def active(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v not in (None, "", ())}


def _connect(data_dir: Path, month: str):
    """A connection with ``t`` (the lists) and the FROM clause joining the snapshot's tier and the archive."""
    data_dir = Path(data_dir)
    con = duck.connect()
    con.register("t", targets_service.targets(data_dir, month))
    snap = store.source(data_dir, "snapshots", month)  # the month's files of the close's Delta table
    tiers = (
        f"SELECT member_id, tier FROM {snap}"
        if snap
        else "SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS tier WHERE false"
    )
    has_archive = bool(archive.part_files(data_dir, "members") or archive.load_files(data_dir, "members"))
    people = (
        f"SELECT member_id, name, phone FROM ({archive.scan_sql(data_dir, 'members')})"
        if has_archive
        else "SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS name, NULL::VARCHAR AS phone WHERE false"
    )
    source = f"t LEFT JOIN ({tiers}) s ON s.member_id = t.member_id LEFT JOIN ({people}) a ON a.member_id = t.member_id"
    return con, source


def _where(f: Filters) -> tuple[str, list]:
    bad = [x for x in f.lists if x not in builder.LISTS]
    if bad:
        raise ChurnInputError("targets_list_unknown", lists=bad, known=builder.LISTS)
    if f.band is not None and f.band not in BANDS:
        raise ChurnInputError("targets_band_unknown", band=f.band, bands=list(BANDS))
    if f.group not in GROUPS:
        raise ChurnInputError("targets_group_unknown", group=f.group, groups=list(GROUPS))
    conds, params = [], []
    if f.lists:
        conds.append(f"t.list IN ({', '.join('?' for _ in f.lists)})")
        params += list(f.lists)
    for col, value in (("t.manager_id", f.manager), ("s.tier", f.tier), ("split_part(t.stratum, '/', 2)", f.segment)):
        if value:
            conds.append(f"{col} = ?")
            params.append(value)
    if f.band is not None:
        conds.append("t.risk_decile BETWEEN ? AND ?")
        params += list(BANDS[f.band])
    if f.group != "all":
        conds.append('t."group" = ?')
        params.append(f.group)
    return ("WHERE " + " AND ".join(conds)) if conds else "", params


_SELECT = (
    't.priority_rank, t.member_id, a.name, a.phone, t.list, t."group", s.tier, t.churn_probability, t.risk_decile, '
    "t.value_fen, t.offer_name, t.reason_1, t.reason_2, t.reason_3, t.reason_1_zh, t.reason_2_zh, t.reason_3_zh, "
    "t.manager_id, t.city, t.plan_name, split_part(t.stratum, '/', 2) AS segment"
)
_KEYS = (
    "priority_rank",
    "member_id",
    "name",
    "phone",
    "list",
    "group",
    "tier",
    "churn_probability",
    "risk_decile",
    "value_fen",
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
    "segment",
)


def rows(data_dir: Path, month: str, f: Filters, page: int = 1, size: int = PAGE_SIZE, reveal: bool = False) -> dict:
    """One page of the filtered lists in priority order, the total, counts per list and group (of the filtered
    rows), and the values each filter can take in the month's lists."""
    con, source = _connect(data_dir, month)
    where, params = _where(f)
    page = max(1, int(page))
    total = con.execute(f"SELECT count(*) FROM {source} {where}", params).fetchone()[0]
    found = con.execute(
        f"SELECT {_SELECT} FROM {source} {where} ORDER BY t.priority_rank LIMIT ? OFFSET ?",
        params + [size, (page - 1) * size],
    ).fetchall()
    counts: dict = {}
    for lst, grp, n, value in con.execute(
        f'SELECT t.list, t."group", count(*), sum(t.value_fen) FROM {source} {where} GROUP BY 1, 2 ORDER BY 1, 2',
        params,
    ).fetchall():
        d = counts.setdefault(lst, {"treatment": 0, "control": 0, "value_fen": 0})
        d[grp] = int(n)
        d["value_fen"] += int(value or 0)
    opts = con.execute(
        f"SELECT list_sort(list(DISTINCT t.list)), "
        f"list_sort(list(DISTINCT t.manager_id) FILTER (WHERE t.manager_id IS NOT NULL)), "
        f"list_sort(list(DISTINCT s.tier) FILTER (WHERE s.tier IS NOT NULL)), "
        f"list_sort(list(DISTINCT split_part(t.stratum, '/', 2))) FROM {source}"
    ).fetchone()
    out = [dict(zip(_KEYS, r)) for r in found]
    for r in out:
        r["phone"] = pii.mask_phone(r["phone"], reveal) if r["phone"] else None
    return {
        "month": month,
        "total": int(total),
        "page": page,
        "pages": max(1, -(-int(total) // size)),
        "size": size,
        "by_list": counts,
        "options": {k: list(v or []) for k, v in zip(("lists", "managers", "tiers", "segments"), opts)},
        "rows": out,
    }


def _yuan(fen) -> str:
    return "" if fen is None else f"{Decimal(int(fen)) / 100:.2f}"


def export(
    engine: Engine,
    data_dir: Path,
    user: User,
    month: str,
    f: Filters,
    fmt: str,
    headers: dict[str, str],
    labels: dict[str, dict[str, str]],
    locale: str,
    reveal: bool = False,
) -> bytes:
    """The filtered lists (every page) as CSV (UTF-8 with BOM) or XLSX: ``headers`` by column of
    :data:`EXPORT_COLUMNS`, ``labels`` (column -> code -> name) for codes (a manager as "id name"), the reasons in
    ``locale``'s language, value in yuan with two decimals; phones masked unless ``reveal``. Audited."""
    if fmt not in ("csv", "xlsx"):
        raise ChurnInputError("targets_format_unknown", format=fmt)
    con, source = _connect(data_dir, month)
    where, params = _where(f)
    found = [
        dict(zip(_KEYS, r))
        for r in con.execute(f"SELECT {_SELECT} FROM {source} {where} ORDER BY 1", params).fetchall()
    ]
    zh = locale.startswith("zh")

    def cell(col: str, r: dict):
        if col == "value_yuan":
            return _yuan(r["value_fen"])
        if col == "phone":
            return pii.mask_phone(r["phone"], reveal) if r["phone"] else ""
        if col == "churn_probability":
            return "" if r[col] is None else f"{r[col] * 100:.1f}%"
        if col == "reasons":
            keys = ("reason_1_zh", "reason_2_zh", "reason_3_zh") if zh else ("reason_1", "reason_2", "reason_3")
            return "; ".join(r[k] for k in keys if r[k])
        value = r.get(col)
        names = labels.get(col)
        if names and value is not None:
            name = names.get(str(value))
            if col == "manager_id":
                return f"{value} {name}" if name else value
            return name or value
        return "" if value is None else value

    table = [[cell(c, r) for c in EXPORT_COLUMNS] for r in found]
    head = [headers[c] for c in EXPORT_COLUMNS]
    audit(engine, user, "targets.export", month, {"format": fmt, "rows": len(table), "reveal": reveal, **f.active()})
    if reveal and found:
        ids = [r["member_id"] for r in found]
        pii_audit.record(
            engine, user, "targets_export", ids, subject=f"targets:{month}", month=month, format=fmt, fields=["phone"]
        )
    if fmt == "xlsx" and len(table) > XLSX_MAX_ROWS:
        raise ChurnInputError("targets_too_many_rows_for_xlsx", rows=len(table), max=XLSX_MAX_ROWS)
    return spreadsheet.table_bytes(head, table, fmt, "targets")
