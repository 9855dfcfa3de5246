"""The messaging outbox: enqueue once per idempotency key, send through the channel adapters, delivery status.

See :mod:`weixi.messaging.outbox` for the rules and docs/messaging.md for the commands. Campaigns and care use
:func:`enqueue`; :func:`send_due` is what ``weixi outbox send`` runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import execute, is_pg
from weixi.errors import Conflict, Invalid, NotFound
from weixi.messaging import adapters as channel_adapters
from weixi.messaging.outbox import CHANNELS, STATUSES, DeliveryError, after_failure
from weixi.plans.service import plan_zone

FIELDS = (
    "message_id",
    "idempotency_key",
    "channel",
    "recipient",
    "member_id",
    "template_id",
    "subject",
    "body",
    "purpose",
    "source",
    "campaign",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "provider_id",
    "created_at",
    "sent_at",
)


class MessagingError(Invalid, ValueError):
    """Bad input to the outbox; nothing was queued or changed."""


class MessageNotFound(NotFound, MessagingError):
    """No message with that id (ours or the provider's)."""


class MessageConflict(Conflict, MessagingError):
    """Refused in the message's current status."""


zone = plan_zone  # the active plan's timezone, through an engine or an open connection


def now(bind: Engine | Connection | None = None) -> datetime:
    return datetime.now(zone(bind))


def _ts(value, tz: ZoneInfo):
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(tz)
    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(tz)


def _row(r, tz: ZoneInfo) -> dict:
    d = dict(zip(FIELDS, r))
    for k in ("next_attempt_at", "created_at", "sent_at"):
        d[k] = _ts(d[k], tz).isoformat() if d[k] is not None else None
    return d


def _run(conn: Connection, sql: str, params: list) -> int:
    """Execute and return the number of rows changed."""
    return conn.exec_driver_sql(sql.replace("?", "%s") if is_pg(conn) else sql, tuple(params)).rowcount


def enqueue(
    conn: Connection,
    key: str,
    channel: str,
    recipient: str,
    body: str,
    *,
    purpose: str,
    subject: str | None = None,
    member_id: str | None = None,
    source: str | None = None,
    campaign: str | None = None,
    template_id: str | None = None,
    at: datetime | None = None,
) -> tuple[int, bool]:
    """Queue one message in the caller's transaction; (message id, created). The same key again returns the
    first message and changes nothing."""
    if not key or len(key) > 200:
        raise MessagingError("message_key_invalid")
    if channel not in CHANNELS:
        raise MessagingError("message_channel_unknown", channel=channel, channels=CHANNELS)
    if not recipient:
        raise MessagingError("message_no_phone" if channel == "sms" else "message_no_address", key=key)
    if not body or not body.strip():
        raise MessagingError("message_empty", key=key)
    at = at or now(conn)
    found = execute(conn, "SELECT message_id FROM msg_outbox WHERE idempotency_key = ?", [key])
    if found:
        return int(found[0][0]), False
    execute(
        conn,
        "INSERT INTO msg_outbox (idempotency_key, channel, recipient, member_id, template_id, subject, body,"
        " purpose, source, campaign, status, attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, 'queued', 0, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
        [key, channel, recipient, member_id, template_id, subject, body, purpose, source, campaign, at, at],
    )
    return int(execute(conn, "SELECT message_id FROM msg_outbox WHERE idempotency_key = ?", [key])[0][0]), True


def queue_message(engine: Engine, key: str, channel: str, recipient: str, body: str, **kw) -> dict:
    with engine.begin() as conn:
        mid, created = enqueue(conn, key, channel, recipient, body, **kw)
    return {**get(engine, mid), "created": created}


def get(engine: Engine, message_id: int) -> dict:
    with engine.connect() as conn:
        rows = execute(conn, f"SELECT {', '.join(FIELDS)} FROM msg_outbox WHERE message_id = ?", [message_id])
        tz = zone(conn)
    if not rows:
        raise MessageNotFound("message_not_found", message=message_id)
    return _row(rows[0], tz)


def listing(engine: Engine, status: str | None = None, member_id: str | None = None, limit: int = 100) -> list[dict]:
    if status is not None and status not in STATUSES:
        raise MessagingError("message_status_unknown", status=status, statuses=STATUSES)
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if member_id:
        where.append("member_id = ?")
        params.append(member_id)
    sql = f"SELECT {', '.join(FIELDS)} FROM msg_outbox" + (" WHERE " + " AND ".join(where) if where else "")
    with engine.connect() as conn:
        rows = execute(conn, sql + " ORDER BY message_id DESC LIMIT ?", [*params, limit])
        tz = zone(conn)
    return [_row(r, tz) for r in rows]


def counts(engine: Engine) -> dict:
    with engine.connect() as conn:
        return {
            s: int(n) for s, n in execute(conn, "SELECT status, count(*) FROM msg_outbox GROUP BY status ORDER BY 1")
        }


@dataclass
class _Channel:
    adapter: object
    down: str | None = None  # the error that stopped this channel in this run


STALE_AFTER = timedelta(minutes=10)  # a send takes at most the adapters' timeout (10 s): older ``sending`` crashed


def send_due(
    engine: Engine,
    data_dir: Path,
    at: datetime | None = None,
    limit: int = 1000,
    quiet=None,
    sms_gateway: str | None = None,
    smtp: str | None = None,
) -> dict:
    """Send queued messages whose time has come. ``quiet``: a callable ``datetime -> (rule, detail) | None``
    (the plan's quiet hours): while it answers, nothing is sent. A channel whose server is unreachable is not
    tried again in the same run: its messages stay queued for the next. A message an earlier run left ``sending``
    for longer than :data:`STALE_AFTER` (it crashed mid-send) becomes ``unknown`` first (``stale`` in the report):
    never resent by itself."""
    at = at or now(engine)
    report = {
        "at": at.isoformat(),
        "sent": 0,
        "retry_later": 0,
        "failed": 0,
        "not_tried": 0,
        "errors": [],
        "stale": mark_stale(engine, at - STALE_AFTER),
    }
    held = quiet(at) if quiet else None
    if held:
        report["held"] = {"rule": held[0], "detail": held[1]}
        with engine.connect() as conn:
            report["not_tried"] = int(execute(conn, "SELECT count(*) FROM msg_outbox WHERE status = 'queued'")[0][0])
        return report
    with engine.connect() as conn:
        due = execute(
            conn,
            "SELECT message_id, idempotency_key, channel, recipient, subject, body, attempts, member_id,"
            " purpose FROM msg_outbox WHERE status = 'queued' AND (next_attempt_at IS NULL OR "
            "next_attempt_at <= ?) ORDER BY message_id LIMIT ?",
            [at, limit],
        )
    channels: dict[str, _Channel] = {}
    for mid, key, channel, recipient, subject, body, attempts, member_id, purpose in due:
        ch = channels.get(channel)
        if ch is None:
            try:
                ch = channels[channel] = _Channel(channel_adapters.from_env(data_dir, channel, sms_gateway, smtp))
            except ValueError as exc:
                ch = channels[channel] = _Channel(None, str(exc))
                report["errors"].append({"channel": channel, "error": str(exc)})
        if ch.down:
            report["not_tried"] += 1
            continue
        with engine.begin() as conn:  # claim: only one sender takes a message
            if (
                _run(
                    conn,
                    "UPDATE msg_outbox SET status = 'sending', updated_at = ? WHERE message_id = ? AND "
                    "status = 'queued'",
                    [at, mid],
                )
                != 1
            ):
                continue
        out = channel_adapters.Outgoing(mid, key, channel, recipient, subject, body, at)
        _send(engine, ch, out, attempts + 1, member_id, purpose, report)
    return report


def _send(
    engine: Engine, ch: _Channel, out: channel_adapters.Outgoing, tried: int, member_id, purpose, report: dict
) -> None:
    """Send one claimed message and record the try: sent (and the contact it makes), queued again for later, or
    failed. A channel that did not answer is marked down for the rest of the run."""
    mid, channel, at = out.message_id, out.channel, out.at
    try:
        provider_id = ch.adapter.send(out)
    except DeliveryError as exc:
        status, next_at = after_failure(tried, exc, at)
        with engine.begin() as conn:
            _run(
                conn,
                "UPDATE msg_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
                "updated_at = ? WHERE message_id = ?",
                [status, tried, next_at, str(exc), at, mid],
            )
            _attempt(conn, mid, tried, at, ch.adapter.name, False, str(exc))
        report["failed" if status == "failed" else "retry_later"] += 1
        if not exc.permanent:
            ch.down = str(exc)
            report["errors"].append(
                {
                    "channel": channel,
                    "message_id": mid,
                    "error": str(exc),
                    "next_attempt_at": next_at.isoformat() if next_at else None,
                }
            )
        else:
            report["errors"].append({"channel": channel, "message_id": mid, "error": str(exc), "permanent": True})
        return
    with engine.begin() as conn:
        _run(
            conn,
            "UPDATE msg_outbox SET status = 'sent', attempts = ?, sent_at = ?, provider_id = ?, "
            "last_error = NULL, next_attempt_at = NULL, updated_at = ? WHERE message_id = ?",
            [tried, at, provider_id, at, mid],
        )
        _attempt(conn, mid, tried, at, ch.adapter.name, True, None)
        if member_id:
            execute(
                conn,
                "INSERT INTO ops_contacts (member_id, channel, purpose, source, campaign, at) VALUES "
                "(?, ?, ?, ?, NULL, ?) ON CONFLICT (source, channel) DO NOTHING",
                [member_id, channel, purpose, f"msg:{mid}", at],
            )
    report["sent"] += 1


def _attempt(conn: Connection, mid: int, attempt: int, at: datetime, adapter: str, ok: bool, error: str | None):
    execute(
        conn,
        "INSERT INTO msg_attempts (message_id, attempt, at, adapter, ok, error) VALUES (?, ?, ?, ?, ?, ?)",
        [mid, attempt, at, adapter, ok, error],
    )


def attempts(engine: Engine, message_id: int) -> list[dict]:
    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT attempt, at, adapter, ok, error FROM msg_attempts WHERE message_id = ? ORDER BY attempt",
            [message_id],
        )
        tz = zone(conn)
    return [
        {"attempt": a, "at": _ts(t, tz).isoformat(), "adapter": ad, "ok": bool(ok), "error": e}
        for a, t, ad, ok, e in rows
    ]


