"""The bulk earning path: a batch of plain bills and recharges posted set-based, with the Book's exact result.

The per-event :class:`~weixi.ledger.book.Book` handles every kind of event and every rule. Most of a telecom
operator's volume, though, is monthly bills and recharges that only earn: points from spend and recharge
rules, a tier multiplier on top, a lot per event, nothing to check against limits, caps, debts or referrals.
For such a batch this module computes the very rows the Book would write — the ``events`` row with
``earned``, one lot per earning event (``lot_id`` = event id), one ``earn`` journal entry per rule
contribution (tier extras their own entry, with the multiplier rule's id and the Book's note), the members'
balance, tier, ``first_spend_on`` and ``paid`` — in one tight loop over the events, and writes them with a
handful of ``executemany`` statements. Duplicates (already posted, earlier in the batch) and repeats of
rejected event ids are found with one query each.

Points are computed in integers: an amount is in fen and every ``Decimal`` rate of the plan is an exact
fraction (``Decimal.as_integer_ratio``), so ``floor``, ``ceil`` and ``half_up`` of a non-negative amount are
integer divisions and agree with :mod:`weixi.ledger.earning` (which rounds a ``Decimal`` quotient).

Whether a batch may take this path is decided twice: :func:`can_bulk` from the plan and the events alone,
then, inside the batch's transaction, from the stored state (a member who owes points, a referral waiting for
a member to pay). When either says no, the batch goes through the Book as before.

``post_events(..., path="bulk")`` is also the idempotent bulk accrual the monthly close needs: event ids are
the bills' source ids, and posting the same file again only reports duplicates.
"""

from __future__ import annotations

import gc
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable

from sqlalchemy import Connection

from weixi.adapters import bulk_sql
from weixi.ledger.events import Event, Rejection
from weixi.ledger.expiry import expires_on
from weixi.ledger.fold import fold
from weixi.plans.model import EarnRule, MultiplierRule, Plan, RechargeRule, Rounding, SpendRule, Window

BULK_TYPES = ("bill", "recharge")
BULK_BATCH = 250_000  # events per transaction that suits the bulk path (measured: 100k 42 s, 250k 37 s per 1M)
AUTO_MIN = 1_000  # path="auto" leaves smaller batches (API calls, tests) to the Book: bulk pays off on files
MAX_FEN = 10**15  # beyond this the Book's 28-digit Decimal arithmetic is not exact: leave it to the Book
MAX_DEN = 10**9  # likewise for rates written with more decimals than that

FLOOR, CEIL, HALF_UP = 0, 1, 2
_ROUND = {Rounding.FLOOR: FLOOR, Rounding.CEIL: CEIL, Rounding.HALF_UP: HALF_UP}


class BulkNotApplicable(Exception):
    """``path="bulk"`` was asked for a batch that needs the Book."""


# --- the plan, compiled for integer arithmetic ---------------------------------------------------------------


def _ratio(value: Decimal) -> tuple[int, int]:
    return Decimal(value).as_integer_ratio()


