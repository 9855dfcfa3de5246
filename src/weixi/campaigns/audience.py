"""A campaign audience from a monthly close's snapshot: the file's filters as one DuckDB query over Parquet.

Filters are values bound as parameters on columns the checker allowed (:data:`SNAPSHOT_COLUMNS`); nothing the
file says is pasted into SQL.
"""

from __future__ import annotations

from pathlib import Path

from weixi.adapters import duck
from weixi.adapters.archive import data_dir as default_data_dir
from weixi.campaigns.model import SNAPSHOT_COLUMNS, Audience
from weixi.close import store


def snapshot_members(audience: Audience, data_dir: str | Path | None = None) -> list[str]:
    from weixi.campaigns.service import CampaignError

    data = default_data_dir(data_dir)
    months = store.closed_months(data)
    month = audience.month or (months[-1] if months else None)
    path = store.path(data, "snapshots", month) if month else None
    if path is None:
        have = ", ".join(months) or "none"
        raise CampaignError(f"no snapshot of {month or 'any month'} in {data} (closed months: {have}):"
                            f" run 'weixi close --month YYYY-MM' first, or choose another audience source")
    where, params = [], [str(path)]
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
    sql = "SELECT member_id FROM read_parquet(?)" + (" WHERE " + " AND ".join(where) if where else "") + \
          " ORDER BY member_id"
    with duck.connect() as con:
        return [r[0] for r in con.execute(sql, params).fetchall()]
