"""The programme figures for finance (:mod:`weixi.ledger.programme`) of a month, counted from the ledger by three
set-based queries: the journal's totals by kind (the month and since the start), the lots (past their expiry date
or not, with what expired from each) and the members who have redeemed.

Periods: the month is its days (``day`` of the journal entries); "to date" is every entry up to the month end. The
lots are read as they are when the figures are computed (at the close: right after its expiry run, which expires
every lot due on the first day of the next month); a lot is *past its expiry date* when ``expires_on`` is on or
before that day. Issued and redeemed are what the close summary's ``points`` say: issued = earned + the period's
net positive adjustment; redeemed = redemptions less cancellations.

The conversion rate's members: at the close, the snapshot's active members, and of them those with a redemption
dated up to the month end and not cancelled by then; outside a close (:func:`live`), the members the ledger knows.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
from sqlalchemy import Engine

from weixi.adapters.duck import scan_files
from weixi.adapters.sql import execute
from weixi.close import store
from weixi.close.ledger_bridge import NOT_READ, LakeRead, lake_read, ledger_arrow, month_queries, read_with_lake
from weixi.close.months import first_day, next_month, parse_month
from weixi.ledger.programme import LedgerCounts, Ratio, figures, yuan
from weixi.plans.model import Plan
from weixi.plans.service import active_plan

KINDS = ("earn", "adjust", "redeem", "cancel", "expire")

# by kind: the month, to date (before the month end), and through the first day of the next month (``as_of``)
JOURNAL_SQL = (
    "SELECT kind, coalesce(sum(CASE WHEN day >= ? AND day < ? THEN points ELSE 0 END), 0), "
    "coalesce(sum(CASE WHEN day < ? THEN points ELSE 0 END), 0), coalesce(sum(points), 0) "
    f"FROM journal WHERE day <= ? AND kind IN ({', '.join(repr(k) for k in KINDS)}) GROUP BY kind"
)
# lots past their expiry date (points as earned, what is left on them), outstanding with and without an expiry date
LOTS_SQL = (
    "SELECT coalesce(sum(CASE WHEN expires_on <= ? THEN points ELSE 0 END), 0), "
    "coalesce(sum(CASE WHEN expires_on <= ? THEN remaining ELSE 0 END), 0), "
    "coalesce(sum(CASE WHEN expires_on > ? THEN remaining ELSE 0 END), 0), "
    "coalesce(sum(CASE WHEN expires_on IS NULL THEN remaining ELSE 0 END), 0) "
    "FROM lots WHERE deficit = ?"
)
REDEEMED = "day < ? AND (status <> 'cancelled' OR cancelled_on >= ?)"  # a redemption standing at the month end


def ledger_counts(engine: Engine, month: str, lake=NOT_READ) -> LedgerCounts:
    """The counts of ``month``. What expired from the lots past their expiry date is the journal's expiry entries
    dated up to ``as_of``: expiry dates each entry on its lot's ``expires_on`` (``weixi.ledger.expire``)."""
    if lake is NOT_READ:  # the SQL figures and the lake's unfolded rows, unless the caller read them
        lake = lake_of(engine, month)
    rows = lake.rows["journal"]
    matured, left, expiring, never = lake.rows["lots"][0]
    kinds = {k: (int(m), int(t), int(a)) for k, m, t, a in rows}
    if lake.lake is not None:  # the lake's unfolded rows (WEIXI_LEDGER_STORE=lake)
        for kind, extra in lake.lake[0].items():
            kinds[kind] = tuple(x + y for x, y in zip(kinds.get(kind, (0, 0, 0)), extra))
        matured, left, expiring, never = (int(x) + y for x, y in zip((matured, left, expiring, never), lake.lake[1]))

    def total(kind: str, which: int) -> int:
        return kinds.get(kind, (0, 0, 0))[which]

    issued = [total("earn", i) + max(total("adjust", i), 0) for i in (0, 1)]
    redeemed = [-(total("redeem", i) + total("cancel", i)) for i in (0, 1)]
    unredeemed = -total("expire", 2) + int(left)
    return LedgerCounts(
        issued_month=issued[0],
        issued_to_date=issued[1],
        redeemed_month=redeemed[0],
        redeemed_to_date=redeemed[1],
        expired_month=-total("expire", 0),
        expired_to_date=-total("expire", 1),
        matured_points=int(matured),
        matured_unredeemed=unredeemed,
        past_expiry_date=unredeemed + total("expire", 1),
        outstanding_expiring=int(expiring),
        outstanding_never_expiring=int(never),
    )


def _as_of(month: str) -> date:
    return first_day(next_month(month))


def lake_of(engine: Engine, month: str) -> LakeRead:
    """``month``'s SQL figures (the summary's :func:`~weixi.close.ledger_bridge.month_queries` and the programme's
    journal and lots) and the lake's part of them up to the first day of the next month, over the fold marks read
    with them (:func:`~weixi.close.ledger_bridge.read_with_lake`): read once for the close's summary and programme
    figures (``lake=``)."""
    queries = {name: (sql, params) for name, (sql, params, _) in figures_queries(month).items()}
    return read_with_lake(engine, queries, first_day(month), _as_of(month))


_INT = pa.int64()


