"""Posting events to the ledger: each batch is one transaction, every event in it all or nothing.

Events are applied in the order given. A repeat of an ``event_id`` already in the ledger (or earlier in
the same input) is a duplicate and changes nothing. Rerunning a partly posted file posts the rest once.

The time rules (``time_rules``: the API's writes, ``weixi events post``, redemptions and reversals) refuse an
event dated in a closed month — closed months are immutable; a correction is a new event in the open month —
and keep every spend, however dated, off points that have expired by today. The monthly close's own accrual,
simulations and the system's credits post without them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from weixi.adapters import ledger_repo as repo
from weixi.ledger import bulk
from weixi.ledger.book import Book, BookState, Rejected
from weixi.ledger.events import Event, Rejection
from weixi.ledger.fold import fold
from weixi.ledger.state import period_keys
from weixi.plans.model import Plan
from weixi.plans.service import active_plan

BATCH = 5000
RETRIES = 5


@dataclass
class PostResult:
    posted: int = 0
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    plan_version: int | None = None

    def add(self, other: "PostResult") -> None:
        self.posted += other.posted
        self.duplicates += other.duplicates
        self.rejected += other.rejected


def batched(items: Iterable, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def post_events(
    engine: Engine,
    items: Iterable[Event | Rejection],
    batch_size: int = BATCH,
    on_batch: Callable[[PostResult], None] | None = None,
    path: str = "auto",
    time_rules: bool = False,
) -> PostResult:
    """Post parsed events (rejections from parsing pass straight through to the result).

    ``path``: ``"auto"`` posts a batch of plain bills and recharges set-based (:mod:`weixi.ledger.bulk`,
    same result) and any other batch through the per-event Book; ``"book"`` always uses the Book; ``"bulk"``
    raises :class:`~weixi.ledger.bulk.BulkNotApplicable` for a batch that needs the Book.
    ``time_rules``: see the module doc (on for events from outside and spends; off for the close's accrual).
    """
    if path not in ("auto", "book", "bulk"):
        raise ValueError(f"path must be auto, book or bulk, not {path!r}")
    total = PostResult()
    for chunk in batched(items, batch_size):
        result = PostResult(rejected=[r for r in chunk if isinstance(r, Rejection)])
        events = [e for e in chunk if isinstance(e, Event)]
        if events:
            posted, duplicates, rejected, version = with_retries(
                engine, lambda conn, events=events: post_batch(conn, events, path, time_rules=time_rules)
            )
            result.posted, result.plan_version = posted, version
            result.duplicates += duplicates
            result.rejected += rejected
        total.add(result)
        total.plan_version = result.plan_version
        if on_batch:
            on_batch(result)
    return total


def with_retries(engine: Engine, work: Callable[[Connection], object]):
    """Run ``work`` in one transaction, retrying the whole unit when PostgreSQL reports a conflict."""
    for attempt in range(RETRIES):
        try:
            with engine.begin() as conn:
                value = work(conn)
            return value
        except (IntegrityError, DBAPIError) as exc:
            # PostgreSQL: two transactions created the same new member or deadlocked; SQLite never gets here
            # for that reason because BEGIN IMMEDIATE serialises writers.
            if attempt == RETRIES - 1 or not _retryable(exc):
                raise
            time.sleep(0.05 * (attempt + 1))


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("23505", "40001", "40P01")


def screen(conn: Connection, plan: Plan, events: list[Event], time_rules: bool) -> tuple[list[Event], list[Rejection]]:
    """Events the batch may post, and rejections of those it may not: an amount over the plan's ``max_amount``
    and, with the time rules, a day in a closed month. Not stored as the event id's outcome (like a row that could
    not be read): an id already posted is still a duplicate, and the event may come again with a good day."""
    cap = plan.max_amount_fen
    closed = repo.closed_through(conn) if time_rules else None
    problems: dict[int, Rejected] = {}
    for i, ev in enumerate(events):
        if cap is not None and ev.amount_fen is not None and ev.amount_fen > cap:
            problems[i] = Rejected(
                "over_max_amount", "amount", amount=Decimal(ev.amount_fen) / 100, max=Decimal(cap) / 100
            )
        elif closed is not None and ev.day <= closed:
            problems[i] = Rejected(
                "month_closed", "occurred_at", day=ev.day, month=ev.day.strftime("%Y-%m"), closed_through=closed
            )
    if not problems:
        return events, []
    seen, rejected = repo.seen_and_rejected(conn, [events[i].event_id for i in problems])
    refused = [
        Rejection(events[i].event_id, err.reason, events[i].row, err.field, err.code, err.params)
        for i, err in problems.items()
        if events[i].event_id not in seen and events[i].event_id not in rejected
    ]
    keep = [ev for i, ev in enumerate(events) if i not in problems or ev.event_id in seen or ev.event_id in rejected]
    return keep, refused


def load_book(conn: Connection, plan: Plan, version: int, events: list[Event], today=None) -> Book:
    members = {e.member_id for e in events}
    referees = members | {e.ref for e in events if e.type == "referral"}
    referrals = repo.load_referrals(conn, referees)
    members |= {r.referrer_id for r in referrals.values()} | {e.ref for e in events if e.type == "referral"}
    fold(conn, members)  # their lake months first (nothing without any): the Book sees every lot
    state = BookState(referrals=referrals)
    state.members = repo.load_members(conn, members, lock=True)
    need_lots = {e.member_id for e in events if e.type in ("redeem", "refund", "adjust")}
    need_lots |= {m for m, s in state.members.items() if s.debt > 0}
    # members who still owe a deficit lot need their lots too: asked only for the members not loading them
    # anyway, through the members' lots index (a global "any deficit lot?" probe scanned the whole lots table)
    rest = members - need_lots
    if rest:
        need_lots |= repo.deficit_members(conn, rest)
    state.lots = repo.load_lots(conn, need_lots & set(state.members), lock=True)
    periods = {p for e in events for p in period_keys(e.day)}
    state.counters = repo.load_counters(conn, members | {"*"}, periods)
    state.sources = repo.load_sources(conn, [e.ref for e in events if e.type == "refund"])
    state.stock = repo.load_stock(conn, {e.ref for e in events if e.type == "redeem"})
    state.seen, state.rejected = repo.seen_and_rejected(conn, [e.event_id for e in events])
    state.keys = repo.request_keys(
        conn,
        [
            e.event_id
            for e in events
            if e.type == "redeem" and (e.event_id in state.seen or e.event_id in state.rejected)
        ],
    )  # a retried key: what its first request asked
    return Book(plan, version, state, today)


def _as_stored(details: dict) -> dict:
    """``details`` as read back from its JSON column: tuples become lists, keys in order."""
    return json.loads(json.dumps(details, sort_keys=True))


def post_batch(
    conn: Connection, events: list[Event], path: str = "book", redemptions: dict | None = None, time_rules: bool = True
):
    """Post ``events`` in the transaction of ``conn``. ``redemptions``, when given, is filled with the redemption
    row (as :data:`REDEMPTION_KEYS`) of every redeem event posted or found a duplicate, read in this transaction.
    ``time_rules`` (on: the API's group commit posts through here): see the module doc."""
    if redemptions is not None:
        redemptions.clear()
    version, plan = active_plan(conn)
    events, refused = screen(conn, plan, events, time_rules)
    if path != "book" and events:  # the set-based path takes only batches of plain bills and recharges
        done = bulk.post_batch(conn, plan, version, events, force=path == "bulk")
        if done is not None:
            return done[0], done[1], refused + done[2], done[3]
    today = datetime.now(ZoneInfo(plan.timezone)).date() if time_rules else None
    book = load_book(conn, plan, version, events, today)
    posted, duplicates, rejected = 0, [], list(refused)
    for ev in events:
        try:
            outcome = book.post(ev)
        except Rejected as err:
            rejected.append(Rejection(ev.event_id, err.reason, ev.row, err.field, err.code, err.params))
            continue
        if outcome == "duplicate":
            duplicates.append(ev.event_id)
        else:
            posted += 1
    repo.write_changes(conn, book.s, book.changes, version, book.earned)
    if redemptions is not None:
        for r in book.changes.redemptions:
            # as read back from the table: details through JSON (tuples become lists), the day as text
            redemptions[r.id] = {
                "redemption_id": r.id,
                "member_id": r.member_id,
                "reward_id": r.reward_id,
                "qty": int(r.qty),
                "points": int(r.points),
                "day": str(r.day)[:10],
                "status": r.status,
                "details": _as_stored(r.details),
                "request_id": r.request_id,
            }
        done = {r.event_id for r in rejected}
        again = [
            e.event_id
            for e in events
            if e.type == "redeem" and e.event_id not in redemptions and e.event_id not in done
        ]
        redemptions.update(repo.load_redemptions(conn, again))
    return posted, duplicates, rejected, version
