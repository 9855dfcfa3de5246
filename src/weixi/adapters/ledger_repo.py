"""Reading and writing the ledger's state for a batch of events (hand-written SQL, bulk executemany)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Iterable

from sqlalchemy import Connection

from weixi.adapters.sql import CHUNK, as_bool, as_date, execute, executemany, is_pg, select_in
from weixi.errors import Problem
from weixi.ledger.book import BookState, Changes
from weixi.ledger.lots import Lot
from weixi.ledger.requests import stored_fingerprint
from weixi.ledger.state import MemberState, Referral, RewardStock, SourceEvent

MEMBER_COLS = (
    "member_id, tier, signed_up_on, first_spend_on, paid, last_checkin_on, streak, balance, debt, first_seen_on"
)
LOT_COLS = "lot_id, member_id, earned_on, expires_on, points, remaining, plan_version, deficit"


def _member(row: tuple) -> MemberState:
    return MemberState(
        row[0],
        row[1],
        as_date(row[2]),
        as_date(row[3]),
        as_bool(row[4]),
        as_date(row[5]),
        row[6],
        row[7],
        row[8],
        as_date(row[9]),
    )


def lot_from_row(row: tuple) -> Lot:
    return Lot(row[0], row[1], as_date(row[2]), as_date(row[3]), row[4], row[5], row[6], as_bool(row[7]))


def existing_event_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    return {r[0] for r in select_in(conn, "SELECT event_id FROM events WHERE event_id {in}", ids)}


def stored_problem(reason: str, code: str | None, params: str | None) -> Problem:
    """Why the ledger rejected an event, as stored: its code and params (rows from before codes were stored:
    ``event_rejected`` with the sentence)."""
    if code is None:
        return Problem("event_rejected", {"reason": reason})
    return Problem(code, json.loads(params) if params else {})


def rejected_event_ids(conn: Connection, ids: Iterable[str]) -> dict[str, Problem]:
    return {
        r[0]: stored_problem(*r[1:])
        for r in select_in(conn, "SELECT event_id, reason, code, params FROM rejections WHERE event_id {in}", ids)
    }


def seen_and_rejected(conn: Connection, ids: Iterable[str]) -> tuple[set[str], dict[str, Problem]]:
    """:func:`existing_event_ids` and :func:`rejected_event_ids` in one statement."""
    ids = list(dict.fromkeys(ids))
    seen: set[str] = set()
    rejected: dict[str, Problem] = {}
    if not ids:
        return seen, rejected
    sql = (
        "SELECT 0, event_id, NULL, NULL, NULL FROM events WHERE event_id {in} "
        "UNION ALL SELECT 1, event_id, reason, code, params FROM rejections WHERE event_id {in}"
    )
    if is_pg(conn):
        rows = execute(conn, sql.replace("{in}", "= ANY(?)"), [ids, ids])
    else:
        rows = []
        for start in range(0, len(ids), CHUNK // 2):
            chunk = ids[start : start + CHUNK // 2]
            marks = f"IN ({','.join('?' * len(chunk))})"
            rows += execute(conn, sql.replace("{in}", marks), [*chunk, *chunk])
    for which, event_id, reason, code, params in rows:
        if which:
            rejected[event_id] = stored_problem(reason, code, params)
        else:
            seen.add(event_id)
    return seen, rejected


def request_keys(conn: Connection, event_ids: Iterable[str]) -> dict[str, tuple]:
    """What the keyed requests stored under ``event_ids`` (posted or rejected) asked for, as
    :func:`weixi.ledger.requests.stored_fingerprint`; ids stored without a key are left out."""
    out: dict[str, tuple] = {}
    event_ids = list(event_ids)
    for table in ("events", "rejections"):
        for event_id, member_id, type_, ref, attrs in select_in(
            conn, f"SELECT event_id, member_id, type, ref, attrs FROM {table} WHERE event_id {{in}}", event_ids
        ):
            key = stored_fingerprint(member_id, type_, ref, attrs)
            if key is not None:
                out[event_id] = key
    return out


def deficit_members(conn: Connection, member_ids: Iterable[str]) -> set[str]:
    """Those of ``member_ids`` with a deficit lot still negative (found through the members' lots index)."""
    return {
        r[0]
        for r in select_in(
            conn,
            "SELECT DISTINCT member_id FROM lots WHERE member_id {in} AND deficit = ? AND remaining < 0",
            member_ids,
            [True],
        )
    }


def load_members(conn: Connection, ids: Iterable[str], lock: bool = False) -> dict[str, MemberState]:
    sql = f"SELECT {MEMBER_COLS} FROM members WHERE member_id {{in}}"
    if lock and is_pg(conn):
        sql += " ORDER BY member_id FOR UPDATE"
    return {r[0]: _member(r) for r in select_in(conn, sql, ids)}


def load_lots(conn: Connection, member_ids: Iterable[str], lock: bool = False) -> dict[str, list[Lot]]:
    """The members' lots with points left (or owed), and each one's deficit lot even when paid back to zero: the
    Book owes a new shortfall to that lot again (its id is the member's), never to a second one."""
    out: dict[str, list[Lot]] = {m: [] for m in member_ids}
    sql = f"SELECT {LOT_COLS} FROM lots WHERE member_id {{in}} AND (remaining <> 0 OR deficit)"
    if lock and is_pg(conn):
        sql += " FOR UPDATE"
    for r in select_in(conn, sql, list(out)):
        out[r[1]].append(lot_from_row(r))
    return out


def load_counters(
    conn: Connection, member_ids: Iterable[str], periods: Iterable[str]
) -> dict[tuple[str, str, str], int]:
    periods = sorted(set(periods))
    marks = ",".join("?" * len(periods))
    rows = select_in(
        conn,
        f"SELECT member_id, key, period, value FROM counters WHERE member_id {{in}} AND period IN ({marks})",
        member_ids,
        periods,
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def load_sources(conn: Connection, event_ids: Iterable[str]) -> dict[str, SourceEvent]:
    rows = select_in(
        conn, "SELECT event_id, member_id, type, day, amount_fen, earned FROM events WHERE event_id {in}", event_ids
    )
    return {r[0]: SourceEvent(r[0], r[1], r[2], as_date(r[3]), r[4], r[5]) for r in rows}


def load_referrals(conn: Connection, referee_ids: Iterable[str]) -> dict[str, Referral]:
    rows = select_in(
        conn,
        "SELECT referee_id, referrer_id, event_id, day, rule_id, awarded_on FROM referrals WHERE referee_id {in}",
        referee_ids,
    )
    return {r[0]: Referral(r[0], r[1], r[2], as_date(r[3]), r[4], as_date(r[5])) for r in rows}


def load_stock(conn: Connection, reward_ids: Iterable[str]) -> dict[str, RewardStock]:
    sql = "SELECT reward_id, stock_total, issued FROM rewards WHERE reward_id {in}"
    if is_pg(conn):
        sql += " ORDER BY reward_id FOR UPDATE"
    return {r[0]: RewardStock(r[0], r[1], r[2]) for r in select_in(conn, sql, reward_ids)}


def write_changes(
    conn: Connection, state: BookState, changes: Changes, plan_version: int | None, earned: dict[str, int]
) -> None:
    executemany(
        conn,
        "INSERT INTO events (event_id, member_id, type, occurred_at, day, amount_fen, points, ref, attrs, "
        "earned, plan_version) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                e.event_id,
                e.member_id,
                e.type,
                e.occurred_at,
                e.day,
                e.amount_fen,
                e.points,
                e.ref,
                json.dumps(e.attrs, ensure_ascii=False, sort_keys=True) if e.attrs else None,
                earned.get(e.event_id, 0),
                plan_version,
            )
            for e in changes.events
        ],
    )
    executemany(
        conn,
        "INSERT INTO lots (lot_id, member_id, earned_on, expires_on, points, remaining, deficit, plan_version) "
        "VALUES (?,?,?,?,?,?,?,?)",
        [
            (l.id, l.member_id, l.earned_on, l.expires_on, l.points, l.remaining, l.deficit, l.plan_version)
            for l in changes.new_lots
        ],
    )
    executemany(
        conn,
        "UPDATE lots SET remaining = ? WHERE lot_id = ?",
        [(l.remaining, l.id) for l in changes.touched_lots.values()],
    )
    executemany(
        conn,
        "INSERT INTO journal (member_id, day, kind, points, debt_delta, lot_id, event_id, rule_id, note, "
        "plan_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                j.member_id,
                j.day,
                j.kind,
                j.points,
                j.debt_delta,
                j.lot_id,
                j.event_id,
                j.rule_id,
                j.note or None,
                plan_version,
            )
            for j in changes.entries
        ],
    )
    write_members(conn, state.members.values())
    executemany(
        conn,
        "INSERT INTO counters (member_id, key, period, value) VALUES (?,?,?,?) "
        "ON CONFLICT (member_id, key, period) DO UPDATE SET value = counters.value + excluded.value",
        [(k[0], k[1], k[2], v) for k, v in changes.counters.items() if v],
    )
    dirty_refs = [r for r in state.referrals.values() if r.dirty]
    executemany(
        conn,
        "INSERT INTO referrals (referee_id, referrer_id, event_id, day, rule_id, awarded_on) VALUES (?,?,?,?,?,?) "
        "ON CONFLICT (referee_id) DO UPDATE SET awarded_on = excluded.awarded_on",
        [(r.referee_id, r.referrer_id, r.event_id, r.day, r.rule_id, r.awarded_on) for r in dirty_refs],
    )
    executemany(
        conn,
        "UPDATE rewards SET issued = ? WHERE reward_id = ?",
        [(s.issued, s.reward_id) for s in state.stock.values() if s.dirty],
    )
    executemany(
        conn,
        "INSERT INTO redemptions (redemption_id, member_id, reward_id, qty, points, day, status, details, "
        "request_id, plan_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                r.id,
                r.member_id,
                r.reward_id,
                r.qty,
                r.points,
                r.day,
                r.status,
                json.dumps(r.details, ensure_ascii=False, sort_keys=True),
                r.request_id,
                plan_version,
            )
            for r in changes.redemptions
        ],
    )
    executemany(
        conn, "INSERT INTO coupons (code, reward_id, member_id, redemption_id) VALUES (?,?,?,?)", changes.coupons
    )
    executemany(
        conn,
        "INSERT INTO rejections (event_id, member_id, type, day, reason, plan_version, ref, attrs, "
        "code, params) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                e.event_id,
                e.member_id,
                e.type,
                e.day,
                err.reason,
                plan_version,
                e.ref,
                json.dumps(e.attrs, ensure_ascii=False, sort_keys=True) if e.attrs else None,
                err.code,
                json.dumps(err.params, ensure_ascii=False, sort_keys=True),
            )
            for e, err in changes.rejections
        ],
    )
    for s in state.stock.values():
        s.dirty = False
    for r in dirty_refs:
        r.dirty = False


