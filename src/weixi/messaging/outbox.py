"""The outbox's rules: idempotency keys, statuses, retries with backoff.

A message is enqueued once per idempotency key (``care/2026-10-01/holiday/M0001``, ``task/<task id>``, a
campaign's own key...): enqueueing the same key again returns the first message. Sending claims a message
(``queued`` -> ``sending``) in one UPDATE, so two senders never take the same one; it ends ``sent`` (handed to the
gateway or server) or goes back to ``queued`` with the next try after :func:`backoff`, or ``failed`` when the
error is permanent or the tries are used up. A message left ``sending`` by a crash is never resent by itself
(``unknown``): the gateway may have taken it, and a message is never sent twice — check it and
``weixi outbox retry`` it by hand. The key travels with the message (HTTP ``Idempotency-Key``, SMTP
``Message-ID``) so the gateway can drop a duplicate too.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed", "unknown", "cancelled")
CHANNELS = ("sms", "email", "wechat")
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (60, 300, 1800, 7200)  # after the 1st, 2nd, 3rd, 4th failed try


class DeliveryError(Exception):
    """A send that did not go through. ``permanent``: retrying cannot help (bad address, rejected)."""

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after ``attempts`` failed tries."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


def after_failure(attempts: int, error: DeliveryError, at: datetime) -> tuple[str, datetime | None]:
    """(new status, next try) after the ``attempts``-th try failed with ``error``."""
    if error.permanent or attempts >= MAX_ATTEMPTS:
        return "failed", None
    return "queued", at + backoff(attempts)


def message_id_header(key: str, domain: str = "weixi.local") -> str:
    """A stable RFC 5322 Message-ID for an idempotency key."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{domain}>"
