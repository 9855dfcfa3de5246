"""``weixi events post`` into the lake (``WEIXI_LEDGER_STORE=lake``): a file's plain bills and recharges take the
close's batch path instead of an event, a lot and journal rows per bill in the SQL ledger.

The rows go through the very statements the close runs (:func:`weixi.close.accrual_lake.post` over
:mod:`weixi.close.accrual_sql`), as a partition of the ``accruals`` Delta table of their own keyed
``<last closed month>+<n>`` (:func:`~weixi.close.accrual_lake.post_key`) and committed with the application
transaction ``(weixi-post, n)``; the members' balances and the ``lake_months`` watermark follow in one SQL
transaction, and the fold brings a member's rows into the SQL ledger when the member is first touched, as for a
closed month. A crash between the commit and that transaction is rolled forward by the next post or close.

Every other row goes through :func:`~weixi.ledger.posting.post_events` in the same call, in file order, and the
results are merged: events of other types, bills the statements cannot take (their own points or ref, an amount the
Book must judge, an unknown tier, a non-text service type), and every event of their members (and of a referral's
referee, a refunded bill's member, an id given to two members) so that a member's events are posted by one path in
the order of the file; the members the Book must handle (a debt, a negative lot, a referral waiting) are left to it
by the lake step. The time rules apply to the lake's rows as to the others (:func:`~weixi.ledger.posting.screen`:
a day in a closed month, an amount over the plan's maximum; a future moment is refused when the file is read).
A file with fewer than :data:`~weixi.ledger.bulk.AUTO_MIN` such bills, or whose days a blocking multiplier covers,
goes through ``post_events`` whole.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Iterable

import pyarrow as pa
from sqlalchemy import Engine

from weixi import settings
from weixi.adapters import duck, lake
from weixi.adapters.sql import execute
from weixi.close import accrual_lake
from weixi.ledger import bulk
from weixi.ledger.events import Event, Rejection
from weixi.ledger.fold import accruals_dir
from weixi.ledger.posting import PostResult, post_events, screen
from weixi.plans.model import Plan
from weixi.plans.service import active_plan

SOURCE_SQL = "SELECT * FROM post_src"
_EPOCH = date(1970, 1, 1).toordinal()
POST_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("type", pa.string()),
        ("event_id", pa.string()),
        ("member_id", pa.string()),
        ("day", pa.date32()),
        ("moment", pa.timestamp("us", tz="UTC")),  # NULL: the moment is in occurred_text
        ("amount_fen", pa.int64()),
        ("service_type", pa.string()),
        ("occurred_text", pa.string()),
        ("attrs_text", pa.string()),
        ("tier", pa.string()),
    ]
)


def post_file_events(engine: Engine, items: Iterable[Event | Rejection], data_dir: Path | None = None) -> PostResult:
    """Post a file's events with the time rules: with the lake store its bills and recharges into the lake (see
    the module doc), everything else through :func:`~weixi.ledger.posting.post_events`. ``data_dir``: where the
    lake is when no lake month names it yet (default ``WEIXI_DATA``)."""
    if settings.LEDGER_STORE.value() != "lake":
        return post_events(engine, items, time_rules=True)
    items = list(items)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        version, plan = active_plan(conn)
        named = execute(conn, "SELECT lake_dir FROM lake_months ORDER BY month DESC LIMIT 1")
    data = Path(named[0][0]).parent if named else Path(data_dir or settings.DATA.value())
    lakeable, book_members, book = _split(plan, items)
    days = sorted({items[i].day for i in lakeable})
    if len(lakeable) < bulk.AUTO_MIN or not accrual_lake.applicable(plan, days, 0):
        return post_events(engine, items, time_rules=True)
    candidates = [i for i in lakeable if items[i].member_id not in book_members]
    result = PostResult(plan_version=version)
    with engine.connect() as conn, conn.begin():
        keep, refused = screen(conn, plan, [items[i] for i in candidates], True)
    result.duplicates += _in_lake(data, refused, result)
    if refused:
        kept = {id(ev) for ev in keep}
        rows = [i for i in candidates if id(items[i]) in kept]
    else:
        rows = candidates
    if book_members:  # their bills and recharges too, in file order
        book = sorted(book + [i for i in lakeable if items[i].member_id in book_members])
    if rows:
        with accrual_lake.lake_lock(data):  # one writer at a time: each post takes the next number
            key, n = _next_key(engine, data)
            part = accrual_lake.post(
                engine,
                data,
                key,
                plan,
                version,
                SOURCE_SQL,
                sorted({items[i].day for i in rows}),
                app=accrual_lake.POST_APP,
                app_version=n,
                post_rows=_table(rows, items),
            )
        book += _merge(part, items, result)
    if book:
        result.add(post_events(engine, [items[i] for i in sorted(book)], time_rules=True))
    result.rejected.sort(key=lambda r: r.row or 0)
    return result


def _split(plan: Plan, items: list) -> tuple[list[int], set[str], list[int]]:
    """The positions of the bills and recharges the statements can take; the members whose events must all go
    through ``post_events`` (see the module doc); the positions of the other rows (rejections from reading too)."""
    c = bulk.compile_plan(plan)
    limit = bulk.fen_limit(plan)
    known = c.known_tiers
    lakeable: list[int] = []
    others: list[int] = []
    book: set[str] = set()
    owner: dict[str, str] = {}  # event id -> its first member
    refunds: list[str] = []
    for i, ev in enumerate(items):
        if not isinstance(ev, Event):
            others.append(i)
            continue
        first = owner.setdefault(ev.event_id, ev.member_id)
        if first != ev.member_id:  # one id, two members: the Book sees the id's outcome across both
            book.update((first, ev.member_id))
        if ev.type in bulk.BULK_TYPES and ev.points is None and ev.ref is None:
            fen, attrs = ev.amount_fen, ev.attrs
            if fen is not None and 0 <= fen < limit and (not attrs or _plain(attrs, known)):
                lakeable.append(i)
                continue
        elif ev.type == "referral" and ev.ref:
            book.add(ev.ref)  # the referee's first payment awards the referral
        elif ev.type == "refund" and ev.ref:
            refunds.append(ev.ref)
        book.add(ev.member_id)
        others.append(i)
    book.update(owner[r] for r in refunds if r in owner)
    return lakeable, book, others


def _plain(attrs: dict, known) -> bool:
    service, tier = attrs.get("service_type"), attrs.get("tier")
    return (service is None or isinstance(service, str)) and (
        tier is None or (isinstance(tier, str) and (known is None or tier in known))
    )


def _table(rows: list[int], items: list) -> pa.Table:
    """The events at positions ``rows`` as ``post_src`` (:data:`POST_SCHEMA`), numbered by their place in the file;
    the moment's and the attrs' text as the bulk path writes them (each distinct value converted once). Built a
    column at a time (no row objects) without ``pa.array``, which imports pandas."""
    evs = [items[i] for i in rows]
    # the moment's text once per distinct moment: equal instants at other offsets are equal datetimes but other
    # texts, so a text is taken from the cache only at the offset it was made at
    ats = [ev.occurred_at for ev in evs]
    stamps = {at: (at.utcoffset(), at.isoformat()) for at in set(ats)}
    days = [ev.day for ev in evs]
    epoch = {d: d.toordinal() - _EPOCH for d in set(days)}  # date32's value: days since 1970-01-01
    attrs = [ev.attrs for ev in evs]
    texts: dict = {}
    cols = {
        "seq": accrual_lake.int_column([i + 1 for i in rows]),
        "type": accrual_lake.text_column([ev.type for ev in evs]),
        "event_id": accrual_lake.text_column([ev.event_id for ev in evs]),
        "member_id": accrual_lake.text_column([ev.member_id for ev in evs]),
        "day": accrual_lake.int_column([epoch[d] for d in days], pa.date32()),
        "moment": pa.nulls(len(evs), POST_SCHEMA.field("moment").type),  # the moment is in occurred_text
        "amount_fen": accrual_lake.int_column([ev.amount_fen for ev in evs]),
        "service_type": accrual_lake.text_column([a.get("service_type") if a else None for a in attrs]),
        "occurred_text": accrual_lake.text_column(
            [hit[1] if (hit := stamps[at])[0] == at.utcoffset() else at.isoformat() for at in ats]
        ),
        "attrs_text": accrual_lake.text_column([_attrs_text(a, texts) if a else None for a in attrs]),
        "tier": accrual_lake.text_column([a.get("tier") if a else None for a in attrs]),
    }
    return pa.table([cols[name] for name in POST_SCHEMA.names], schema=POST_SCHEMA)


def _attrs_text(attrs: dict, texts: dict) -> str:
    """The attrs' JSON as the bulk path writes it, converted once per distinct value. Keyed by ``repr``, which tells
    the values' types apart (``1``, ``True`` and ``1.0`` are equal dict keys but other JSON) and takes any value."""
    key = repr(attrs)
    text = texts.get(key)
    if text is None:
        text = texts[key] = json.dumps(attrs, ensure_ascii=False, sort_keys=True)
    return text


