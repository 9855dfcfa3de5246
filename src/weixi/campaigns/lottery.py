"""Provably fair draws: a published commitment, HMAC draws from a secret seed, and a replay anyone can run.

The scheme (docs/campaigns.md, "Verifying the draws"):

1. When the campaign is approved, the server takes a 32-byte seed from :mod:`secrets` and publishes
   ``commitment = SHA-256(seed)`` (hex). The seed stays secret while the campaign runs.
2. Each day of the window the box holds every prize's ``per_day`` tickets, then ``blanks_per_day`` blank
   tickets, in the order of the prize table. Tickets not drawn on a day do not carry over.
3. Draw number ``seq`` (1, 2, 3, ... over the whole campaign) by member ``M`` on day ``D`` takes ticket
   ``int(HMAC-SHA256(seed, "<campaign>|<seq>|<M>|<D>"), big-endian) mod R``, where ``R`` is the number of tickets
   still in that day's box; the ticket's prize leaves the box. (The modulo bias is below R / 2**256.)
4. When the campaign closes the seed is revealed. Anyone holding the export (commitment, seed, prize table,
   every draw) checks ``SHA-256(seed) == commitment`` and replays every draw in ``seq`` order.

Pure functions only; the service layer holds the seed, the locks and the stock rows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date

from weixi.campaigns.model import Lottery
from weixi.errors import Conflict, Problem

BLANK = None  # the prize of a blank ticket


class EmptyBox(Conflict, ValueError):
    """No ticket left in the day's box."""


def new_seed() -> bytes:
    return secrets.token_bytes(32)


def commitment(seed: bytes) -> str:
    return hashlib.sha256(seed).hexdigest()


def message(campaign_id: str, seq: int, member_id: str, day: date) -> bytes:
    return f"{campaign_id}|{seq}|{member_id}|{day.isoformat()}".encode()


def draw_mac(seed: bytes, campaign_id: str, seq: int, member_id: str, day: date) -> str:
    return hmac.new(seed, message(campaign_id, seq, member_id, day), hashlib.sha256).hexdigest()


def box(lottery: Lottery, drawn: dict[str | None, int] | None = None) -> list[tuple[str | None, int]]:
    """A day's box: (prize id or BLANK, tickets left) in table order, after ``drawn`` tickets left it."""
    drawn = drawn or {}
    out = [(p.id, p.per_day - drawn.get(p.id, 0)) for p in lottery.prizes]
    out.append((BLANK, lottery.blanks_per_day - drawn.get(BLANK, 0)))
    return out


def pick(mac_hex: str, remaining: list[tuple[str | None, int]]) -> tuple[str | None, int, int]:
    """The ticket the MAC selects: (prize id or BLANK, ticket index, tickets in the box)."""
    total = sum(n for _, n in remaining)
    if total <= 0:
        raise EmptyBox("lottery_box_empty")
    index = int(mac_hex, 16) % total
    at = index
    for prize_id, n in remaining:
        if at < n:
            return prize_id, index, total
        at -= n
    raise AssertionError("unreachable: index < total")


@dataclass(frozen=True)
class RecordedDraw:
    seq: int
    member_id: str
    day: date
    prize_id: str | None
    mac: str


def verify(
    campaign_id: str, lottery: Lottery, commitment_hex: str, seed: bytes, draws: list[RecordedDraw]
) -> list[Problem]:
    """Every way the recorded draws differ from a replay, as coded problems; an empty list means every draw
    checks out."""
    problems = []
    if commitment(seed) != commitment_hex:
        return [Problem("lottery_seed_mismatch", {"actual": commitment(seed), "published": commitment_hex})]
    drawn: dict[date, dict[str | None, int]] = {}
    expected_seq = 1
    for d in sorted(draws, key=lambda d: d.seq):
        if d.seq != expected_seq:
            problems.append(Problem("lottery_draw_missing", {"seq": expected_seq, "next": d.seq}))
        expected_seq = d.seq + 1
        mac = draw_mac(seed, campaign_id, d.seq, d.member_id, d.day)
        if not hmac.compare_digest(mac, d.mac):
            problems.append(
                Problem("lottery_draw_mac_mismatch", {"seq": d.seq, "recorded": d.mac[:16], "expected": mac[:16]})
            )
        today = drawn.setdefault(d.day, {})
        try:
            prize_id, index, total = pick(mac, box(lottery, today))
        except EmptyBox:
            problems.append(Problem("lottery_draw_box_empty", {"seq": d.seq, "day": d.day.isoformat()}))
            continue
        if prize_id != d.prize_id:
            params = {
                "seq": d.seq,
                "day": d.day.isoformat(),
                "member": d.member_id,
                "recorded_prize": d.prize_id or "blank",
                "replayed_prize": prize_id or "blank",
                "ticket": index,
                "tickets": total,
            }
            problems.append(Problem("lottery_draw_prize_mismatch", params))
        today[prize_id] = today.get(prize_id, 0) + 1
    return problems