def mark_stale(engine: Engine, older_than: datetime) -> int:
    """Messages left ``sending`` (a crash mid-send) become ``unknown``: never resent by themselves."""
    with engine.begin() as conn:
        return _run(
            conn,
            "UPDATE msg_outbox SET status = 'unknown', updated_at = ? WHERE status = 'sending' AND updated_at < ?",
            [now(conn), older_than],
        )


def retry(engine: Engine, message_id: int) -> dict:
    """Put a failed or unknown message back in the queue (after checking with the gateway that it was not
    delivered)."""
    with engine.begin() as conn:
        if (
            _run(
                conn,
                "UPDATE msg_outbox SET status = 'queued', next_attempt_at = NULL, updated_at = ? WHERE "
                "message_id = ? AND status IN ('failed', 'unknown')",
                [now(conn), message_id],
            )
            != 1
        ):
            msg = get(engine, message_id)
            raise MessageConflict("message_not_retryable", message=message_id, status=msg["status"])
    return get(engine, message_id)


def receipt(engine: Engine, message_id: int | None, status: str, provider_id: str | None = None) -> dict:
    """A delivery report from the gateway: delivered or undelivered (by our id or the provider's)."""
    if status not in ("delivered", "undelivered"):
        raise MessagingError("receipt_status_invalid")
    with engine.begin() as conn:
        if message_id is None:
            found = execute(conn, "SELECT message_id FROM msg_outbox WHERE provider_id = ?", [provider_id])
            if not found:
                raise MessageNotFound("message_provider_id_unknown", provider_id=provider_id)
            message_id = int(found[0][0])
        if (
            _run(
                conn,
                "UPDATE msg_outbox SET status = ?, updated_at = ? WHERE message_id = ? AND status IN "
                "('sent', 'delivered', 'undelivered')",
                [status, now(conn), message_id],
            )
            != 1
        ):
            raise MessageConflict("receipt_message_not_sent", message=message_id)
    return get(engine, message_id)
