"""A small operator for the operations tests: a month's snapshot and tier events written as the close writes
them, a roster, and the example operations plan."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "plans" / "examples" / "retention-operations.yaml"
MONTH = "2026-09"


def member_id(i: int) -> str:
    return f"M{i:06d}"


def write_snapshot(
    data: Path,
    month: str,
    tiers: dict[str, int],
    joined: dict[str, date] | None = None,
    key_accounts: dict[str, str] | None = None,
    managers: dict[str, str] | None = None,
) -> list[str]:
    """``tiers``: tier -> how many members; returns the member ids in order."""
    ids, tier_col = [], []
    for tier, n in tiers.items():
        for _ in range(n):
            ids.append(member_id(len(ids) + 1))
            tier_col.append(tier)
    joined = joined or {}
    key_accounts = key_accounts or {}
    managers = managers or {}
    table = pa.table(
        {
            "month": [month] * len(ids),
            "member_id": ids,
            "status": ["active"] * len(ids),
            "join_date": pa.array([joined.get(m, date(2020, 1, 1)) for m in ids], pa.date32()),
            "churned_on": pa.array([None] * len(ids), pa.date32()),
            "city": ["广州"] * len(ids),
            "manager_id": [managers.get(m) for m in ids],
            "tier": tier_col,
            "star_level": pa.array([3] * len(ids), pa.int8()),
            "key_account": [key_accounts.get(m, "bronze") for m in ids],
            "points_balance": pa.array([1200] * len(ids), pa.int64()),
        }
    )
    path = data / "snapshots" / f"month={month}" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return ids


def write_tier_events(data: Path, month: str, events: list[tuple[str, str, str, str, date]]) -> None:
    """(member_id, event, from_tier, to_tier, effective_on)"""
    cols = list(zip(*events)) if events else [[]] * 5
    table = pa.table(
        {
            "member_id": pa.array(cols[0], pa.string()),
            "month": [month] * len(events),
            "event": pa.array(cols[1], pa.string()),
            "from_tier": pa.array(cols[2], pa.string()),
            "to_tier": pa.array(cols[3], pa.string()),
            "effective_on": pa.array(cols[4], pa.date32()),
            "measure": pa.array([0] * len(events), pa.int64()),
        }
    )
    path = data / "close" / "tier_events" / f"month={month}" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def write_roster(path: Path, rows: list[tuple]) -> Path:
    """(staff_id, name, role, team, team_lead, shift)"""
    lines = ["staff_id,name,role,team,team_lead,shift"] + [",".join(str(x or "") for x in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_members(data: Path, rows: list[dict]) -> None:
    """The members archive (generator layout): member_id, name, gender, birthday, lunar_birthday, phone, city..."""
    from weixi.adapters.archive_schema import MEMBERS

    cols = {f.name: [r.get(f.name) for r in rows] for f in MEMBERS}
    path = data / "members" / "part-0.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols, schema=MEMBERS), path)
