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
    refuse_late_awards(engine, result)
    _refuse_unapplied_suspensions(engine, result)
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


def _refuse_unapplied_suspensions(engine, result: MonthResult) -> None:
    """A plan suspended for the month by a recorded decision must have been computed as suspended."""
    from weixi.incentives.suspensions import in_force

    applied = {s["plan"] for s in result.suspended}
    for plan, reason in in_force(engine, result.month).items():
        if plan in result.plans and plan not in applied:
            raise IncentiveConflict("incentive_plan_suspended_for_month", plan=plan, month=result.month, reason=reason)


def _plan_awards(statements: dict, plan_id: str) -> list[tuple]:
    """What a plan announces and pays in a month's statements: its lines (staff, source, rule, code, yuan) and its
    results (staff, period, total, grade, award), sorted."""
    found = []
    for staff_id, s in statements.get("staff", {}).items():
        for l in s.get("lines", []):
            if (l.get("params") or {}).get("plan") == plan_id:
                found.append((staff_id, l["order_id"], l["rule"], l.get("code") or "", l["yuan"]))
        for r in s.get("scores", []):
            if r.get("plan") == plan_id:
                found.append((staff_id, r.get("period"), r.get("total"), r.get("grade") or "", r.get("award") or ""))
    return sorted(found, key=repr)


def refuse_late_awards(engine, result: MonthResult) -> None:
    """Awards are published before the next quarter starts (seed 000: "奖励将在下季度开始前正式宣布和发放"): from
    the deadline on, a month whose award plan's results or lines (the awards, their money) are new or differ from
    the latest published version is refused; a correction that leaves the awards as published goes through."""
    from weixi.incentives import deadlines

    if not result.deadlines:
        return
    today = deadlines.today(engine)
    pub = published(engine, result.month)
    new = result.to_json()
    for due in result.deadlines:
        old = _plan_awards(pub["statements"], due["plan"]) if pub else []
        if _plan_awards(new, due["plan"]) != old:
            deadlines.refuse_late(due, today)


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
    from weixi.incentives.months import period as parse_period

    parse_period(period)  # YYYY-MM, YYYY-Qn or YYYY: its awards' deadline follows from it
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
    """Publish every approved nomination of ``period``, all in one transaction (all or none); refused once the
    next quarter has started (seed 000: "奖励将在下季度开始前正式宣布和发放", :mod:`weixi.incentives.deadlines`)."""
    from weixi.adapters.sql import execute
    from weixi.incentives import deadlines

    if not by:
        raise IncentiveInvalid("incentive_decider_missing")
    deadlines.refuse_late_nominations(period, deadlines.today(engine))
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
