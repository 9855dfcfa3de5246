"""Publishing incentive statements and the award workflow (database): publish a month's statements (a new
version supersedes the last only when asked, with a reason), read what was published, diff a recompute against
it; nominate staff for an award, decide each step, publish the period's awards."""

from __future__ import annotations

from weixi.errors import Where
from weixi.incentives.errors import IncentiveConflict, IncentiveInvalid, IncentiveNotFound
from weixi.incentives.service import MonthResult, now

# --- publication, recompute and the award workflow (database) ------------------------------------


def _json(data) -> str:
    import json

    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def published(engine, month: str, version: int | None = None) -> dict | None:
    """The latest (or a given) published statement set of ``month``, with who published it and when."""
    import json

    from weixi.adapters.sql import execute

    sql = (
        "SELECT version, plans, content, published_by, published_at, reason FROM incentive_publications"
        " WHERE month = ?" + (" AND version = ?" if version else "") + " ORDER BY version DESC"
    )
    with engine.connect() as conn:
        rows = execute(conn, sql, [month, version] if version else [month])
    if not rows:
        return None
    v, plans, content, by, at, reason = rows[0]
    return {
        "version": v,
        "plans": plans.split(","),
        "published_by": by,
        "published_at": str(at),
        "reason": reason,
        "statements": json.loads(content),
    }


def publish(engine, result: MonthResult, by: str, supersede: bool = False, reason: str | None = None) -> dict:
    """Publish the month's statements once every plan with an approval chain is approved for the month
    (:mod:`weixi.incentives.approvals`). A month already published is never changed: a correction is a new
    version (``supersede`` with a ``reason``) and the earlier version stays readable."""
    import hashlib

    from weixi.adapters.sql import execute
    from weixi.incentives.approvals import require_approved

    if not by or not by.strip():
        raise IncentiveInvalid("incentive_publisher_missing")
    require_approved(engine, result.month, result.chains)  # a plan's pay is published only once its chain approved it
    content = _json(result.to_json())
    digest = hashlib.sha256(content.encode()).hexdigest()
    with engine.begin() as conn:
        rows = execute(
            conn,
            "SELECT version, sha256, published_by, published_at FROM incentive_publications"
            " WHERE month = ? ORDER BY version DESC",
            [result.month],
        )
        if rows and rows[0][1] == digest:
            return {"month": result.month, "version": rows[0][0], "new": False}
        if rows and not supersede:
            v, _, who, at = rows[0]
            raise IncentiveConflict("incentive_already_published", month=result.month, version=v, by=who, at=str(at))
        if rows and not (reason and reason.strip()):
            raise IncentiveInvalid("incentive_correction_needs_reason", Where(field="reason"))
        version = (rows[0][0] + 1) if rows else 1
        execute(
            conn,
            "INSERT INTO incentive_publications (month, version, plans, content, sha256, published_by,"
            " published_at, reason) VALUES (?,?,?,?,?,?,?,?)",
            [result.month, version, ",".join(result.plans), content, digest, by.strip(), now(), reason],
        )
    return {"month": result.month, "version": version, "new": True}


def diff(engine, result: MonthResult) -> dict:
    """A recompute against the published statements: what would change, staff by staff."""
    from weixi.incentives.workflow import changes

    pub = published(engine, result.month)
    if pub is None:
        raise IncentiveNotFound("incentive_nothing_to_compare", month=result.month)
    out = changes(pub["statements"], result.to_json())
    return {
        "month": result.month,
        "published_version": pub["version"],
        "published_by": pub["published_by"],
        "published_at": pub["published_at"],
        **out,
    }


def nominate(
    engine, period: str, staff_id: str, award: str, by: str, letter: str | None = None, form: dict | None = None
) -> str:
    """Record a nomination (a letter or a form) as its first workflow step; returns its id."""
    import uuid

    from weixi.adapters.sql import execute

    if not (letter or form):
        raise IncentiveInvalid("incentive_nomination_needs_letter", Where(field="letter"))
    if not by:
        raise IncentiveInvalid("incentive_nominator_missing")
    nid = "N-" + uuid.uuid4().hex[:12]
    with engine.begin() as conn:
        execute(
            conn,
            "INSERT INTO incentive_nominations (nomination_id, period, staff_id, award, letter, form, status)"
            " VALUES (?,?,?,?,?,?,?)",
            [nid, period, staff_id, award, letter, _json(form) if form else None, "nominated"],
        )
        execute(
            conn,
            "INSERT INTO incentive_steps (nomination_id, step, decision, actor, at, note) VALUES (?,?,?,?,?,?)",
            [nid, "nomination", "accept", by, now(), None],
        )
    return nid


def decide(engine, nomination_id: str, step: str, decision: str, by: str, note: str | None = None) -> str:
    """Committee review, leadership approval or publication of one nomination; returns the new status."""
    if not by:
        raise IncentiveInvalid("incentive_decider_missing")
    with engine.begin() as conn:
        return _decide(conn, nomination_id, step, decision, by, note)


def _decide(conn, nomination_id: str, step: str, decision: str, by: str, note: str | None = None) -> str:
    from weixi.adapters.sql import execute
    from weixi.incentives.workflow import next_status

    rows = execute(conn, "SELECT status FROM incentive_nominations WHERE nomination_id = ?", [nomination_id])
    if not rows:
        raise IncentiveNotFound("incentive_unknown_nomination", nomination=nomination_id)
    status = next_status(rows[0][0], step, decision)  # a step out of order: a StepRefused (409)
    execute(
        conn,
        "INSERT INTO incentive_steps (nomination_id, step, decision, actor, at, note) VALUES (?,?,?,?,?,?)",
        [nomination_id, step, decision, by, now(), note],
    )
    execute(
        conn,
        "UPDATE incentive_nominations SET status = ? WHERE nomination_id = ? AND status = ?",
        [status, nomination_id, rows[0][0]],
    )
    return status


def publish_awards(engine, period: str, by: str) -> list[str]:
    """Publish every approved nomination of ``period``, all in one transaction (all or none)."""
    from weixi.adapters.sql import execute

    if not by:
        raise IncentiveInvalid("incentive_decider_missing")
    with engine.begin() as conn:
        ids = [
            r[0]
            for r in execute(
                conn,
                "SELECT nomination_id FROM incentive_nominations WHERE period = ? AND"
                " status = 'approved' ORDER BY nomination_id",
                [period],
            )
        ]
        for nid in ids:
            _decide(conn, nid, "publication", "accept", by)
    return ids


def nominations(engine, period: str) -> list[dict]:
    import json

    from weixi.adapters.sql import execute

    with engine.connect() as conn:
        noms = execute(
            conn,
            "SELECT nomination_id, staff_id, award, letter, form, status FROM incentive_nominations"
            " WHERE period = ? ORDER BY staff_id, nomination_id",
            [period],
        )
        steps = execute(
            conn,
            "SELECT s.nomination_id, s.step, s.decision, s.actor, s.at, s.note FROM incentive_steps s"
            " JOIN incentive_nominations n ON n.nomination_id = s.nomination_id WHERE n.period = ?"
            " ORDER BY s.at",
            [period],
        )
    by_id: dict[str, list] = {}
    for nid, step, decision, actor, at, note in steps:
        by_id.setdefault(nid, []).append({"step": step, "decision": decision, "by": actor, "at": str(at), "note": note})
    return [
        {
            "nomination_id": n,
            "staff_id": s,
            "award": a,
            "letter": l,
            "form": json.loads(f) if f else None,
            "status": st,
            "steps": by_id.get(n, []),
        }
        for n, s, a, l, f, st in noms
    ]
