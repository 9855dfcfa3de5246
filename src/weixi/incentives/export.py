"""The payroll export of a month's statements (the JSON shape of a compute or a publication): CSV, one row per
employee, or XLSX with the explanation lines, the excluded, the rejected and the duplicate order rows. No cell can start a formula."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from weixi.adapters import spreadsheet
from weixi.incentives.errors import IncentiveInvalid

STATEMENT_COLUMNS = (
    "month",
    "staff_id",
    "role",
    "mobile_units",
    "broadband_units",
    "kpi_points",
    "bonus_yuan",
    "counted_lines",
    "excluded_orders",
)


def export_statements(statements: dict, path: str | Path) -> int:
    """Write every statement of ``statements`` (the JSON shape) to CSV or XLSX; returns the staff count.

    CSV: one row per employee. XLSX: sheets statements, lines, excluded, rejected and duplicates, amounts as numbers
    with two decimals (units with up to two)."""
    path = Path(path)
    month = statements["month"]
    rows = [
        (
            month,
            s,
            v["role"],
            v["mobile_units"],
            v["broadband_units"],
            v["kpi_points"],
            v["bonus_yuan"],
            len(v["lines"]),
            len(v["excluded"]),
        )
        for s, v in sorted(statements["staff"].items())
    ]
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise IncentiveInvalid("incentive_export_file_type", path=str(path))
    tmp = path.with_name(path.name + ".part")
    if suffix == ".csv":
        with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens Chinese text right
            writer = spreadsheet.csv_writer(fh)  # no cell can start a formula
            writer.writerow(STATEMENT_COLUMNS)
            writer.writerows(rows)
    else:
        _xlsx(statements, rows, tmp)
    tmp.replace(path)  # nothing half-written
    return len(rows)


def _xlsx(statements: dict, rows, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = spreadsheet.sheet(book.create_sheet("statements"))  # every sheet: no cell can start a formula
    sheet.append(list(STATEMENT_COLUMNS))
    for r in rows:
        sheet.append([r[0], r[1], r[2], Decimal(r[3]), Decimal(r[4]), Decimal(r[5]), Decimal(r[6]), r[7], r[8]])
    lines = spreadsheet.sheet(book.create_sheet("lines"))
    lines.append(["staff_id", "order_id", "rule", "measure", "units", "kpi_points", "yuan", "explanation"])
    excluded = spreadsheet.sheet(book.create_sheet("excluded"))
    excluded.append(["staff_id", "order_id", "reason"])
    for staff_id, v in sorted(statements["staff"].items()):
        for l in v["lines"]:
            lines.append(
                [
                    staff_id,
                    l["order_id"],
                    l["rule"],
                    l["measure"],
                    Decimal(l["units"]),
                    Decimal(l["kpi_points"]),
                    Decimal(l["yuan"]),
                    l["text"],
                ]
            )
        for e in v["excluded"]:
            excluded.append([staff_id, e["order_id"], e["reason"]])
    rejected = spreadsheet.sheet(book.create_sheet("rejected"))
    rejected.append(["order_id", "reason"])
    for r in statements["rejected"]:
        rejected.append([r["order_id"], r["reason"]])
    duplicates = spreadsheet.sheet(book.create_sheet("duplicates"))  # identical copies of an order row, counted once
    duplicates.append(["order_id", "reason"])
    for d in statements.get("duplicates", []):  # publications made before duplicates were reported have none
        duplicates.append([d["order_id"], d["reason"]])
    book.save(path)
