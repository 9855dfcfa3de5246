"""Idempotency keys (``request_id``): scoped to the member and the operation, bound to the request's body.

A key is the caller's name for one request. Its id in the ledger (or a campaign table) joins the operation, the
request id and a tag of the member, so the same string sent for two members names two requests: neither sees nor
blocks the other. Sent again for the same member it names the same request, whose fingerprint (what was asked)
must match: the same body is a retry and gets the first answer, another body is refused as a reused key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from weixi.ledger.events import Event

TAG_LEN = 16  # hex digits of the member tag: 64 bits


def member_tag(member_id: str) -> str:
    """16 hex digits of the SHA-256 of the member id: the member's part of a scoped id (fixed length)."""
    return hashlib.sha256(member_id.encode()).hexdigest()[:TAG_LEN]


def scoped_id(operation: str, request_id: str, member_id: str) -> str:
    """``<operation>:<request id>:<member tag>``; the tag has a fixed length, so two different pairs never give the
    same id. ``redeem:pos-7731:3f9c…`` is the redemption (and its event) of request ``pos-7731`` for that member."""
    return f"{operation}:{request_id}:{member_tag(member_id)}"


def redeem_fingerprint(member_id: str, reward_id: str | None, qty: Any, merchant: Any) -> tuple:
    """What a redemption request asks for: member, reward, quantity and partner merchant."""
    try:
        qty = int(qty)
    except (TypeError, ValueError):
        qty = str(qty)
    return (member_id, reward_id, qty, None if merchant is None else str(merchant))


def event_fingerprint(ev: Event) -> tuple | None:
    """The fingerprint of a redeem event sent with a ``request_id`` (None for any other event)."""
    if ev.type != "redeem" or not ev.attrs.get("request_id"):
        return None
    return redeem_fingerprint(ev.member_id, ev.ref, ev.attrs.get("qty", 1), ev.attrs.get("merchant"))


def stored_fingerprint(member_id: str, type_: str, ref: str | None, attrs: str | dict | None) -> tuple | None:
    """:func:`event_fingerprint` of an event as stored (``attrs`` as its JSON text); None when it had no key or
    was stored without its body (rejections written before the body was kept)."""
    if type_ != "redeem" or attrs is None:
        return None
    data = json.loads(attrs) if isinstance(attrs, str) else attrs
    if not isinstance(data, dict) or not data.get("request_id"):
        return None
    return redeem_fingerprint(member_id, ref, data.get("qty", 1), data.get("merchant"))
