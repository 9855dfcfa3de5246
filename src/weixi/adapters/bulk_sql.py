"""Set-based SQL for the bulk earning path (:mod:`weixi.ledger.bulk`), on SQLite and PostgreSQL.

An id list is sent as ONE parameter, whatever its length: a JSON array read with ``json_each`` on SQLite,
an array compared with ``= ANY`` on PostgreSQL. That replaces the 900-ids-per-statement chunks of
:func:`weixi.adapters.sql.select_in`: a 100,000-event batch needs a handful of statements, not hundreds.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Iterable

from sqlalchemy import Connection

from weixi.adapters.sql import as_date, execute, executemany, is_pg

SQLITE_CACHE_KIB = 256 * 1024  # page cache for bulk batches: the random-order indexes (member_id) stay in memory


def _in(conn: Connection, sql: str) -> str:
    """``{ids}`` in ``sql`` stands for ``IN (the ids)``, given as the statement's first parameter."""
    return sql.replace("{ids}", "= ANY(?)" if is_pg(conn) else "IN (SELECT value FROM json_each(?))")


def _ids(conn: Connection, ids: Iterable[str]):
    ids = list(ids)
    return ids if is_pg(conn) else json.dumps(ids, ensure_ascii=False)


def select_ids(conn: Connection, sql: str, ids: Iterable[str], params: tuple = ()) -> list[tuple]:
    ids = list(ids)
    if not ids:
        return []
    return execute(conn, _in(conn, sql), [_ids(conn, ids), *params])


def tune(conn: Connection) -> None:
    """A bigger page cache for this connection (SQLite only; kept for the pooled connection's life)."""
    if is_pg(conn):
        return
    current = execute(conn, "PRAGMA cache_size")[0][0]
    if current >= 0 or -current < SQLITE_CACHE_KIB:  # positive = pages, negative = KiB
        execute(conn, f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")


def existing_event_ids(conn: Connection, ids: list[str]) -> set[str]:
    return {r[0] for r in select_ids(conn, "SELECT event_id FROM events WHERE event_id {ids}", ids)}


def rejected_event_ids(conn: Connection, ids: list[str]) -> dict[str, str]:
    if not execute(conn, "SELECT 1 FROM rejections LIMIT 1"):
        return {}
    return {r[0]: r[1] for r in select_ids(conn, "SELECT event_id, reason FROM rejections WHERE event_id {ids}", ids)}


def load_members(conn: Connection, ids: list[str]) -> dict[str, tuple]:
    """``member_id -> (tier, first_spend_on, balance, debt)``; on PostgreSQL the rows are locked in id order,
    like :func:`weixi.adapters.ledger_repo.load_members` with ``lock=True``, so concurrent batches cannot deadlock."""
    sql = "SELECT member_id, tier, first_spend_on, balance, debt FROM members WHERE member_id {ids}"
    if is_pg(conn):
        sql += " ORDER BY member_id FOR UPDATE"
    return {r[0]: (r[1], as_date(r[2]), r[3], r[4]) for r in select_ids(conn, sql, ids)}


def owing_members(conn: Connection, ids: list[str]) -> bool:
    """Whether a member owes points: a negative-balance lot (``deficit:<member>``, the only name the Book gives
    one) with ``remaining < 0``. Probed by primary key: no scan of ``lots``."""
    if not is_pg(conn) and not execute(
        conn, "SELECT 1 FROM lots WHERE lot_id >= 'deficit:' AND lot_id < 'deficit;' LIMIT 1"
    ):
        return False  # no deficit lot at all: one seek in the primary key (SQLite compares text bytewise)
    rows = select_ids(
        conn,
        "SELECT 1 FROM lots WHERE lot_id {ids} AND deficit = ? AND remaining < 0 LIMIT 1",
        ["deficit:" + m for m in ids],
        (True,),
    )
    return bool(rows)


def pending_referees(conn: Connection, ids: list[str]) -> bool:
    """Whether a referral still waits for one of these members to qualify (the Book awards it)."""
    if not execute(conn, "SELECT 1 FROM referrals WHERE awarded_on IS NULL LIMIT 1"):
        return False  # no referral waits at all (the table is small next to the events)
    return bool(select_ids(conn, "SELECT 1 FROM referrals WHERE referee_id {ids} AND awarded_on IS NULL LIMIT 1", ids))


def write(
    conn: Connection,
    events: list[tuple],
    lots: list[tuple],
    journal: list[tuple],
    new_members: list[tuple],
    changed_members: list[tuple],
) -> None:
    """Rows in the column order of the statements below (the same tables :func:`ledger_repo.write_changes` fills)."""
    executemany(
        conn,
        "INSERT INTO events (event_id, member_id, type, occurred_at, day, amount_fen, points, ref, attrs, "
        "earned, plan_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        events,
    )
    executemany(
        conn,
        "INSERT INTO lots (lot_id, member_id, earned_on, expires_on, points, remaining, deficit, "
        "plan_version) VALUES (?,?,?,?,?,?,?,?)",
        lots,
    )
    executemany(
        conn,
        "INSERT INTO journal (member_id, day, kind, points, debt_delta, lot_id, event_id, rule_id, note, "
        "plan_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
        journal,
    )
    executemany(
        conn,
        "INSERT INTO members (member_id, tier, first_spend_on, paid, balance, first_seen_on) VALUES (?,?,?,?,?,?)",
        new_members,
    )
    executemany(
        conn,
        "UPDATE members SET tier = ?, first_spend_on = ?, paid = ?, balance = ? WHERE member_id = ?",
        changed_members,
    )


def stamp_value(conn: Connection):
    """How a timestamp is passed: as is to psycopg, the registered adapter's ISO text on SQLite."""
    return (lambda t: t) if is_pg(conn) else datetime.isoformat


def day_value(conn: Connection):
    """How a date is passed to the driver: as is to psycopg; on SQLite the ISO text the registered adapter makes
    (converted once per distinct day here instead of once per value by the adapter)."""
    if is_pg(conn):
        return lambda d: d
    cache: dict[date | None, str | None] = {None: None}

    def convert(d):
        try:
            return cache[d]
        except KeyError:
            cache[d] = d.isoformat()
            return cache[d]

    return convert
