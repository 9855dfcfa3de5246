"""A campaign's saved record: its file parsed (once per content), its row read or locked, its steps written.

The lower layer of the campaign use cases (:mod:`weixi.campaigns.service` and the mechanics beside it): nothing
here decides anything.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from weixi.adapters.sql import execute, is_pg
from weixi.campaigns.errors import CampaignFileInvalid, CampaignNotFound
from weixi.campaigns.loader import window_past
from weixi.campaigns.model import Campaign
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import load_plan_text

COLUMNS = "status, content, source, created_by, seed_hex, commitment, next_draw, secret_hex"


def parse(text: str, source: str) -> Campaign:
    """The campaign of a file, or :class:`CampaignFileInvalid` with every problem located in ``diagnostics``."""
    found, diags = load_plan_text(text, source)
    if found is None or not isinstance(found, Campaign):
        errors = [d for d in diags if d.is_error]
        if found is not None:
            raise CampaignFileInvalid("campaign_file_wrong_kind", source=source)
        raise CampaignFileInvalid("campaign_file_invalid", diagnostics=diags, source=source, errors=len(errors))
    return found


def check(text: str, source: str, now: datetime | None = None) -> tuple[object | None, list[Diagnostic]]:
    """:func:`weixi.plans.loader.load_plan_text` for a campaign file, with one more check that needs the date: a
    window already over (``campaign_plan_window_past`` at ``window.to``, today in the campaign's timezone) can never
    run, so the checker refuses it before anyone submits it for approval. The plan is ``None`` exactly when a
    diagnostic is an error; a plan of another kind is returned as it is."""
    found, diags = load_plan_text(text, source)
    if not isinstance(found, Campaign):
        return found, diags
    past = window_past(found, campaign_today(found, now))
    if past is None:
        return found, diags
    return None, sorted([*diags, past], key=Diagnostic.sort_key)


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def campaign_today(c: Campaign, now: datetime | None = None) -> date:
    return (now or now_utc()).astimezone(ZoneInfo(c.timezone)).date()


def iso_text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def load(conn: Connection, campaign_id: str, lock: bool = False) -> tuple[dict, Campaign]:
    """The campaign's row (status, creator, seed, commitment, next draw number, secret, content) and its parsed
    file; ``lock``: the row stays locked until the transaction ends (PostgreSQL ``FOR UPDATE``)."""
    sql = f"SELECT {COLUMNS} FROM campaigns WHERE campaign_id = ?"
    rows = execute(conn, sql + (" FOR UPDATE" if lock and is_pg(conn) else ""), [campaign_id])
    if not rows:
        raise CampaignNotFound("unknown_campaign", campaign=campaign_id)
    status, content, source, created_by, seed_hex, commitment, next_draw, secret_hex = rows[0]
    info = {
        "status": status,
        "created_by": created_by,
        "seed_hex": seed_hex,
        "commitment": commitment,
        "next_draw": int(next_draw),
        "secret": bytes.fromhex(secret_hex),
        "content": content,
    }
    return info, parsed(content, source)


_CACHE: dict[str, Campaign] = {}


def parsed(content: str, source: str) -> Campaign:
    key = hashlib.sha256((source + "\0" + content).encode()).hexdigest()
    if key not in _CACHE:
        _CACHE[key] = parse(content, source)
    return _CACHE[key]


def record_step(
    conn: Connection,
    campaign_id: str,
    action: str,
    before: str | None,
    after: str,
    actor: str,
    note: str | None,
    at: datetime,
) -> None:
    seq = execute(conn, "SELECT coalesce(max(seq), 0) + 1 FROM campaign_steps WHERE campaign_id = ?", [campaign_id])
    execute(
        conn,
        "INSERT INTO campaign_steps (campaign_id, seq, action, from_status, to_status, actor, at, note) "
        "VALUES (?,?,?,?,?,?,?,?)",
        [campaign_id, seq[0][0], action, before, after, actor, at, note],
    )
