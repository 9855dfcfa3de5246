"""The payroll export of a month's statements (the JSON shape of a compute or a publication): CSV, one row per
employee (column ids, for scripts), or XLSX for the payroll office: Chinese headers, roles by name, and the
explanation lines, the excluded, the rejected and the duplicate order rows said in Chinese from their codes. No
cell can start a formula."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from weixi.adapters import spreadsheet
from weixi.errors import Problem
from weixi.incentives.errors import IncentiveInvalid
from weixi.incentives.lines import say_excluded, say_line
from weixi.messages import catalogue, render
from weixi.names import display

ZH = "zh_CN"
# the XLSX headers (the payroll office reads Chinese), sheet by sheet
HEADERS = {
    "statements": (
        "月份",
        "员工编号",
        "岗位",
        "移动效能",
        "宽带效能",
        "KPI分",
        "奖金（元）",
        "明细条数",
        "不计订单数",
        "其中超量奖（元）",
        "考核评分",
    ),
    "lines": ("员工编号", "来源（订单/记录/考核期）", "规则", "效能类型", "效能", "KPI分", "金额（元）", "说明"),
    "excluded": ("员工编号", "订单号", "不计原因"),
    "rejected": ("订单号", "行号", "原因"),
    "duplicates": ("订单号", "行号", "原因"),
}
_ROW = re.compile(r"^row (\d+): ")

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
    "over_quota_yuan",
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
            over_quota(v),
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


def over_quota(statement: dict) -> str:
    """The over-quota bonus (超量奖) of a statement, all measures (statements published before it: 0.00)."""
    total = sum((Decimal(k["over_quota_yuan"]) for k in (statement.get("kpi") or {}).values()), Decimal(0))
    return f"{total:.2f}"


def scores_said(statement: dict) -> str:
    """The statement's scorecard and key-account results in Chinese: 维修部激励方案 2016-01：9.2/10 优."""
    out = []
    for sc in statement.get("scores") or []:
        extra = "".join(f" {sc[k]}" for k in ("grade_name", "award_name") if sc.get(k))
        out.append(f"{sc['plan_name']} {sc['period']}：{sc['total']}/{sc['scale']}{extra}")
    return "；".join(out)


def _problem(entry: dict) -> list:
    """A rejected or duplicate row as the XLSX lists it: order id, row, and the reason in Chinese."""
    found = _ROW.match(entry.get("reason") or "")
    row = int(found.group(1)) if found else None
    said = render(Problem(entry["code"], entry.get("params") or {}), ZH) if entry.get("code") else entry["reason"]
    return [entry["order_id"], row, said]


def _xlsx(statements: dict, rows, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheets = {name: spreadsheet.sheet(book.create_sheet(name)) for name in HEADERS}  # no cell can start a formula
    for name, header in HEADERS.items():
        sheets[name].append(list(header))
    for r in rows:
        role = display("staff_role", r[2], ZH)
        said = scores_said(statements["staff"][r[1]])
        sheets["statements"].append(
            [
                r[0],
                r[1],
                role,
                Decimal(r[3]),
                Decimal(r[4]),
                Decimal(r[5]),
                Decimal(r[6]),
                r[7],
                r[8],
                Decimal(r[9]),
                said,
            ]
        )
    for staff_id, v in sorted(statements["staff"].items()):
        for l in v["lines"]:
            params = l.get("params") or {}
            rule = next((params[k] for k in ("rule_name", "violation_name", "plan_name") if params.get(k)), l["rule"])
            measure = catalogue(ZH).get(f"measure.{l['measure']}") if l["measure"] else None
            sheets["lines"].append(
                [
                    staff_id,
                    l["order_id"],
                    rule,
                    measure.text if measure else l["measure"],
                    Decimal(l["units"]),
                    Decimal(l["kpi_points"]),
                    Decimal(l["yuan"]),
                    say_line(l, ZH),
                ]
            )
        for e in v["excluded"]:
            sheets["excluded"].append([staff_id, e["order_id"], say_excluded(e, ZH)])
    for r in statements["rejected"]:
        sheets["rejected"].append(_problem(r))
    for d in statements.get("duplicates", []):  # publications made before duplicates were reported have none
        sheets["duplicates"].append(_problem(d))
    book.save(path)
