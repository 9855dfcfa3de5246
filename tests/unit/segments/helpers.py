"""Hand-built inputs of the close: members, history and plans from YAML text."""

from __future__ import annotations

from datetime import date
from textwrap import dedent

import ibis
import pyarrow as pa

from weixi.plans.loader import load_plan_text

MEMBERS = pa.schema([("member_id", pa.string()), ("join_date", pa.date32()), ("churned_on", pa.date32())])
HISTORY = pa.schema(
    [
        ("member_id", pa.string()),
        ("month", pa.string()),
        ("spend_fen", pa.int64()),
        ("recharge_fen", pa.int64()),
        ("touches", pa.int64()),
        ("last_active_on", pa.date32()),
        ("points_earned", pa.int64()),
    ]
)
LONG_AGO = date(2015, 1, 1)


def plan(body: str):
    text = "plan: p\nname: P\nexpiry: {months_after: 12}\n" + dedent(body)
    loaded, found = load_plan_text(text, "p.yaml")
    assert loaded is not None, [d.format() for d in found]
    return loaded


def members(*rows) -> ibis.Table:
    """Each row: a member id, or (member_id, join_date) or (member_id, join_date, churned_on)."""

    def member(row) -> dict:
        row = (row,) if isinstance(row, str) else row
        return {
            "member_id": row[0],
            "join_date": row[1] if len(row) > 1 else LONG_AGO,
            "churned_on": row[2] if len(row) > 2 else None,
        }

    return ibis.memtable(pa.Table.from_pylist([member(row) for row in rows], schema=MEMBERS))


def history(*rows: dict) -> ibis.Table:
    """Rows as dicts of member_id and month; other columns default to 0 / None."""
    defaults = {"spend_fen": 0, "recharge_fen": 0, "touches": 0, "last_active_on": None, "points_earned": 0}
    return ibis.memtable(pa.Table.from_pylist([{**defaults, **row} for row in rows], schema=HISTORY))


def h(member_id: str, month: str, **values) -> dict:
    return {"member_id": member_id, "month": month, **values}
