"""Referral codes and the fraud checks a referral passes before it is rewarded.

Pure: the service layer gives each check what it needs (the referrer's and other referees' identifiers, the
referral graph) and keeps the flags. A flagged referral goes to the review queue; a person approves or rejects it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone


def code_for(secret: bytes, campaign_id: str, member_id: str, length: int = 8) -> str:
    """A member's code for a campaign: stable, unguessable without the campaign's secret."""
    digest = hmac.new(secret, f"referral|{campaign_id}|{member_id}".encode(), hashlib.sha256).digest()
    return "".join(CODE_ALPHABET[b % len(CODE_ALPHABET)] for b in digest[:length])


def fingerprint(secret: bytes, kind: str, value: str | None) -> str | None:
    """A keyed hash of a phone, ID number or device id, so that equal values match without storing them."""
    if value is None or not str(value).strip():
        return None
    normal = "".join(str(value).split()).upper()
    return hmac.new(secret, f"{kind}|{normal}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Identity:
    member_id: str
    phone: str | None = None  # fingerprints
    id_number: str | None = None
    device: str | None = None


def flags(
    referrer: str,
    referee: Identity,
    referrer_ids: list[Identity],
    siblings: list[Identity],
    referrer_of: dict[str, str],
) -> list[str]:
    """Why a referral looks fraudulent (empty: it does not).

    ``referrer_ids``: what is known of the referrer (their own referral records, their profile);
    ``siblings``: the referrer's other referees; ``referrer_of``: referee -> referrer over the campaign.
    """
    out = []
    if referee.member_id == referrer:
        out.append("self-referral: the referee is the referrer")
    for kind, label in (("phone", "phone"), ("id_number", "ID number"), ("device", "device")):
        mine = getattr(referee, kind)
        if mine is None:
            continue
        if any(getattr(r, kind) == mine for r in referrer_ids):
            out.append(f"same {label} as the referrer")
        twins = sorted(s.member_id for s in siblings if s.member_id != referee.member_id and getattr(s, kind) == mine)
        if twins:
            out.append(f"same {label} as {', '.join(twins)}, also referred by {referrer}")
    ring = ring_through(referrer, referee.member_id, referrer_of)
    if ring:
        out.append("referral ring: " + " → ".join(ring))
    return out


def ring_through(referrer: str, referee: str, referrer_of: dict[str, str]) -> list[str]:
    """The cycle that ``referrer`` referring ``referee`` would close, in referral order (A → B → C → A means A
    referred B, B referred C and C referred A); empty when there is none."""
    if referrer == referee:
        return []
    path, seen, current = [referee, referrer], {referrer}, referrer
    while (current := referrer_of.get(current)) is not None:
        path.append(current)
        if current == referee:
            return list(reversed(path))
        if current in seen:
            return []
        seen.add(current)
    return []