def write_members(conn: Connection, members: Iterable[MemberState]) -> None:
    new, changed = [], []
    for m in members:
        if not (m.dirty or m.new):
            continue
        row = (
            m.tier,
            m.signed_up_on,
            m.first_spend_on,
            m.paid,
            m.last_checkin_on,
            m.streak,
            m.balance,
            m.debt,
            m.first_seen_on,
            m.member_id,
        )
        (new if m.new else changed).append(row)
        m.new = m.dirty = False
    executemany(
        conn,
        "INSERT INTO members (tier, signed_up_on, first_spend_on, paid, last_checkin_on, streak, balance, "
        "debt, first_seen_on, member_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
        new,
    )
    executemany(
        conn,
        "UPDATE members SET tier=?, signed_up_on=?, first_spend_on=?, paid=?, last_checkin_on=?, streak=?, "
        "balance=?, debt=?, first_seen_on=? WHERE member_id=?",
        changed,
    )


def load_redemption(conn: Connection, redemption_id: str) -> tuple | None:
    rows = execute(
        conn,
        "SELECT redemption_id, member_id, reward_id, qty, points, day, status, details, request_id "
        "FROM redemptions WHERE redemption_id = ?",
        [redemption_id],
    )
    return rows[0] if rows else None


REDEMPTION_KEYS = ("redemption_id", "member_id", "reward_id", "qty", "points", "day", "status", "details", "request_id")


