"""Small helpers to run the same hand-written SQL on SQLite and PostgreSQL through the DBAPI.

Bulk paths use the driver's ``executemany`` with tuples (no ORM objects, no per-row SQLAlchemy work).
SQL is written with ``?`` placeholders and ``{in}`` for an id list.

On SQLite, inside a transaction the connection has begun, statements go straight to the ``sqlite3`` connection
(the same connection and transaction SQLAlchemy holds; no per-call result and context objects: ~15–20% of the
API writer's CPU per batch was that bookkeeping); driver errors are raised as SQLAlchemy's exception classes,
as ``exec_driver_sql`` raises them. Outside a transaction (SQLAlchemy's autobegin) and on PostgreSQL the
statements go through ``exec_driver_sql``.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any, Iterable, Sequence

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

CHUNK = 900


def is_pg(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _native(conn: Connection, sql: str) -> str:
    return sql.replace("?", "%s") if is_pg(conn) else sql


def _sqlite_driver(conn: Connection) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection of ``conn`` when statements may go to it directly: SQLite, in a transaction."""
    if conn.dialect.name != "sqlite" or not conn.in_transaction():
        return None
    return conn.connection.driver_connection


def _wrapped(conn: Connection, sql: str, params, exc: sqlite3.Error, many: bool = False) -> DBAPIError:
    return DBAPIError.instance(sql, params, exc, sqlite3.Error, dialect=conn.dialect, ismulti=many)


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    raw = _sqlite_driver(conn)
    if raw is not None:
        try:
            return raw.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise _wrapped(conn, sql, params, exc) from exc
    result = conn.exec_driver_sql(_native(conn, sql), tuple(params))
    return [tuple(r) for r in result.fetchall()] if result.returns_rows else []


def executemany(conn: Connection, sql: str, rows: list[tuple]) -> None:
    if not rows:
        return
    raw = _sqlite_driver(conn)
    if raw is not None:
        try:
            raw.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _wrapped(conn, sql, rows, exc, many=True) from exc
        return
    conn.exec_driver_sql(_native(conn, sql), rows)


def select_in(conn: Connection, sql: str, ids: Iterable[Any], params: Sequence[Any] = ()) -> list[tuple]:
    """Run ``sql`` whose ``{in}`` stands for ``column IN (ids)``; extra ``params`` come after the ids."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    if is_pg(conn):
        return execute(conn, sql.replace("{in}", "= ANY(?)"), [ids, *params])
    out: list[tuple] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        out.extend(execute(conn, sql.replace("{in}", f"IN ({','.join('?' * len(chunk))})"), [*chunk, *params]))
    return out


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def as_bool(value: Any) -> bool:
    return bool(value) if not isinstance(value, str) else value.lower() in ("1", "t", "true")
