"""``weixi events post`` into the lake (``WEIXI_LEDGER_STORE=lake``): a file's plain bills and recharges take the
close's batch path instead of an event, a lot and journal rows per bill in the SQL ledger.

The rows go through the very statements the close runs (:func:`weixi.close.accrual_lake.post` over
:mod:`weixi.close.accrual_sql`), as a partition of the ``accruals`` Delta table of their own keyed
``<last closed month>+<n>`` (:func:`~weixi.close.accrual_lake.post_key`) and committed with the application
transaction ``(weixi-post, n)``; the new members, first spend days and posted tiers and the ``lake_months``
watermark follow in one SQL transaction (:mod:`weixi.close.lake_apply`; no SQL balance changes), and the fold brings a member's rows into the SQL ledger when the member is first touched, as for a
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
from datetime import timezone
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable

import pyarrow as pa
from sqlalchemy import Engine

from weixi import settings
from weixi.adapters import arrow_columns, duck, lake
from weixi.adapters.sql import execute
from weixi.close import accrual_lake, post_read
from weixi.ledger import bulk
from weixi.ledger.events import Event, Rejection
from weixi.ledger.fold import accruals_dir
from weixi.ledger.posting import PostResult, post_events, screen
from weixi.plans.model import Plan
from weixi.plans.service import active_plan

SOURCE_SQL = "SELECT * FROM post_src"
# the columns of post_src as DuckDB reads them: occurred_text and attrs_text may come as dictionary arrays of text
# (see _texts), and the schema's metadata may say no id is in the rows twice (post_read.distinct)
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
    cols = _Columns(items)
    lakeable, book_members, book = _split(plan, items, cols)
    days = _days(lakeable, cols)
    if len(lakeable) < bulk.AUTO_MIN or not accrual_lake.applicable(plan, days, 0):
        return post_events(engine, items, time_rules=True)
    if book_members:
        candidates = [i for i in lakeable if cols.members[i] not in book_members]
        book = sorted(book + [i for i in lakeable if cols.members[i] in book_members])  # their bills too, in order
    else:
        candidates = lakeable
    result = PostResult(plan_version=version)
    with engine.connect() as conn, conn.begin():
        keep, refused = screen(
            conn, plan, items if len(candidates) == len(items) else [items[i] for i in candidates], True
        )
    result.duplicates += _in_lake(data, refused, result)
    if refused:
        kept = {id(ev) for ev in keep}
        rows = [i for i in candidates if id(items[i]) in kept]
    else:
        rows = candidates
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
                _days(rows, cols) if len(rows) != len(lakeable) else days,
                app=accrual_lake.POST_APP,
                app_version=n,
                post_rows=_table(rows, cols),
            )
        book += _merge(part, items, result)
    if book:
        result.add(post_events(engine, [items[i] for i in sorted(book)], time_rules=True))
    result.rejected.sort(key=lambda r: r.row or 0)
    return result


_NOT_AN_EVENT = SimpleNamespace(**{f: None for f in Event.__dataclass_fields__})  # a rejection's place in the columns


class _Columns:
    """A file's rows a column per field of :class:`Event`, taken once (a list comprehension per field, not a loop
    over the events), None at the place of a rejection; the attrs' ``service_type`` and ``tier`` (None: no attrs)."""

    def __init__(self, items: list):
        evs = (
            items if set(map(type, items)) == {Event} else [x if isinstance(x, Event) else _NOT_AN_EVENT for x in items]
        )
        self.ids = [ev.event_id for ev in evs]
        self.members = [ev.member_id for ev in evs]
        self.types = [ev.type for ev in evs]
        self.fens = [ev.amount_fen for ev in evs]
        self.days = [ev.day for ev in evs]
        self.moments = [ev.occurred_at for ev in evs]
        self.attrs = [ev.attrs for ev in evs]
        self.points = [ev.points for ev in evs]
        self.refs = [ev.ref for ev in evs]
        self.services = [a.get("service_type") if a else None for a in self.attrs]
        self.tiers = [a.get("tier") if a else None for a in self.attrs]
        self.repeated: set[str] = set()  # the ids in the file twice or more (set by _shared_ids)


def _days(rows: list[int], cols: _Columns) -> list:
    return sorted(set(cols.days) if len(rows) == len(cols.days) else {cols.days[i] for i in rows})


def _split(plan: Plan, items: list, cols: _Columns) -> tuple[list[int], set[str], list[int]]:
    """The positions of the bills and recharges the statements can take; the members whose events must all go
    through ``post_events`` (see the module doc); the positions of the other rows (rejections from reading too).

    Each condition is checked over its column at once; the rows that fail one (few: other event types, a bill with
    its own points, an odd attr) are then looked at one by one."""
    c = bulk.compile_plan(plan)
    limit = bulk.fen_limit(plan)
    known = c.known_tiers
    n = len(items)
    if not n:
        return [], set(), []
    odd: set[int] = set()  # the rows the statements cannot take
    if not set(cols.types) <= set(bulk.BULK_TYPES):
        odd.update(i for i, t in enumerate(cols.types) if t not in bulk.BULK_TYPES)
    for values in (cols.points, cols.refs):  # a bill with its own points or ref (rare): the Book's
        if values.count(None) != n:
            odd.update(i for i, v in enumerate(values) if v is not None)
    fens = cols.fens
    if fens.count(None) or min(fens) < 0 or max(fens) >= limit:
        odd.update(i for i, f in enumerate(fens) if f is None or not 0 <= f < limit)
    if not _texts_in(cols.services, None):
        odd.update(i for i, v in enumerate(cols.services) if not (v is None or isinstance(v, str)))
    if not _texts_in(cols.tiers, known):
        odd.update(
            i
            for i, t in enumerate(cols.tiers)
            if not (t is None or (isinstance(t, str) and (known is None or t in known)))
        )
    book: set[str] = set()
    refunds: list[str] = []
    for i in sorted(odd):
        ev = items[i]
        if not isinstance(ev, Event):
            continue
        if ev.type == "referral" and ev.ref:
            book.add(ev.ref)  # the referee's first payment awards the referral
        elif ev.type == "refund" and ev.ref:
            refunds.append(ev.ref)
        book.add(ev.member_id)
    book.update(_shared_ids(cols))
    if refunds:  # a refunded bill's member: the first member of the refunded id in the file
        wanted, owner = set(refunds), {}
        for event_id, member in zip(cols.ids, cols.members):
            if event_id in wanted and event_id not in owner:
                owner[event_id] = member
        book.update(owner[r] for r in refunds if r in owner)
    others = sorted(odd)
    lakeable = [i for i in range(n) if i not in odd] if odd else list(range(n))
    return lakeable, book, others


