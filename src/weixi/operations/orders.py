"""Retention orders for the incentive engine: the month's orders that retention tasks produced, as the rows and the
file (``weixi tasks orders``) that :mod:`weixi.incentives` reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.operations import calendar
from weixi.operations.clock import local, start_of, zone

# -- retention orders for the incentive engine ------------------------------------------------------------------

ORDER_COLUMNS = (
    "order_id",
    "staff_id",
    "business",
    "customer_id",
    "number",
    "card",
    "monthly_rent",
    "network",
    "active",
    "cancels_unexpired_subsidy",
    "created_at",
    "broadband_only",
)


def orders(engine: Engine, month: str) -> tuple[list[dict], list[dict]]:
    """(orders the incentive engine pays, accepted offers of other kinds) for ``month``."""
    from weixi.incentives.model import BUSINESSES

    tz = zone(engine)
    first = start_of(date.fromisoformat(month + "-01"), tz)
    last = start_of(calendar.add_months(first.date(), 1), tz)
    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT order_id, staff_id, business, customer_id, number, card, monthly_rent_fen, network,"
            " active, cancels_unexpired_subsidy, created_at, task_id, offer_id, broadband_only FROM ops_orders "
            "WHERE created_at >= ? AND created_at < ? ORDER BY created_at, order_id",
            [first, last],
        )
    paid, other = [], []
    for r in rows:
        rent = r[6]
        d = dict(
            zip(
                ORDER_COLUMNS,
                (
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    f"{Decimal(rent) / 100:.2f}" if rent is not None else None,
                    r[7],
                    None if r[8] is None else ("true" if r[8] else "false"),
                    "true" if r[9] else "false",
                    local(r[10], tz).isoformat(),
                    None if r[13] is None else ("true" if r[13] else "false"),
                ),
            )
        )
        d.update(task_id=r[11], offer_id=r[12])
        (paid if d["business"] in BUSINESSES else other).append(d)
    return paid, other


def export_orders(engine: Engine, month: str, out: Path) -> dict:
    from weixi.adapters import spreadsheet

    paid, other = orders(engine, month)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = spreadsheet.csv_writer(f)  # no cell can start a formula
        w.writerow(ORDER_COLUMNS)
        for d in paid:
            w.writerow([d[c] if d[c] is not None else "" for c in ORDER_COLUMNS])
    tmp.replace(out)
    return {
        "month": month,
        "file": str(out),
        "orders": len(paid),
        "not_incentive_business": [{"order_id": d["order_id"], "offer_id": d["offer_id"]} for d in other],
    }
