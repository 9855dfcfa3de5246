"""What a member does for themselves: daily check-in, their referral code, when their points expire.

Referral codes are deterministic and need no table: ``WX`` + the member id's UTF-8 bytes in Crockford base32 +
two check symbols (the first 10 bits of the SHA-256 of the id), shown in groups of four, e.g. member
``M0000000002`` has code ``WX9M-R30C-1G60-R30C-1G68-NQ``. :func:`member_for_code` turns a code back into the member id (case,
hyphens, spaces, ``O``/``I``/``L`` look-alikes forgiven) and refuses a code whose check symbols do not match, so a
mistyped code never credits another member.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from sqlalchemy import Engine

from weixi.errors import Conflict, Where
from weixi.ledger import queries
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
PREFIX = "WX"
_LOOKALIKE = str.maketrans({"O": "0", "I": "1", "L": "1"})


class CheckinRefused(Conflict):
    """A check-in the ledger refused, with the ledger's code (``already_checked_in``, ``checkin_out_of_order``,
    ``month_closed``...) and params."""

    @classmethod
    def of(cls, rejection) -> CheckinRefused:
        problem = rejection.problem
        return cls(problem.code, Where(field=rejection.field) if rejection.field else None, **problem.params)


def _b32(data: bytes) -> str:
    bits = "".join(f"{b:08b}" for b in data)
    bits += "0" * (-len(bits) % 5)
    return "".join(ALPHABET[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))


def _check(member_id: str) -> str:
    h = hashlib.sha256(member_id.encode("utf-8")).digest()
    value = (h[0] << 2) | (h[1] >> 6)  # first 10 bits
    return ALPHABET[value >> 5] + ALPHABET[value & 31]


def referral_code(member_id: str) -> str:
    """The member's referral code, e.g. ``WX9M-R30C-1G60-R30C-1G68-NQ`` for ``M0000000002`` (see the module doc)."""
    raw = PREFIX + _b32(member_id.encode("utf-8")) + _check(member_id)
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def member_for_code(code: str) -> str | None:
    """The member id a referral code stands for, or None when it is not a valid code."""
    text = re.sub(r"[\s-]", "", (code or "").upper()).translate(_LOOKALIKE)
    if not text.startswith(PREFIX) or len(text) < len(PREFIX) + 4 or any(c not in ALPHABET for c in text[2:]):
        return None
    body, check = text[len(PREFIX) : -2], text[-2:]
    bits = "".join(f"{ALPHABET.index(c):05b}" for c in body)
    usable = len(bits) - len(bits) % 8
    if "1" in bits[usable:]:
        return None
    try:
        member_id = bytes(int(bits[i : i + 8], 2) for i in range(0, usable, 8)).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not member_id or _check(member_id) != check or _b32(member_id.encode("utf-8")) != body:
        return None
    return member_id


def check_in(engine: Engine, member_id: str, now: datetime) -> dict:
    """Post the day's check-in event (``checkin:<member>:<day>``, so a second check-in the same day is a duplicate
    that changes nothing) and say what it earned. ``now`` is timezone-aware, in the plan's timezone."""
    day = now.date()
    event = Event(f"checkin:{member_id}:{day}", member_id, "checkin", now, day)
    result = post_events(engine, [event])
    if result.rejected:
        raise CheckinRefused.of(result.rejected[0])
    entries = queries.statement(engine, member_id, day, day)
    points = sum(l["points"] for l in entries["lines"] if l["event"] == event.event_id) if entries else 0
    return {
        "member_id": member_id,
        "day": str(day),
        "event_id": event.event_id,
        "points": points,
        "duplicate": bool(result.duplicates),
    }


def checkin_state(engine: Engine, member_id: str) -> dict:
    """The member's last check-in day and current streak of consecutive days."""
    from weixi.adapters.sql import as_date, execute

    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT last_checkin_on, streak FROM members WHERE member_id = ?", [member_id])
    if not rows:
        return {"last_checkin_on": None, "streak": 0}
    return {"last_checkin_on": str(as_date(rows[0][0])) if rows[0][0] else None, "streak": int(rows[0][1] or 0)}


def expiry_schedule(balance: dict | None) -> list[dict]:
    """Points by expiry day from a :func:`weixi.ledger.queries.balance` result, soonest first
    (lots that never expire last, with ``expires_on`` None)."""
    if not balance:
        return []
    by_day: dict[str | None, int] = {}
    for lot in balance["lots"]:
        if lot["remaining"] > 0:
            by_day[lot["expires_on"]] = by_day.get(lot["expires_on"], 0) + lot["remaining"]
    return [
        {"expires_on": d, "points": p} for d, p in sorted(by_day.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    ]
