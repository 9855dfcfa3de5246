"""Accrual: the month's paid bills and its recharges become ledger events, posted in bulk.

The event id is the source id (``bill_id``, ``recharge_id``), so however often the close runs each bill
is posted once. Unpaid bills earn nothing until they are paid (a later load marks them paid and the next
close of that month, or of a later month, posts them).

When every batch of the month is committed, a marker (``DATA/close/accrual/YYYY-MM.json``) records the result
and the input files it came from (path, size, modification time of the bills and recharges). A rerun of the
month after a crash in a later step finds the marker with the same inputs and reuses the result instead of
reading every bill again only to find it posted (at 1,000,000 members that re-read took 93 s); with other
inputs (a load since) or no marker (a crash during accrual) it posts as before, each bill once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

import json
import os

import duckdb
from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import execute
from weixi.close.sources import scan_sql
from weixi.members import archive
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


def _inputs(data_dir: Path) -> list[list]:
    return archive.file_stamps(data_dir, ("bills", "recharges"))


def _marker(data_dir: Path, month: str) -> Path:
    return Path(data_dir) / "close" / "accrual" / f"{month}.json"


def _done(engine: Engine, data_dir: Path, month: str) -> AccrualResult | None:
    try:
        marker = json.loads(_marker(data_dir, month).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if marker.get("inputs") != _inputs(Path(data_dir)) or marker.get("ledger") != str(engine.url):
        return None
    probe = marker.get("probe")
    if probe is not None:  # the ledger holds the month's first event (not a database made anew since)
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            if not execute(conn, "SELECT 1 FROM events WHERE event_id = ? UNION ALL "
                                 "SELECT 1 FROM rejections WHERE event_id = ?", [probe, probe]):
                return None
    return AccrualResult(**marker["result"])


def _mark(engine: Engine, data_dir: Path, month: str, result: AccrualResult, probe: str | None) -> None:
    path = _marker(data_dir, month)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"inputs": _inputs(Path(data_dir)), "ledger": str(engine.url), "probe": probe,
                               "result": result.__dict__}), encoding="utf-8")
    os.replace(tmp, path)


def accrue(engine: Engine, data_dir: Path, month: str, tz: ZoneInfo,
           progress: Callable[[int], None] | None = None) -> AccrualResult:
    done = _done(engine, data_dir, month)
    if done is not None:
        return done
    con = duck.connect()
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
        first = con.execute(f"SELECT event_id FROM ({bills}) LIMIT 1").fetchone() or \
            con.execute(f"SELECT event_id FROM ({recharges}) LIMIT 1").fetchone()
        probe = first[0] if first else None

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
    _mark(engine, data_dir, month, result, probe)
    return result
