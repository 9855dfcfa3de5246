"""Post a month's bills and recharges into a PostgreSQL ledger, set-based, each chunk all or nothing.

The chunk loop, probes and fallback rules are :func:`weixi.close.accrual_load.post_chunks` (DuckDB computes the
rows with :mod:`weixi.close.accrual_sql`); this module is what PostgreSQL does differently: the rows are cast to
the ledger's real types (DATE, TIMESTAMPTZ, BOOLEAN, INTEGER: ADBC's binary COPY refuses any other), temporary
tables live in ``pg_temp``, each chunk is one transaction of an ADBC connection, and the chunk's stored members
are locked (``FOR UPDATE``, in id order, as the per-batch path locks them) until it commits.

Runs in the close's own process: unlike SQLite (two copies of it in one process release each other's file
locks), libpq has no such hazard, so no loading process is needed.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters.adbc_sqlite import Rollback
from weixi.close.accrual_load import post_chunks


def libpq_uri(engine: Engine) -> str:
    """The engine's URL as libpq takes it (``postgresql://``, query parameters such as ``options`` kept)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresLedger:
    """How the chunks are written into a PostgreSQL ledger (see :class:`weixi.close.accrual_load.SqliteLedger`)."""

    temp = "pg_temp."
    deficit_lots = "lot_id LIKE 'deficit:%'"  # right under any collation
    lock = " ORDER BY m.member_id FOR UPDATE OF m"
    inserts = {
        "events": "SELECT event_id, member_id, type, CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at, "
        "CAST(day AS DATE) AS day, amount_fen, points, ref, attrs, earned, "
        "CAST(plan_version AS INTEGER) AS plan_version FROM acc_events ORDER BY seq",
        "lots": "SELECT lot_id, member_id, CAST(earned_on AS DATE) AS earned_on, "
        "CAST(expires_on AS DATE) AS expires_on, points, remaining, deficit <> 0 AS deficit, "
        "CAST(plan_version AS INTEGER) AS plan_version FROM acc_lots ORDER BY seq",
        "journal": "SELECT member_id, CAST(day AS DATE) AS day, kind, points, debt_delta, lot_id, event_id, rule_id, "
        "note, CAST(plan_version AS INTEGER) AS plan_version FROM acc_journal "
        "ORDER BY seq, o_grp, o_j, o_k",
        "members": "SELECT member_id, CAST(NULL AS VARCHAR) AS tier, CAST(first_day AS DATE) AS first_spend_on, "
        "true AS paid, CAST(earned AS BIGINT) AS balance, CAST(first_day AS DATE) AS first_seen_on "
        "FROM acc_members WHERE new ORDER BY first_seq",
    }
    changed = (
        "SELECT member_id, CAST(first_day AS DATE) AS first_day, CAST(earned AS BIGINT) AS earned "
        "FROM acc_members WHERE NOT new ORDER BY member_id"
    )
    update = (
        "UPDATE members SET first_spend_on = coalesce(members.first_spend_on, c.first_day), paid = true, "
        "balance = members.balance + c.earned FROM pg_temp.acc_changed c WHERE members.member_id = c.member_id"
    )

    def __init__(self, uri: str) -> None:
        self.uri = uri

    @contextmanager
    def writer(self) -> Iterator:
        """A cursor on a connection of its own; a transaction is open from the start and after each commit."""
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(self.uri) as db, db.cursor() as cur:
            yield cur

    @staticmethod
    @contextmanager
    def transaction(cur) -> Iterator[None]:
        """Commits when the block ends, rolls back when it raises (:class:`Rollback` is swallowed)."""
        try:
            yield
        except BaseException as exc:
            cur.connection.rollback()
            if isinstance(exc, Rollback):
                return
            raise
        cur.connection.commit()

    @staticmethod
    def update_from(cur, rows: pa.Table, sql: str, name: str) -> None:
        cur.adbc_ingest(name, rows, mode="replace", temporary=True)
        cur.execute(sql)
        cur.execute(f"DROP TABLE pg_temp.{name}")


def load(uri: str, **args) -> dict:
    """Post the events into the PostgreSQL ledger at ``uri`` (a libpq URI, :func:`libpq_uri`); ``args`` and the
    result are :func:`~weixi.close.accrual_load.post_chunks`'s."""
    return post_chunks(PostgresLedger(uri), **args)
