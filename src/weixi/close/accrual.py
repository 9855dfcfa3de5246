"""Accrual: the month's paid bills and its recharges become ledger events, posted in bulk.

The event id is the source id (``bill_id``, ``recharge_id``), so however often the close runs each bill
is posted once. Unpaid bills earn nothing until they are paid (a later load marks them paid and the next
close of that month, or of a later month, posts them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import duckdb
from sqlalchemy import Engine

from weixi.close.sources import scan_sql
from weixi.ledger.events import Event
from weixi.service_layer.posting import PostResult, post_events

CHUNK = 250_000


@dataclass
class AccrualResult:
    bills: int = 0
    recharges: int = 0
    posted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: dict | None = None


def _events(con: duckdb.DuckDBPyConnection, sql: str, etype: str, tz: ZoneInfo) -> Iterator[Event]:
    """Events from the query's rows. A bill is dated (its moment is 23:59:59 that day in the plan's timezone,
    worked out once per distinct day); a recharge has its moment and, from DuckDB, its day in the plan's
    timezone. Attrs dicts are shared between events of the same service type (nothing changes them)."""
    reader = con.execute(sql).to_arrow_reader(CHUNK)
    moments: dict = {}
    attrs_of: dict = {None: {}}
    for batch in reader:
        cols = batch.to_pydict()
        for event_id, member_id, moment, day, fen, service in zip(cols["event_id"], cols["member_id"],
                                                                   cols["occurred_at"], cols["local_day"],
                                                                   cols["amount_fen"], cols["service_type"]):
            if not isinstance(moment, datetime):
                moment = moments.get(moment) or moments.setdefault(
                    moment, datetime.combine(moment, time(23, 59, 59), tzinfo=tz))
            attrs = attrs_of.get(service)
            if attrs is None:
                attrs = attrs_of[service] = {"service_type": service}
            yield Event(event_id, member_id, etype, moment, day, int(fen), None, None, attrs)


def accrue(engine: Engine, data_dir: Path, month: str, tz: ZoneInfo,
           progress: Callable[[int], None] | None = None) -> AccrualResult:
    con = duckdb.connect()
    result = AccrualResult(reasons={})
    try:
        bills = (f"SELECT bill_id AS event_id, member_id, billed_on AS occurred_at, billed_on AS local_day, "
                 f"amount_fen, service_type "
                 f"FROM ({scan_sql(data_dir, 'bills', month)}) WHERE paid ORDER BY billed_on, bill_id")
        recharges = (f"SELECT recharge_id AS event_id, member_id, recharged_at AS occurred_at, "
                     f"CAST(timezone('{tz.key}', recharged_at) AS DATE) AS local_day, amount_fen, "
                     f"NULL::VARCHAR AS service_type FROM ({scan_sql(data_dir, 'recharges', month)}) "
                     f"ORDER BY recharged_at, recharge_id")
        result.bills = con.execute(f"SELECT count(*) FROM ({bills})").fetchone()[0]
        result.recharges = con.execute(f"SELECT count(*) FROM ({recharges})").fetchone()[0]

        def on_batch(r: PostResult) -> None:
            result.posted += r.posted
            result.duplicates += len(r.duplicates)
            result.rejected += len(r.rejected)
            for rej in r.rejected:
                key = rej.reason.split(":")[0]
                result.reasons[key] = result.reasons.get(key, 0) + 1
            if progress:
                progress(r.posted + len(r.duplicates) + len(r.rejected))

        for sql, etype in ((bills, "bill"), (recharges, "recharge")):
            post_events(engine, _events(con, sql, etype, tz), batch_size=CHUNK, on_batch=on_batch)
    finally:
        con.close()
    return result
