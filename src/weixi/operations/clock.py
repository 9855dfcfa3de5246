"""The operator's clock: "now", "today" and local days in the active plan's timezone (the plan's ``timezone``;
:data:`weixi.settings.DEFAULT_TIMEZONE` before any plan is applied, or where no database is at hand)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from weixi.plans.service import plan_zone

zone = plan_zone  # the active plan's timezone, through an engine or an open connection


def now(bind: Engine | Connection | None = None) -> datetime:
    return datetime.now(zone(bind))


def today(bind: Engine | Connection | None = None) -> date:
    return now(bind).date()


def aware(value) -> datetime:
    """A stored time as an aware datetime (a naive one is UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def local(value, tz: ZoneInfo) -> datetime:
    """A stored time in ``tz``."""
    return aware(value).astimezone(tz)


def start_of(day: date, tz: ZoneInfo) -> datetime:
    """Midnight at the start of ``day`` in ``tz``."""
    return datetime.combine(day, datetime.min.time(), tz)
