"""A campaign's audience: the ledger's members (of some tiers), the file's list, or a monthly close's snapshot
with the file's filters as one DuckDB query over Parquet; and the control group held out of it.

Snapshot filters are values bound as parameters on columns the checker allowed (:data:`SNAPSHOT_COLUMNS`); nothing the
file says is pasted into SQL.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.archive import data_dir as default_data_dir
from weixi.adapters.sql import execute
from weixi.campaigns.errors import CampaignRefused
from weixi.campaigns.model import SNAPSHOT_COLUMNS, Audience, Campaign
from weixi.close import store


def resolve_audience(engine: Engine, c: Campaign, data_dir: str | Path | None = None) -> list[str]:
    """The audience's member ids: from the ledger's members, a monthly close's snapshot, or the file's list."""
    a = c.audience
    if a.source == "list":
        return sorted(set(a.members))
    if a.source == "ledger":
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            sql, params = "SELECT member_id FROM members", []
            if a.tiers:
                sql += f" WHERE tier IN ({','.join('?' * len(a.tiers))})"
                params = list(a.tiers)
            return sorted(r[0] for r in execute(conn, sql, params))
    return snapshot_members(a, data_dir)


def control_group(campaign_id: str, member_id: str, share: Decimal) -> bool:
    """Whether a member is held out: the first 8 hex digits of SHA-256("<campaign>|<member>") as a fraction of
    16**8 fall below the share. Anyone can recompute the split."""
    if share <= 0:
        return False
    value = int(hashlib.sha256(f"{campaign_id}|{member_id}".encode()).hexdigest()[:8], 16)
    return Decimal(value) / Decimal(16**8) < share


def snapshot_members(audience: Audience, data_dir: str | Path | None = None) -> list[str]:
    data = default_data_dir(data_dir)
    months = store.closed_months(data)
    month = audience.month or (months[-1] if months else None)
    files = store.uris(data, "snapshots", month) if month else []  # the month's files in the close's Delta table
    if not files:
        raise CampaignRefused("campaign_no_snapshot", month=month, data=str(data), months=list(months) or None)
    where, params = [], [files]
    for f in audience.filters:
        col = f.column
        assert col in SNAPSHOT_COLUMNS  # checked by the loader
        if f.values:
            where.append(f"CAST({col} AS VARCHAR) IN ({', '.join('?' * len(f.values))})")
            params += list(f.values)
        if f.min is not None:
            where.append(f"{col} >= ?")
            params.append(f.min)
        if f.max is not None:
            where.append(f"{col} <= ?")
            params.append(f.max)
    sql = (
        "SELECT member_id FROM read_parquet(?)"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY member_id"
    )
    with duck.connect() as con:
        return [r[0] for r in con.execute(sql, params).fetchall()]