def load_redemptions(conn: Connection, redemption_ids: Iterable[str]) -> dict[str, dict]:
    """Redemption rows by id as dicts of :data:`REDEMPTION_KEYS` (details parsed, day as ``YYYY-MM-DD``)."""
    out = {}
    for row in select_in(
        conn, f"SELECT {', '.join(REDEMPTION_KEYS)} FROM redemptions WHERE redemption_id {{in}}", redemption_ids
    ):
        r = dict(zip(REDEMPTION_KEYS, row))
        r["details"] = json.loads(r["details"])
        r["day"] = str(r["day"])[:10]
        r["qty"], r["points"] = int(r["qty"]), int(r["points"])
        out[r["redemption_id"]] = r
    return out


def closed_through(conn: Connection) -> date | None:
    """The last day of the last month the monthly close has closed in this ledger (None: none closed)."""
    rows = execute(conn, "SELECT max(month) FROM closed_months")
    if not rows or not rows[0][0]:
        return None
    year, month = int(rows[0][0][:4]), int(rows[0][0][5:7])
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def mark_closed(conn: Connection, month: str, at) -> None:
    """Record that ``month`` is closed: from now on no event may be posted into it or any month before."""
    execute(
        conn, "INSERT INTO closed_months (month, closed_at) VALUES (?, ?) ON CONFLICT (month) DO NOTHING", [month, at]
    )


def key_holders(conn, request_id: str, member_id: str) -> list[str]:
    """Who (the ``by`` of the redeem event) used ``request_id`` for a member other than ``member_id``."""
    rows = execute(
        conn,
        "SELECT e.attrs FROM redemptions r JOIN events e ON e.event_id = r.redemption_id "
        "WHERE r.request_id = ? AND r.member_id <> ?",
        [request_id, member_id],
    )
    out = []
    for (attrs,) in rows:
        data = json.loads(attrs) if attrs else {}
        if isinstance(data, dict) and data.get("by"):
            out.append(str(data["by"]))
    return out
