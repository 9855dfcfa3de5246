"""The contact policy: do-not-disturb, opt-outs with their consent source and time, frequency caps across every
task and campaign, quiet hours.

Consent records are kept, never overwritten (table ``ops_consents``); the rules:

* ``dnd`` (免打扰) on a channel (or ``all``) stops every contact on it, whatever its purpose;
* ``opt_out`` (退订) for a purpose stops that purpose on the channel: ``marketing`` stops offers and
  campaigns, ``care`` stops greetings, ``all`` stops both; ``service`` notices (points expiring, tier changes
  required by the rules) are never opted out of, only stopped by ``dnd``;
* ``opt_in`` clears the earlier records it covers (same or narrower channel and purpose).

A frequency cap counts contacts already made (``ops_contacts``) plus those already planned (open tasks) in the
same week, month or quarter of the due date, then keeps the highest-priority new ones up to the cap.
Whatever is stopped is reported with the rule's id and why, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from weixi.adapters.duck import lit, lit_in
from weixi.operations.plan import Cap, OperationsPlan
from weixi.settings import DEFAULT_TIMEZONE

KINDS = ("opt_out", "dnd", "opt_in")
CONSENT_CHANNELS = ("all", "call", "visit", "sms", "wechat", "email")
CONSENT_PURPOSES = ("all", "marketing", "care")


@dataclass(frozen=True)
class Consent:
    member_id: str
    kind: str
    channel: str
    purpose: str
    source: str
    recorded_at: datetime


@dataclass(frozen=True)
class Blocked:
    rule: str  # dnd | opt_out | cap id | quiet_hours
    detail: str


def active_blocks(records: list[Consent]) -> list[Consent]:
    """The dnd/opt_out records not cleared by a later opt_in (records of one member, any order)."""
    out = []
    for b in records:
        if b.kind == "opt_in":
            continue
        cleared = any(
            i.kind == "opt_in"
            and i.recorded_at > b.recorded_at
            and i.channel in ("all", b.channel)
            and i.purpose in ("all", b.purpose)
            for i in records
        )
        if not cleared:
            out.append(b)
    return out


def _covers(b: Consent, channel: str, purpose: str) -> bool:
    if b.channel not in ("all", channel):
        return False
    if b.kind == "dnd":
        return True
    return purpose != "service" and b.purpose in ("all", purpose)


def _detail(b: Consent) -> str:
    what = "do-not-disturb" if b.kind == "dnd" else f"opted out of {b.purpose} contacts"
    on = "every channel" if b.channel == "all" else b.channel
    return f"{what} on {on} since {b.recorded_at.isoformat(timespec='minutes')} (source: {b.source})"


def consent_block(records: list[Consent], channel: str, purpose: str) -> Blocked | None:
    """The first active consent record that stops a ``purpose`` contact on ``channel``, if any."""
    for b in sorted(active_blocks(records), key=lambda r: (r.kind != "dnd", r.recorded_at)):
        if _covers(b, channel, purpose):
            return Blocked(b.kind, _detail(b))
    return None


def period_start(day: date, per: str) -> date:
    if per == "week":
        return day - timedelta(days=day.weekday())
    if per == "month":
        return day.replace(day=1)
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def cap_block(
    plan: OperationsPlan, channel: str, purpose: str, day: date, counts: dict[tuple[str, date], int]
) -> Blocked | None:
    """``counts``: (cap id, period start) -> contacts already made or planned for the member."""
    for cap in plan.caps:
        if channel in cap.channels and purpose in cap.purposes:
            seen = counts.get((cap.id, period_start(day, cap.per)), 0)
            if seen >= cap.max:
                return Blocked(
                    cap.id,
                    f"{seen} {'/'.join(cap.channels)} contact(s) this {cap.per} already"
                    f" (cap {cap.id}: at most {cap.max} a {cap.per})",
                )
    return None


def in_quiet_hours(plan: OperationsPlan, at: datetime) -> bool:
    if plan.quiet_from is None or plan.quiet_to is None:
        return False
    t = at.timetz().replace(tzinfo=None)
    start, end = plan.quiet_from, plan.quiet_to
    return (start <= t or t < end) if start > end else (start <= t < end)


def quiet_end(plan: OperationsPlan, at: datetime) -> datetime:
    """The first moment at or after ``at`` outside the quiet hours (same time zone as ``at``)."""
    if not in_quiet_hours(plan, at):
        return at
    end = datetime.combine(at.date(), plan.quiet_to, tzinfo=at.tzinfo)
    return end if end > at else end + timedelta(days=1)


def quiet_block(plan: OperationsPlan, at: datetime) -> Blocked | None:
    if in_quiet_hours(plan, at):
        return Blocked(
            "quiet_hours",
            f"{at.strftime('%H:%M')} is within the quiet hours "
            f"{plan.quiet_from.strftime('%H:%M')}-{plan.quiet_to.strftime('%H:%M')}",
        )
    return None


# -- set-based form for the month's batch --------------------------------------------------------------------


def _offset(tz: ZoneInfo) -> str:
    """``tz``'s UTC offset now, as ``+08:00``."""
    z = datetime.now(tz).strftime("%z")
    return f"{z[:3]}:{z[3:]}"


