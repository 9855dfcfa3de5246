"""A campaign's close-out (活动总结): a summary of the figures, the incident log (time, what happened, who, action
taken) and the risk register's follow-up — each risk of the plan with what became of it.

Recorded by people at the entry points (which audit who did it); read by :func:`close_out`, which the report
carries live (a frozen report still shows incidents recorded after its evaluation)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import execute, is_pg
from weixi.campaigns.model import Campaign
from weixi.campaigns.store import iso_text, load, now_utc
from weixi.errors import Invalid, NotFound

OUTCOMES = ("occurred", "mitigated", "did_not_occur")
TEXT_MAX = 2000
WHO_MAX = 128


def _text(field: str, value: str | None, limit: int = TEXT_MAX) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid("campaign_close_out_field_missing", field=field)
    if len(value) > limit:
        raise Invalid("campaign_close_out_field_too_long", field=field, limit=limit)
    return value


def record_incident(
    engine: Engine,
    campaign_id: str,
    occurred_at: datetime,
    what: str,
    who: str,
    action: str,
    by: str | None,
    now: datetime | None = None,
) -> dict:
    """Add an incident to the campaign's log; refused when a field is empty or too long, or the time is not yet."""
    now = now or now_utc()
    what, action, who = _text("what", what), _text("action", action), _text("who", who, WHO_MAX)
    if occurred_at.tzinfo is None:
        raise Invalid("campaign_incident_time_without_zone", at=occurred_at.isoformat())
    if occurred_at > now:
        raise Invalid("campaign_incident_in_future", at=occurred_at.isoformat())
    with engine.begin() as conn:
        _, c = load(conn, campaign_id)
        returning = " RETURNING id" if is_pg(conn) else ""
        rows = execute(
            conn,
            "INSERT INTO campaign_incidents (campaign_id, occurred_at, what, who, action, recorded_by, recorded_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?){returning}",
            [c.id, occurred_at, what, who, action, by, now],
        )
        new_id = rows[0][0] if rows else execute(conn, "SELECT last_insert_rowid()")[0][0]
    return {"id": int(new_id), "campaign_id": c.id, **_incident_row(c, occurred_at, what, who, action, by, now)}


def record_risk_outcome(
    engine: Engine, campaign_id: str, risk_id: str, outcome: str, note: str | None, by: str | None, now=None
) -> dict:
    """What became of one risk of the plan's register (``occurred``, ``mitigated`` or ``did_not_occur``), with a
    note; recording it again replaces it."""
    now = now or now_utc()
    if outcome not in OUTCOMES:
        raise Invalid("campaign_risk_outcome_unknown", outcome=outcome, outcomes=list(OUTCOMES))
    note = (note or "").strip() or None
    if note is not None and len(note) > TEXT_MAX:
        raise Invalid("campaign_close_out_field_too_long", field="note", limit=TEXT_MAX)
    with engine.begin() as conn:
        _, c = load(conn, campaign_id)
        if risk_id not in {r.id for r in c.risks}:
            raise NotFound("campaign_unknown_risk", campaign=c.id, risk=risk_id, risks=[r.id for r in c.risks])
        execute(conn, "DELETE FROM campaign_risk_outcomes WHERE campaign_id = ? AND risk_id = ?", [c.id, risk_id])
        execute(
            conn,
            "INSERT INTO campaign_risk_outcomes (campaign_id, risk_id, outcome, note, recorded_by, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [c.id, risk_id, outcome, note, by, now],
        )
    return {"campaign_id": c.id, "risk_id": risk_id, "outcome": outcome, "note": note, "recorded_by": by}


def _local(c: Campaign, at) -> str | None:
    if at is None:
        return None
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo("UTC"))  # stored in UTC where the database keeps no zone
    return at.astimezone(ZoneInfo(c.timezone)).isoformat(timespec="minutes")


def _incident_row(c: Campaign, occurred_at, what, who, action, by, recorded_at) -> dict:
    return {
        "occurred_at": _local(c, occurred_at),
        "what": what,
        "who": who,
        "action": action,
        "recorded_by": by,
        "recorded_at": _local(c, recorded_at),
    }


def incidents(conn: Connection, c: Campaign) -> list[dict]:
    rows = execute(
        conn,
        "SELECT id, occurred_at, what, who, action, recorded_by, recorded_at FROM campaign_incidents "
        "WHERE campaign_id = ? ORDER BY occurred_at, id",
        [c.id],
    )
    return [{"id": int(r[0]), **_incident_row(c, *r[1:])} for r in rows]


def risk_follow_up(conn: Connection, c: Campaign) -> list[dict]:
    """Every risk of the plan (highest score first) with its outcome (``None``: not followed up yet)."""
    got = {
        r[0]: r[1:]
        for r in execute(
            conn,
            "SELECT risk_id, outcome, note, recorded_by, recorded_at FROM campaign_risk_outcomes WHERE campaign_id = ?",
            [c.id],
        )
    }
    out = []
    for r in sorted(c.risks, key=lambda r: (-r.score, r.id)):
        outcome, note, by, at = got.get(r.id, (None, None, None, None))
        out.append(
            {
                "id": r.id,
                "category": r.category,
                "description": r.description,
                "score": r.score,
                "level": r.level,
                "response": r.response,
                "owner": r.owner,
                "outcome": outcome,
                "note": note,
                "recorded_by": by,
                "recorded_at": _local(c, at),
            }
        )
    return out


def close_out(engine: Engine, campaign_id: str, report: dict | None = None) -> dict:
    """The close-out: ``summary`` (objectives met, participants, cost against budget, ROI, follow-up tasks, incidents,
    risks that occurred and risks not yet followed up), ``incidents`` and ``risks``. ``report``: the campaign's
    report, when the caller has it (its figures go into the summary)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        log = incidents(conn, c)
        risks = risk_follow_up(conn, c)
        tasks = execute(
            conn,
            "SELECT count(*), count(*) FILTER (WHERE status <> 'open') FROM ops_tasks WHERE source = 'campaign' "
            "AND task_id LIKE ?",
            [f"campaign/{c.id}/%"],
        )[0]
    summary = {
        "incidents": len(log),
        "risks": len(risks),
        "risks_occurred": sum(1 for r in risks if r["outcome"] == "occurred"),
        "risks_not_followed_up": sum(1 for r in risks if r["outcome"] is None),
        "follow_up_tasks": int(tasks[0]),
        "follow_up_tasks_closed": int(tasks[1] or 0),
    }
    if report is not None:
        objectives = report.get("objectives") or []
        summary.update(
            {
                "objectives": len(objectives),
                "objectives_met": sum(1 for o in objectives if o.get("met")),
                "participants": report.get("participants"),
                "planned_yuan": (report.get("budget") or {}).get("planned_yuan"),
                "actual_yuan": (report.get("budget") or {}).get("actual_yuan"),
                "roi": (report.get("roi") or {}).get("roi"),
            }
        )
    return {
        "campaign_id": c.id,
        "timezone": c.timezone,  # the times of the log are in it
        "summary": summary,
        "incidents": log,
        "risks": risks,
        "as_of": iso_text(now_utc()),
    }
