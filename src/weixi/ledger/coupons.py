"""Coupon codes: unguessable, drawn once when a redemption posts and stored with it (a retry reads them back)."""

from __future__ import annotations

import secrets
from typing import Callable

from weixi.plans.model import Reward

SYMBOLS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def coupon_code(reward: Reward, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """The reward's prefix and 80 random bits as 16 Crockford base32 symbols in groups of four
    (``SVC20-7K2M-Q9XD-4TNB-0HWE``). Nothing public (reward, member, request id) determines it."""
    n = int.from_bytes(random_bytes(10), "big")
    symbols = "".join(SYMBOLS[(n >> (5 * i)) & 31] for i in range(16))
    prefix = reward.code_prefix or reward.id[:6].upper()
    return f"{prefix}-" + "-".join(symbols[i : i + 4] for i in range(0, 16, 4))
