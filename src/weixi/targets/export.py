"""Where target lists live and how they leave Weixi: Parquet in the data directory, CSV and XLSX for the
outbound centre, and the incentive engine's target-list format (``customer_id, month, status``).

    DATA/targets/month=YYYY-MM/part-0.parquet    the month's lists (replaced atomically by a rebuild)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from weixi.adapters import spreadsheet

XLSX_MAX_ROWS = 1_048_575  # Excel's limit, less the header
CALL_COLUMNS = [
    "priority_rank",
    "member_id",
    "phone",
    "list",
    "status",
    "churn_probability",
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
]


def path(data_dir: Path, month: str) -> Path:
    return Path(data_dir) / "targets" / f"month={month}" / "part-0.parquet"


def write_atomic(con: duckdb.DuckDBPyConnection, sql: str, final: Path) -> None:
    """``COPY (sql)`` into ``final``'s directory, written beside it and swapped in."""
    final.parent.parent.mkdir(parents=True, exist_ok=True)
    work = final.parent.with_name(final.parent.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    con.execute(f"COPY ({sql}) TO '{work / final.name}' (FORMAT parquet, COMPRESSION zstd)")
    old = final.parent.with_name(final.parent.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.parent.exists():
        final.parent.rename(old)
    work.rename(final.parent)
    shutil.rmtree(old, ignore_errors=True)


def read(data_dir: Path, month: str) -> pa.Table | None:
    p = path(data_dir, month)
    return pq.read_table(p) if p.exists() else None


def for_calls(
    table: pa.Table, phones: dict[str, str] | None = None, group: str = "treatment", lists: list[str] | None = None
) -> pa.Table:
    """The outbound centre's view: one group (treatment by default: the control group is not called), in
    priority order, with the (masked) phone number."""
    t = table
    if group != "all":
        t = t.filter(pc.equal(t["group"], group))
    if lists:
        t = t.filter(pc.is_in(t["list"], pa.array(lists)))
    t = t.sort_by([("priority_rank", "ascending")])
    phone = pa.array([(phones or {}).get(m) for m in t["member_id"].to_pylist()], pa.string())
    t = t.append_column("phone", phone)
    return t.select([c for c in CALL_COLUMNS if c in t.column_names])


def incentive_list(table: pa.Table, group: str = "treatment") -> pa.Table:
    """``customer_id, month, status`` (expiring / non_expiring): the list the incentive engine reads."""
    t = table.filter(pc.is_in(table["list"], pa.array(["expiring", "high_risk", "silent"])))
    if group != "all":
        t = t.filter(pc.equal(t["group"], group))
    t = t.sort_by([("member_id", "ascending")])
    return pa.table({"customer_id": t["member_id"], "month": t["month"], "status": t["status"]})


def write_csv(table: pa.Table, out: Path) -> Path:
    """UTF-8 with a BOM so that Excel shows the Chinese columns right; no cell can start a formula."""
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write("\ufeff".encode("utf-8"))
        pacsv.write_csv(spreadsheet.table(table), fh)
    os.replace(tmp, out)
    return out


def write_xlsx(table: pa.Table, out: Path, sheet: str = "targets") -> Path:
    from openpyxl import Workbook

    from weixi.churn.errors import ChurnInputError

    if table.num_rows > XLSX_MAX_ROWS:
        raise ChurnInputError("targets_too_many_rows_for_xlsx", rows=table.num_rows, max=XLSX_MAX_ROWS)
    out = Path(out)
    wb = Workbook(write_only=True)
    ws = spreadsheet.sheet(wb.create_sheet(sheet))  # text that could start a formula stays text
    ws.append(table.column_names)
    for batch in table.to_batches(50_000):
        cols = [c.to_pylist() for c in batch.columns]
        for row in zip(*cols):
            ws.append(row)
    tmp = out.with_name(out.name + ".tmp")
    wb.save(tmp)
    os.replace(tmp, out)
    return out