def _texts_in(values: list, known) -> bool:
    """Whether every value is None or text (and one of ``known``, unless None): the distinct values looked at."""
    try:
        distinct = set(values)
    except TypeError:  # an unhashable value (a list, an object): not text
        return False
    distinct.discard(None)
    return all(isinstance(v, str) for v in distinct) and (known is None or distinct <= known)


def _shared_ids(cols: _Columns) -> set[str]:
    """The members of every event id given to two members or more in the file: the Book sees the id's outcome
    across them. A set of the ids first (no id repeated: nothing to look at, the common case). Sets
    ``cols.repeated``, the ids in the file twice or more."""
    ids = cols.ids
    distinct = set(ids)
    if len(distinct) + (ids.count(None) - (None in distinct)) == len(ids):
        return set()
    seen: set = set()
    repeated = cols.repeated = {i for i in ids if i is not None and (i in seen or seen.add(i))}
    by_id: dict[str, set] = {}
    for event_id, member in zip(ids, cols.members):
        if event_id in repeated:
            by_id.setdefault(event_id, set()).add(member)
    return {m for members in by_id.values() if len(members) > 1 for m in members}


def _table(rows: list[int], cols: _Columns) -> pa.Table:
    """The events at positions ``rows`` as ``post_src`` (:data:`POST_SCHEMA`), numbered by their place in the file;
    the moment's and the attrs' text as the bulk path writes them (each distinct value converted once). Built a
    column at a time from the lists of :class:`_Columns` by ``pa.array`` (about twice as fast as a builder; it
    imports pandas, which DuckDB's scan of the table imports anyway)."""
    every = len(rows) == len(cols.ids)  # rows are ascending positions: then every row

    def pick(values: list) -> list:
        return values if every else [values[i] for i in rows]

    columns = {
        "seq": arrow_columns.int_column(range(1, len(rows) + 1) if every else [i + 1 for i in rows]),
        "type": pick(cols.types),
        "event_id": pick(cols.ids),
        "member_id": pick(cols.members),
        "day": pick(cols.days),
        "moment": pa.nulls(len(rows), POST_SCHEMA.field("moment").type),  # the moment is in occurred_text
        "amount_fen": pick(cols.fens),
        "service_type": pick(cols.services),
        "occurred_text": _moment_texts(pick(cols.moments)),
        "attrs_text": _attrs_texts(pick(cols.attrs)),
        "tier": pick(cols.tiers),
    }
    arrays = [v if isinstance(v, pa.Array) else pa.array(v, f.type) for f in POST_SCHEMA for v in (columns[f.name],)]
    # no id twice in the rows: the statements need not group them by id (post_read.distinct)
    distinct = not cols.repeated or len(set(columns["event_id"])) == len(rows)
    schema = pa.schema([pa.field(f.name, a.type) for f, a in zip(POST_SCHEMA, arrays)])
    return pa.table(arrays, schema=schema.with_metadata({post_read.DISTINCT_IDS: b"1"}) if distinct else schema)


def _texts(codes: list, texts: list) -> pa.Array:
    """Text by its number in ``texts`` (None: null) as an Arrow dictionary array, which DuckDB reads as VARCHAR:
    an integer per row instead of a copy of its text (the few texts of a file's moments and attrs)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(texts, pa.string()))


def _moment_texts(ats: list) -> pa.Array:
    """The moments' ISO text, once per distinct moment. Equal instants at other offsets are equal datetimes but
    other texts: when the moments do not all share one fixed offset, a text is taken from the cache only at the
    offset it was made at."""
    stamps = {at: (at.utcoffset(), at.isoformat()) for at in set(ats)}
    zones = set(map(_TZINFO, ats))
    if len(zones) == 1 and type(next(iter(zones))) is timezone:  # one fixed offset: equal moments, equal texts
        numbers = {at: n for n, at in enumerate(stamps)}
        return _texts(list(map(numbers.__getitem__, ats)), [text for _, text in stamps.values()])
    texts = [hit[1] if (hit := stamps[at])[0] == at.utcoffset() else at.isoformat() for at in ats]
    return pa.array(texts, pa.string())


_TZINFO = attrgetter("tzinfo")


def _attrs_texts(attrs: list) -> pa.Array:
    """The attrs' JSON as the bulk path writes it (None: no attrs), converted once per distinct value. Keyed by
    ``repr``, which tells the values' types apart (``1``, ``True`` and ``1.0`` are equal dict keys but other JSON)
    and takes any value."""
    numbers: dict[str, int] = {}
    texts: list[str] = []

    def number(a: dict) -> int:
        key = repr(a)
        n = numbers.get(key)
        if n is None:
            n = numbers[key] = len(texts)
            texts.append(json.dumps(a, ensure_ascii=False, sort_keys=True))
        return n

    return _texts([number(a) if a else None for a in attrs], texts)


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