def _merge(part: accrual_lake.LakePart, items: list, result: PostResult) -> list[int]:
    """Add the lake step's outcomes to ``result``; the positions of the rows left to the Book."""
    book: list[int] = []
    result.posted += part.posted
    outcomes = part.outcomes  # the rows not posted
    seqs = outcomes.column("seq").to_pylist()
    kinds = outcomes.column("outcome").to_pylist()
    reasons = outcomes.column("reason").to_pylist()
    for seq, kind, reason in zip(seqs, kinds, reasons):
        ev = items[seq - 1]
        if kind == "duplicate":
            result.duplicates.append(ev.event_id)
        elif kind == "rejected":  # a repeat of a rejected id: its first reason, as the bulk path says it
            result.rejected.append(Rejection(ev.event_id, reason, ev.row))
        else:
            book.append(seq - 1)
    return book


def _in_lake(data_dir: Path, refused: list[Rejection], result: PostResult) -> list[str]:
    """Of the rows the time rules refuse, the ids the lake holds are duplicates (as their SQL rows would be, which
    :func:`~weixi.ledger.posting.screen` finds); the others go to ``result.rejected``. Returns the duplicates."""
    files = lake.file_uris(accruals_dir(data_dir))
    held: set[str] = set()
    if refused and files:
        con = duck.connect()
        try:
            con.register("post_refused", pa.table({"event_id": pa.array([r.event_id for r in refused], pa.string())}))
            held = {
                r[0]
                for r in con.execute(
                    f"SELECT event_id FROM read_parquet({files!r}) WHERE event_id IN (SELECT event_id FROM post_refused)"
                ).fetchall()
            }
        finally:
            con.close()
    result.rejected += [r for r in refused if r.event_id not in held]
    return [r.event_id for r in refused if r.event_id in held]


def _next_key(engine: Engine, data_dir: Path) -> tuple[str, int]:
    """The next post's partition key and number, once every earlier post is applied."""
    accrual_lake.roll_forward_posts(engine, data_dir)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        keys = [r[0] for r in execute(conn, "SELECT month FROM lake_months")]
    last_close = max((k for k in keys if "+" not in k), default="")
    numbers = [accrual_lake.post_number(k) for k in keys if "+" in k]
    n = 1 + max([*numbers, lake.app_version(accruals_dir(data_dir), accrual_lake.POST_APP) or 0])
    return accrual_lake.post_key(last_close, n), n


__all__ = ["post_file_events"]