def apply(con: duckdb.DuckDBPyConnection, plan: OperationsPlan, tz: ZoneInfo | None = None) -> None:
    """Split ``ops_candidates`` into ``ops_kept`` (a view: tasks to create) and ``ops_blocked`` (member_id, task_id,
    kind, rule, detail). Reads ``ops_consents`` (active blocks: member_id, kind, channel, purpose, source,
    recorded_at) and ``ops_planned`` (member_id, channel, purpose, day: contacts made or planned). ``tz``: the
    plan's timezone the consent times are shown in (default :data:`weixi.settings.DEFAULT_TIMEZONE`)."""
    tz = tz or ZoneInfo(DEFAULT_TIMEZONE)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_blocked AS
        SELECT c.member_id, c.task_id, c.kind, c.source,
               arg_min(b.kind, CASE WHEN b.kind = 'dnd' THEN 0 ELSE 1 END) AS rule,
               arg_min(CASE WHEN b.kind = 'dnd' THEN 'do-not-disturb' ELSE 'opted out of ' || b.purpose || ' contacts' END
                       || ' on ' || CASE WHEN b.channel = 'all' THEN 'every channel' ELSE b.channel END
                       || ' since ' || strftime(timezone('{tz.key}', b.recorded_at), '%Y-%m-%dT%H:%M{_offset(tz)}') || ' (source: ' || b.source || ')',
                       CASE WHEN b.kind = 'dnd' THEN 0 ELSE 1 END) AS detail
        FROM ops_candidates c JOIN ops_consents b ON b.member_id = c.member_id
        WHERE c.channel <> 'none' AND b.channel IN ('all', c.channel)
          AND (b.kind = 'dnd' OR (c.purpose <> 'service' AND b.purpose IN ('all', c.purpose)))
        GROUP BY c.member_id, c.task_id, c.kind, c.source""")
    # ops_kept is a view (the candidates less what is blocked), not a second copy of millions of rows; each cap
    # adds what it stops to ops_blocked, so the next cap sees only what the earlier ones kept.
    con.execute("""CREATE OR REPLACE TEMP VIEW ops_kept AS
        SELECT * FROM ops_candidates c WHERE NOT EXISTS (SELECT 1 FROM ops_blocked b WHERE b.task_id = c.task_id)""")
    for cap in plan.caps:
        _apply_cap(con, cap)


def _apply_cap(con: duckdb.DuckDBPyConnection, cap: Cap) -> None:
    scope = f"channel IN {lit_in(cap.channels)} AND purpose IN {lit_in(cap.purposes)}"
    # Only a (member, period) with more contacts than the cap (made, planned and new) can lose a task, so the
    # ranking (a sort) runs on those groups alone; a hash count finds them.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE ops_capped AS
        WITH seen AS (SELECT member_id, date_trunc('{cap.per}', day) AS p, count(*) AS n FROM ops_planned
                      WHERE {scope} GROUP BY ALL),
        scoped AS (SELECT k.task_id, k.member_id, k.kind, k.source, k.priority, k.due_on,
                          date_trunc('{cap.per}', k.due_on) AS p
                   FROM ops_kept k WHERE k.{scope.replace(" AND purpose", " AND k.purpose")}),
        over AS (SELECT g.member_id, g.p, coalesce(s.n, 0) AS n
                 FROM (SELECT member_id, p, count(*) AS c FROM scoped GROUP BY ALL) g
                 LEFT JOIN seen s ON s.member_id = g.member_id AND s.p = g.p
                 WHERE g.c + coalesce(s.n, 0) > {cap.max}),
        ranked AS (SELECT k.task_id, k.member_id, k.kind, k.source, o.n,
                     row_number() OVER (PARTITION BY k.member_id, k.p ORDER BY k.priority DESC, k.due_on, k.task_id) AS r
                   FROM scoped k JOIN over o ON o.member_id = k.member_id AND o.p = k.p)
        SELECT * FROM ranked WHERE n + r > {cap.max}""")
    con.execute(f"""INSERT INTO ops_blocked SELECT member_id, task_id, kind, source, {lit(cap.id)},
        printf('%d contact(s) this {cap.per} already and %d of higher priority in this run (cap {cap.id}: at most {cap.max} a {cap.per})',
               n, r - 1) FROM ops_capped""")