def _round(num: int, den: int, mode: int) -> int:
    """``num / den`` rounded (``den > 0``, ``num >= 0``) as :func:`weixi.ledger.earning.round_points` rounds."""
    if mode == FLOOR:
        return num // den
    if mode == CEIL:
        return -(-num // den)
    return (2 * num + den) // (2 * den)


def yuan_text(fen: int) -> str:
    """``str(Decimal(fen) / 100)`` for ``fen >= 0``, as the Book's notes print an amount: 128.5, 100, 0.05."""
    whole, cents = divmod(fen, 100)
    if not cents:
        return str(whole)
    if cents % 10 == 0:
        return f"{whole}.{cents // 10}"
    return f"{whole}.{cents:02d}"


def base_note(rule: "_Base", fen: int) -> str:
    """The note of a base rule's earn entry for an event of ``fen`` (the Book's text: ``128.5 yuan x 1/1 (floor)``,
    ``3 full blocks of 50 yuan x 10``)."""
    if rule.spend:
        return f"{yuan_text(fen)} yuan x {rule.note}"
    return f"{fen * rule.num // rule.den} full blocks of {rule.note}"


def base_rules(c: "Compiled") -> dict[str, "_Base"]:
    """The compiled plan's base rules by id (what :func:`base_note` takes)."""
    return {r.id: r for rules in c.rules.values() for r in rules}


@dataclass(frozen=True)
class _Base:
    """A spend or recharge rule: points = round(amount_fen * num / den) (spend) or full blocks * points."""

    id: str
    spend: bool
    num: int
    den: int
    mode: int
    window: Window | None  # None: always open
    service_types: tuple  # spend only; empty = any
    block_points: int  # recharge only
    note: str  # what follows the amount in the note


@dataclass(frozen=True)
class _TierMult:
    id: str
    window: Window | None
    mode: int
    applies_to: frozenset | None  # None: every spend/recharge rule


@dataclass
class Compiled:
    rules: dict[str, tuple[_Base, ...]]  # event type -> base rules in plan order
    mults: tuple[_TierMult, ...]
    # tier id -> (num, den, id, str(multiplier)) with multiplier - 1 = num / den; None: multiplier 1 or below
    # (the extra is never positive)
    tiers: dict[str, tuple | None]
    default: tuple | None
    known_tiers: frozenset | None  # None: the plan has no tiers, any tier attr is taken as is
    blockers: tuple[MultiplierRule, ...]  # non-tier multipliers on these rules: bulk only outside their windows
    ok: bool  # rules, caps and registration allow bulk at all


def _open(window: Window) -> Window | None:
    return None if window.start is None and window.end is None else window


def _compile_base(rule: EarnRule) -> _Base | None:
    common = dict(id=rule.id, window=_open(rule.window), mode=_ROUND[rule.rounding])
    if type(rule) is SpendRule:
        pn, pd = _ratio(rule.points)
        yn, yd = _ratio(rule.per_yuan)
        if yn <= 0 or pn < 0:
            return None
        # yuan * points / per_yuan = fen / 100 * (pn / pd) / (yn / yd)
        num, den = pn * yd, 100 * pd * yn
        if den > MAX_DEN * 100:
            return None
        return _Base(
            spend=True,
            num=num,
            den=den,
            service_types=tuple(rule.service_types),
            block_points=0,
            note=f"{rule.points}/{rule.per_yuan} ({rule.rounding.value})",
            **common,
        )
    if type(rule) is RechargeRule:
        bn, bd = _ratio(rule.block_yuan)
        if bn <= 0 or bd > MAX_DEN:
            return None
        # full blocks = floor(fen / 100 / (bn / bd))
        return _Base(
            spend=False,
            num=bd,
            den=100 * bn,
            service_types=(),
            block_points=rule.points,
            note=f"{rule.block_yuan} yuan x {rule.points}",
            **common,
        )
    return None


_CACHE: dict[int, tuple[Plan, Compiled]] = {}


def compile_plan(plan: Plan) -> Compiled:
    hit = _CACHE.get(id(plan))
    if hit is not None and hit[0] is plan:
        return hit[1]
    compiled = _compile(plan)
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[id(plan)] = (plan, compiled)
    return compiled


def _compile(plan: Plan) -> Compiled:
    ok = not plan.registration_required
    rules: dict[str, tuple[_Base, ...]] = {}
    base_ids: set[str] = set()
    for etype in BULK_TYPES:
        compiled = []
        for rule in plan.rules_for(etype):
            base = _compile_base(rule)
            if (
                base is None
                or rule.limit_per_day is not None
                or rule.limit_per_month is not None
                or rule.limit_ever is not None
            ):
                ok = False
                continue
            compiled.append(base)
            base_ids.add(rule.id)
        rules[etype] = tuple(compiled)
    mults, blockers = [], []
    for mult in plan.multipliers():
        targets = set(mult.applies_to) & base_ids if mult.applies_to else base_ids
        if mult.kind == "tier":
            mults.append(
                _TierMult(
                    mult.id,
                    _open(mult.window),
                    _ROUND[mult.rounding],
                    frozenset(mult.applies_to) if mult.applies_to else None,
                )
            )
        elif targets:
            blockers.append(mult)
    tiers: dict[str, tuple | None] = {}
    for tier in plan.tiers:
        n, d = _ratio(tier.multiplier - 1)
        if d > MAX_DEN:
            ok = False
        tiers[tier.id] = (n, d, tier.id, str(tier.multiplier)) if tier.multiplier > 1 else None
    default = plan.default_tier()
    covered = base_ids | {m.id for m in mults}
    for cap in plan.caps:
        if not cap.rules or set(cap.rules) & covered:
            ok = False
    return Compiled(
        rules,
        tuple(mults),
        tiers,
        tiers.get(default.id) if default else None,
        frozenset(t.id for t in plan.tiers) if plan.tiers else None,
        tuple(blockers),
        ok,
    )


# --- the decision ----------------------------------------------------------------------------------------------


def fen_limit(plan: Plan) -> int:
    """Amounts from this many fen up are left to the Book's path (which rejects those over the plan's max_amount)."""
    return MAX_FEN if plan.max_amount_fen is None else min(MAX_FEN, plan.max_amount_fen + 1)


def can_bulk(plan: Plan, events: Iterable[Event]) -> bool:
    """Whether the batch's result depends on nothing but the plan's spend/recharge/tier rules and the members'
    balances (see the module doc). The stored state is checked later, in the transaction (:func:`post_batch`)."""
    c = compile_plan(plan)
    if not c.ok:
        return False
    days: set[date] = set()
    limit = fen_limit(plan)
    for ev in events:
        if not isinstance(ev, Event) or ev.type not in BULK_TYPES:
            return False
        fen = ev.amount_fen
        if fen is not None and not 0 <= fen < limit:
            return False
        if ev.attrs and c.known_tiers is not None:
            tier = ev.attrs.get("tier")
            if tier is not None and str(tier) not in c.known_tiers:
                return False  # the Book rejects it
        days.add(ev.day)
    for mult in c.blockers:  # first-purchase and campaign multipliers need the Book while open
        if any(mult.window.contains(d) for d in days):
            return False
    return True


# --- the path --------------------------------------------------------------------------------------------------


def post_batch(conn: Connection, plan: Plan, version: int | None, events: list[Event], force: bool = False):
    """Post ``events`` set-based in the caller's transaction: ``(posted, duplicates, rejected, version)``, the
    shape of ``posting.post_batch``'s result, or None when the batch is left to the Book (``force`` raises
    instead). Without ``force`` a batch smaller than :data:`AUTO_MIN` is left to the Book."""
    if not force and len(events) < AUTO_MIN:
        return None
    if not can_bulk(plan, events):
        if force:
            raise BulkNotApplicable("this batch needs the per-event Book (see weixi.ledger.bulk.can_bulk)")
        return None
    c = compile_plan(plan)
    bulk_sql.tune(conn)
    fold(conn, dict.fromkeys(e.member_id for e in events))  # an id the lake holds is then a duplicate, as in SQL
    ids = [e.event_id for e in events]
    seen = bulk_sql.existing_event_ids(conn, ids)
    rejected = bulk_sql.rejected_event_ids(conn, ids)
    member_ids = list(dict.fromkeys(e.member_id for e in events))
    stored = bulk_sql.load_members(conn, member_ids)
    if (
        any(m[3] > 0 for m in stored.values())
        or bulk_sql.owing_members(conn, member_ids)
        or bulk_sql.pending_referees(conn, member_ids)
    ):
        if force:
            raise BulkNotApplicable("a member of this batch owes points or has a pending referral: it needs the Book")
        return None
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived tuples: the cyclic collector would walk the whole heap again and again
    try:
        rows = _compute(
            c, plan, version, events, seen, rejected, stored, bulk_sql.day_value(conn), bulk_sql.stamp_value(conn)
        )
        event_rows, lot_rows, journal_rows, new_members, changed, duplicates, rejections = rows
        bulk_sql.write(conn, event_rows, lot_rows, journal_rows, new_members, changed)
    finally:
        if collecting:
            gc.enable()
    return len(event_rows), duplicates, rejections, version


def _compute(
    c: Compiled,
    plan: Plan,
    version,
    events: list[Event],
    seen: set[str],
    rejected: dict[str, str],
    stored: dict[str, tuple],
    day_value,
    stamp,
):
    """The Book's arithmetic for bills and recharges, event by event in the given order.

    Written for speed: what depends on the day only (open rules and multipliers, the day's and the expiry's text)
    is worked out once per distinct day, the JSON of repeated attrs and the text of repeated timestamps once each.
    """
    event_rows: list[tuple] = []
    lot_rows: list[tuple] = []
    journal_rows: list[tuple] = []
    duplicates: list[str] = []
    rejections: list[Rejection] = []
    # member_id -> [tier, first_spend_on, balance, new, first_seen_on, posted to]; members whose events of the
    # batch are all duplicates or rejected are left alone, as the Book leaves them
    members: dict[str, list] = {m: [s[0], s[1], s[2], False, None, False] for m, s in stored.items()}
    seen = set(seen)
    tiers, default = c.tiers, c.default
    by_day: dict[date, tuple] = {}
    attrs_json: dict[str, str] = {}
    stamps: dict[tuple, object] = {}  # (moment, its UTC offset) -> what the driver is given
    dumps = json.dumps
    add_event, add_lot, add_entry = event_rows.append, lot_rows.append, journal_rows.append
    members_get = members.get
    for ev in events:
        eid = ev.event_id
        if eid in seen:
            duplicates.append(eid)
            continue
        if eid in rejected:
            rejections.append(Rejection(eid, rejected[eid], ev.row))
            continue
        seen.add(eid)
        mid, day, attrs, fen = ev.member_id, ev.day, ev.attrs, ev.amount_fen or 0
        st = members_get(mid)
        if st is None:
            st = members[mid] = [None, None, 0, True, day, True]
        else:
            st[5] = True
        if st[1] is None:
            st[1] = day
        info = by_day.get(day)
        if info is None:
            info = by_day[day] = _day_info(c, plan, day, day_value)
        d, exp, open_rules, mults = info
        if attrs:
            tier_attr = attrs.get("tier")
            if tier_attr is not None:
                st[0] = str(tier_attr)
            # keyed by repr, which tells the values' types apart (1, True and 1.0 are equal dict keys but other
            # JSON) and takes any value (lists, objects)
            key = repr(attrs)
            text = attrs_json.get(key)
            if text is None:
                text = attrs_json[key] = dumps(attrs, ensure_ascii=False, sort_keys=True)
        else:
            text = None
        base = None
        yt = None
        for rid, spend, num, den, mode, stypes, block_points, note in open_rules[ev.type]:
            if spend:
                if stypes and attrs.get("service_type") not in stypes:
                    continue
                n = fen * num
                pts = n // den if mode == FLOOR else (-(-n // den) if mode == CEIL else (2 * n + den) // (2 * den))
                if pts > 0:
                    if yt is None:
                        whole, cents = divmod(fen, 100)
                        yt = (
                            str(whole)
                            if not cents
                            else (f"{whole}.{cents // 10}" if cents % 10 == 0 else f"{whole}.{cents:02d}")
                        )
                    entry = (rid, pts, f"{yt} yuan x {note}")
                else:
                    continue
            else:
                blocks = fen * num // den
                pts = blocks * block_points
                if pts > 0:
                    entry = (rid, pts, f"{blocks} full blocks of {note}")
                else:
                    continue
            if base is None:
                base = [entry]
            else:
                base.append(entry)
        earned = 0
        if base is not None:
            for rid, pts, note in base:
                earned += pts
                add_entry((mid, d, "earn", pts, 0, eid, eid, rid, note, version))
            if mults:
                tier = tiers.get(st[0], default) if st[0] is not None else default
                if tier is not None:
                    tnum, tden, tid, ttext = tier
                    for mult_id, mode, applies_to in mults:
                        for rid, pts, _ in base:
                            if applies_to is not None and rid not in applies_to:
                                continue
                            n = pts * tnum
                            extra = (
                                n // tden
                                if mode == FLOOR
                                else (-(-n // tden) if mode == CEIL else (2 * n + tden) // (2 * tden))
                            )
                            if extra > 0:
                                earned += extra
                                add_entry(
                                    (
                                        mid,
                                        d,
                                        "earn",
                                        extra,
                                        0,
                                        eid,
                                        eid,
                                        mult_id,
                                        f"tier {tid}: {pts} x ({ttext} - 1)",
                                        version,
                                    )
                                )
            add_lot((eid, mid, d, exp, earned, earned, False, version))
            st[2] += earned
        occurred = ev.occurred_at
        # equal instants at other UTC offsets are equal datetimes but other texts: keyed by the offset too
        at = (occurred, occurred.utcoffset())
        ts = stamps.get(at)
        if ts is None:
            ts = stamps[at] = stamp(occurred)
        add_event((eid, mid, ev.type, ts, d, ev.amount_fen, ev.points, ev.ref, text, earned, version))
    new_members, changed = [], []
    for mid, st in members.items():
        if st[3]:
            new_members.append((mid, st[0], day_value(st[1]), True, st[2], day_value(st[4])))
        elif st[5]:  # paid, first_spend_on and balance change with every posted bill or recharge
            changed.append((st[0], day_value(st[1]), True, st[2], mid))
    return event_rows, lot_rows, journal_rows, new_members, changed, duplicates, rejections


def _day_info(c: Compiled, plan: Plan, day: date, day_value) -> tuple:
    """(day text, expiry text, {event type: open base rules as tuples}, open tier multipliers as tuples)."""
    rules = {
        etype: tuple(
            (r.id, r.spend, r.num, r.den, r.mode, r.service_types, r.block_points, r.note)
            for r in rules
            if r.window is None or r.window.contains(day)
        )
        for etype, rules in c.rules.items()
    }
    mults = tuple((m.id, m.mode, m.applies_to) for m in c.mults if m.window is None or m.window.contains(day))
    return day_value(day), day_value(expires_on(plan.expiry, day)), rules, mults