def figures_queries(month: str) -> dict[str, tuple[str, list, pa.Schema]]:
    """What :func:`lake_of` reads of the SQL ledger, as ledger reads with their columns' types (name: (sql,
    params, schema)): the close reads them with its history step's read of the ledger (:func:`lake_from`), whose
    transaction holds the fold marks too. At 10,000,000 members the balances' sum alone scans the members' table
    (1-1.5 s of SQLite), which the close's summary then waited for."""
    start, as_of = first_day(month), _as_of(month)
    ledger = month_queries(month)

    def schema(*types: pa.DataType) -> pa.Schema:
        return pa.schema([(f"c{i}", t) for i, t in enumerate(types)])

    return {
        "month_kinds": (*ledger["month_kinds"], schema(pa.string(), _INT)),
        "outstanding": (*ledger["outstanding"], schema(_INT, _INT)),
        "journal": (JOURNAL_SQL, [start, as_of, as_of, as_of], schema(pa.string(), _INT, _INT, _INT)),
        "lots": (LOTS_SQL, [as_of, as_of, as_of, False], schema(_INT, _INT, _INT, _INT)),
    }


def lake_from(engine: Engine, month: str, tables: dict[str, pa.Table], folds: pa.Table, con=None) -> LakeRead:
    """:func:`lake_of` from the rows of :func:`figures_queries` (``tables``, by name) and the fold marks read in the
    same transaction; ``con``: the DuckDB connection the lake's part is summed on (default: one of its own)."""
    return lake_read(engine, tables, folds, first_day(month), _as_of(month), con=con)


def redeemers_query(month: str) -> tuple[str, list, pa.Schema]:
    """The members with a redemption standing at the month end (:data:`REDEEMED`), as a ledger read
    (:func:`~weixi.close.ledger_read.ledger_arrows`). The close does not write redemptions: it reads them with its
    history step's read of the ledger, while the ledger process is free (at the summary it is writing the tiers,
    and a read of its own costs a process's start-up)."""
    end = _as_of(month)
    return (
        f"SELECT DISTINCT member_id FROM redemptions WHERE {REDEEMED}",
        [end, end],
        pa.schema([("member_id", pa.string())]),
    )


def close_figures(
    engine: Engine,
    duck,
    snapshot_file,
    month: str,
    plan: Plan,
    budget: int | None = None,
    lake=NOT_READ,
    redeemers: pa.Table | None = None,
) -> dict:
    """The figures the close summary keeps: conversion over the snapshot's active members (DuckDB joins them with
    the ledger's redeemers). ``lake``: :func:`lake_of` the month, when read already; ``redeemers``: the rows of
    :func:`redeemers_query`, when read already."""
    if redeemers is None:
        redeemers = ledger_arrow(engine, *redeemers_query(month))
    duck.register("programme_redeemers", redeemers)
    try:
        converted, active = duck.execute(
            f"SELECT count(r.member_id), count(*) FROM {scan_files(snapshot_file)} s "
            "LEFT JOIN programme_redeemers r ON r.member_id = s.member_id WHERE s.status = 'active'"
        ).fetchone()
    finally:
        duck.unregister("programme_redeemers")
    conversion = Ratio(int(converted), int(active))
    return _with_basis(
        month, figures(ledger_counts(engine, month, lake), plan.cost_per_point_fen, budget, conversion), "close"
    )


def live(engine: Engine, month: str, plan: Plan, budget: int | None = None) -> dict:
    """The figures of a month not closed yet, from the ledger alone: conversion over the members the ledger knows."""
    end = _as_of(month)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        redeemers = execute(conn, f"SELECT count(DISTINCT member_id) FROM redemptions WHERE {REDEEMED}", [end, end])
        members = execute(conn, "SELECT count(*) FROM members")
    conversion = Ratio(int(redeemers[0][0]), int(members[0][0]))
    return _with_basis(
        month, figures(ledger_counts(engine, month), plan.cost_per_point_fen, budget, conversion), "ledger"
    )


def with_budget(stored: dict, budget: int | None) -> dict:
    """Stored figures (a closed month's) with the burn of ``budget`` instead of the budget they were closed with;
    valued at the cost per point they were closed with."""
    if budget is None:
        return stored
    cost_per_point_fen = Decimal(stored["cost_per_point_yuan"]) * 100
    return {
        **stored,
        "budget": {
            **stored["budget"],
            "points": budget,
            "yuan": yuan(budget, cost_per_point_fen),
            "burn": Ratio(stored["budget"]["issued"], budget).as_dict() if budget else None,
        },
    }


def _with_basis(month: str, result: dict, basis: str) -> dict:
    return {"month": month, "as_of": str(_as_of(month)), "basis": basis, **result}


def for_month(engine: Engine, data_dir, month: str, budget: int | None = None) -> dict:
    """A month's figures: a closed month's as its close kept them (with ``budget``'s burn when given), any other
    month's (or a month closed before the close kept them) counted from the ledger now."""
    month = parse_month(month)
    stored = (store.read_manifest(data_dir, month) or {}).get("summary", {}).get("programme")
    if stored is not None:
        return with_budget(stored, budget)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, plan = active_plan(conn)
    return live(engine, month, plan, budget)
