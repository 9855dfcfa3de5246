"""Campaigns (保客活动): create from a checked file, move through the lifecycle, run the mechanics.

One module per concern: this one holds the campaign record, its lifecycle with who and when, the audience and
control group, who may take part, request keys, and the points the campaign credits through the ledger
(``adjust`` events with the campaign's event ids, so a rerun posts nothing twice). The lottery's chances and
draws are in :mod:`weixi.campaigns.lottery_service`, gifts on visits in :mod:`weixi.campaigns.gifts`, promotion
through the messaging outbox in :mod:`weixi.campaigns.promotion`, referrals in
:mod:`weixi.campaigns.referral_service`; evaluation and reports in :mod:`weixi.campaigns.report`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import as_date, execute, executemany, is_pg
from weixi.campaigns import lottery as lot
from weixi.campaigns.lifecycle import LifecycleError, editable, transition
from weixi.campaigns.model import APPROVED, CLOSED, DRAFT, EVALUATED, RUNNING, Campaign
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events, with_retries
from weixi.ledger.requests import scoped_id
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import load_plan_text
from weixi.plans.service import NoActivePlan, active_plan


class CampaignError(Exception):
    """A refused request; ``code`` maps to an exit status or HTTP status (not_found 404, invalid 422,
    refused/conflict 409)."""

    def __init__(self, message: str, code: str = "refused", diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.code = code
        self.diagnostics = diagnostics or []


# --- the record ---------------------------------------------------------------------------------


def parse(text: str, source: str) -> Campaign:
    found, diags = load_plan_text(text, source)
    if found is None or not isinstance(found, Campaign):
        errors = [d for d in diags if d.is_error]
        if found is not None:
            raise CampaignError(f"{source} is not a campaign file: write 'kind: campaign' at the top", "invalid")
        raise CampaignError(f"{source}: {len(errors)} error(s); run 'weixi plan check {source}'", "invalid", diags)
    return found


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def campaign_today(c: Campaign, now: datetime | None = None) -> date:
    return (now or now_utc()).astimezone(ZoneInfo(c.timezone)).date()


def _lock(conn: Connection, campaign_id: str) -> tuple | None:
    sql = "SELECT status, content, source, created_by, seed_hex, commitment, next_draw, secret_hex " \
          "FROM campaigns WHERE campaign_id = ?"
    rows = execute(conn, sql + (" FOR UPDATE" if is_pg(conn) else ""), [campaign_id])
    return rows[0] if rows else None


def load(conn: Connection, campaign_id: str, lock: bool = False) -> tuple[dict, Campaign]:
    row = _lock(conn, campaign_id) if lock else (execute(
        conn, "SELECT status, content, source, created_by, seed_hex, commitment, next_draw, secret_hex "
              "FROM campaigns WHERE campaign_id = ?", [campaign_id]) or [None])[0]
    if row is None:
        raise CampaignError(f"unknown campaign {campaign_id!r}: see 'weixi campaign list'", "not_found")
    status, content, source, created_by, seed_hex, commitment, next_draw, secret_hex = row
    info = {"status": status, "created_by": created_by, "seed_hex": seed_hex, "commitment": commitment,
            "next_draw": int(next_draw), "secret": bytes.fromhex(secret_hex), "content": content}
    return info, _parsed(content, source)


_CACHE: dict[str, Campaign] = {}


def _parsed(content: str, source: str) -> Campaign:
    key = hashlib.sha256((source + "\0" + content).encode()).hexdigest()
    if key not in _CACHE:
        _CACHE[key] = parse(content, source)
    return _CACHE[key]


def _step(conn: Connection, campaign_id: str, action: str, before: str | None, after: str, actor: str,
          note: str | None, at: datetime) -> None:
    seq = execute(conn, "SELECT coalesce(max(seq), 0) + 1 FROM campaign_steps WHERE campaign_id = ?", [campaign_id])[0][0]
    execute(conn, "INSERT INTO campaign_steps (campaign_id, seq, action, from_status, to_status, actor, at, note) "
                  "VALUES (?,?,?,?,?,?,?,?)", [campaign_id, seq, action, before, after, actor, at, note])


def create(engine: Engine, text: str, source: str, by: str, now: datetime | None = None) -> dict:
    """A new draft from a checked campaign file; the same id twice is refused (use update while a draft)."""
    if not by:
        raise CampaignError("say who creates the campaign (--by)", "invalid")
    c = parse(text, source)
    at = now or now_utc()

    def work(conn):
        if execute(conn, "SELECT 1 FROM campaigns WHERE campaign_id = ?", [c.id]):
            raise CampaignError(f"campaign {c.id} already exists: 'weixi campaign update {c.id} FILE' while it is"
                                f" a draft", "conflict")
        execute(conn, "INSERT INTO campaigns (campaign_id, name, status, source, content, sha256, window_start, "
                      "window_end, created_by, created_at, secret_hex) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [c.id, c.name, DRAFT, source, text, hashlib.sha256(text.encode()).hexdigest(), c.window.start,
                 c.window.end, by, at, secrets.token_hex(32)])
        _step(conn, c.id, "create", None, DRAFT, by, None, at)

    with_retries(engine, work)
    return summary(engine, c.id)


def update(engine: Engine, campaign_id: str, text: str, source: str, by: str, now: datetime | None = None) -> dict:
    c = parse(text, source)
    if c.id != campaign_id:
        raise CampaignError(f"the file is campaign {c.id!r}, not {campaign_id!r}", "invalid")
    at = now or now_utc()

    def work(conn):
        info, _ = load(conn, campaign_id, lock=True)
        if not editable(info["status"]):
            raise CampaignError(f"campaign {campaign_id} is {info['status']}: only a draft can be edited"
                                f" (a rejected submission returns to draft)")
        execute(conn, "UPDATE campaigns SET name = ?, source = ?, content = ?, sha256 = ?, window_start = ?, "
                      "window_end = ? WHERE campaign_id = ?",
                [c.name, source, text, hashlib.sha256(text.encode()).hexdigest(), c.window.start, c.window.end,
                 campaign_id])
        _step(conn, campaign_id, "update", DRAFT, DRAFT, by, None, at)

    with_retries(engine, work)
    return summary(engine, campaign_id)


def list_campaigns(engine: Engine) -> list[dict]:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT campaign_id, name, status, window_start, window_end, created_by "
                             "FROM campaigns ORDER BY window_start, campaign_id")
    return [{"campaign_id": r[0], "name": r[1], "status": r[2], "from": str(as_date(r[3])),
             "to": str(as_date(r[4])), "created_by": r[5]} for r in rows]


def file_text(engine: Engine, campaign_id: str) -> dict:
    """The campaign file as saved (what the engine runs, what an editor opens), with its status."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
    return {"campaign_id": c.id, "status": info["status"], "source": c.source, "text": info["content"]}


def summary(engine: Engine, campaign_id: str) -> dict:
    """Status, window, every lifecycle step with who and when, the draw commitment (and the seed once closed)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        steps = execute(conn, "SELECT seq, action, from_status, to_status, actor, at, note FROM campaign_steps "
                              "WHERE campaign_id = ? ORDER BY seq", [campaign_id])
        times = execute(conn, "SELECT committed_at, revealed_at FROM campaigns WHERE campaign_id = ?", [campaign_id])[0]
        groups = dict(execute(conn, "SELECT grp, count(*) FROM campaign_members WHERE campaign_id = ? GROUP BY grp",
                              [campaign_id]))
        draws = execute(conn, "SELECT count(*) FROM campaign_draws WHERE campaign_id = ?", [campaign_id])[0][0]
    out = {"campaign_id": c.id, "name": c.name, "status": info["status"], "from": str(c.window.start),
           "to": str(c.window.end), "timezone": c.timezone, "owner": c.owner, "source": c.source,
           "created_by": info["created_by"],
           "steps": [{"seq": s[0], "action": s[1], "from": s[2], "to": s[3], "by": s[4], "at": iso_text(s[5]),
                      "note": s[6]} for s in steps],
           "audience": {"treatment": int(groups.get("treatment", 0)), "control": int(groups.get("control", 0))},
           "draws": int(draws)}
    if c.lottery is not None:
        out["commitment"] = info["commitment"]
        out["committed_at"] = iso_text(times[0])
        out["seed"] = info["seed_hex"] if times[1] is not None else None
        out["revealed_at"] = iso_text(times[1])
    return out


def approvals(engine: Engine, limit: int = 50) -> dict:
    """Submissions waiting for a decision (who submitted, when) and the latest submit/approve/reject steps of
    every campaign, newest first: who decided what, when, and why."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        waiting = execute(conn, "SELECT c.campaign_id, c.name, c.window_start, c.window_end, c.created_by, s.actor, "
                                "s.at FROM campaigns c JOIN campaign_steps s ON s.campaign_id = c.campaign_id AND "
                                "s.seq = (SELECT max(seq) FROM campaign_steps WHERE campaign_id = c.campaign_id) "
                                "WHERE c.status = 'submitted' ORDER BY s.at, c.campaign_id")
        history = execute(conn, "SELECT s.campaign_id, c.name, s.action, s.from_status, s.to_status, s.actor, s.at, "
                                "s.note FROM campaign_steps s JOIN campaigns c ON c.campaign_id = s.campaign_id WHERE "
                                "s.action IN ('submit', 'approve', 'reject') ORDER BY s.at DESC, s.campaign_id, "
                                "s.seq DESC LIMIT ?", [limit])
    return {"waiting": [{"campaign_id": r[0], "name": r[1], "from": str(as_date(r[2])), "to": str(as_date(r[3])),
                         "created_by": r[4], "submitted_by": r[5], "submitted_at": iso_text(r[6])} for r in waiting],
            "history": [{"campaign_id": r[0], "name": r[1], "action": r[2], "from": r[3], "to": r[4], "by": r[5],
                         "at": iso_text(r[6]), "note": r[7]} for r in history]}


def iso_text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# --- lifecycle ----------------------------------------------------------------------------------


def act(engine: Engine, campaign_id: str, action: str, by: str, note: str | None = None,
        now: datetime | None = None, data_dir: str | Path | None = None) -> dict:
    """submit | approve | reject | start | close | evaluate, recorded with who and when.

    approve commits to the draw seed; start fixes the audience and control group and fills the prize box;
    close reveals the seed and credits leaderboard, streak and referral rewards; evaluate freezes the report.
    """
    at = now or now_utc()
    if action == "reject" and not note:
        raise CampaignError("say why the campaign is rejected (--note)", "invalid")
    audience = None
    if action == "start":  # read outside the write transaction: a snapshot may be large
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            _, c = load(conn, campaign_id)
        audience = resolve_audience(engine, c, data_dir)

    def work(conn):
        info, c = load(conn, campaign_id, lock=True)
        submitted_by = (execute(conn, "SELECT actor FROM campaign_steps WHERE campaign_id = ? AND action = 'submit' "
                                      "ORDER BY seq DESC LIMIT 1", [campaign_id]) or [(None,)])[0][0]
        try:
            after = transition(action, info["status"], by, info["created_by"], submitted_by, campaign_today(c, at),
                               c.window.start, c.window.end)
        except LifecycleError as exc:
            raise CampaignError(str(exc)) from None
        if action == "approve" and c.lottery is not None:
            seed = lot.new_seed()
            execute(conn, "UPDATE campaigns SET seed_hex = ?, commitment = ?, committed_at = ? WHERE campaign_id = ?",
                    [seed.hex(), lot.commitment(seed), at, campaign_id])
        if action == "start":
            _start(conn, c, info, audience)
        if action == "close" and c.lottery is not None:
            execute(conn, "UPDATE campaigns SET revealed_at = ? WHERE campaign_id = ?", [at, campaign_id])
        execute(conn, "UPDATE campaigns SET status = ? WHERE campaign_id = ?", [after, campaign_id])
        _step(conn, campaign_id, action, info["status"], after, by, note, at)

    with_retries(engine, work)
    if action == "close":
        from weixi.campaigns import referral_service as campaign_referrals
        from weixi.campaigns import report as campaign_report
        campaign_referrals.settle(engine, campaign_id, now=at)
        campaign_report.award_closing(engine, campaign_id, now=at)
    if action == "evaluate":
        from weixi.campaigns import report as campaign_report
        report = campaign_report.evaluate(engine, campaign_id)
        with_retries(engine, lambda conn: execute(conn, "UPDATE campaigns SET report = ? WHERE campaign_id = ?",
                                                  [json.dumps(report, ensure_ascii=False, default=str), campaign_id]))
    post_pending_awards(engine, campaign_id)
    return summary(engine, campaign_id)


def resolve_audience(engine: Engine, c: Campaign, data_dir: str | Path | None = None) -> list[str]:
    """The audience's member ids: from the ledger's members, a monthly close's snapshot, or the file's list."""
    a = c.audience
    if a.source == "list":
        return sorted(set(a.members))
    if a.source == "ledger":
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            sql, params = "SELECT member_id FROM members", []
            if a.tiers:
                sql += f" WHERE tier IN ({','.join('?' * len(a.tiers))})"
                params = list(a.tiers)
            return sorted(r[0] for r in execute(conn, sql, params))
    from weixi.campaigns.audience import snapshot_members
    return snapshot_members(a, data_dir)


def control_group(campaign_id: str, member_id: str, share: Decimal) -> bool:
    """Whether a member is held out: the first 8 hex digits of SHA-256("<campaign>|<member>") as a fraction of
    16**8 fall below the share. Anyone can recompute the split."""
    if share <= 0:
        return False
    value = int(hashlib.sha256(f"{campaign_id}|{member_id}".encode()).hexdigest()[:8], 16)
    return Decimal(value) / Decimal(16 ** 8) < share


def _start(conn: Connection, c: Campaign, info: dict, members: list[str]) -> None:
    if not members:
        raise CampaignError(f"the audience of {c.id} is empty ({c.audience.source}): nobody to run it for")
    rows = [(c.id, m, "control" if control_group(c.id, m, c.audience.control_share) else "treatment")
            for m in members]
    execute(conn, "DELETE FROM campaign_members WHERE campaign_id = ?", [c.id])
    executemany(conn, "INSERT INTO campaign_members (campaign_id, member_id, grp) VALUES (?,?,?)", rows)
    stock = []
    if c.lottery is not None:
        for day in c.window.days():
            stock += [(c.id, day.isoformat(), p.id, p.per_day) for p in c.lottery.prizes]
            stock.append((c.id, day.isoformat(), "", c.lottery.blanks_per_day))
    stock += [(c.id, "*", g.id, g.stock) for g in c.gifts]
    execute(conn, "DELETE FROM campaign_stock WHERE campaign_id = ?", [c.id])
    executemany(conn, "INSERT INTO campaign_stock (campaign_id, day, item_id, quantity, issued) VALUES (?,?,?,?,0)",
                stock)


def milestone_done(engine: Engine, campaign_id: str, milestone_id: str, by: str, note: str | None = None,
                   now: datetime | None = None) -> dict:
    def work(conn):
        _, c = load(conn, campaign_id, lock=True)
        if milestone_id not in {m.id for m in c.milestones}:
            raise CampaignError(f"campaign {campaign_id} has no milestone {milestone_id!r}"
                                f" (milestones: {', '.join(m.id for m in c.milestones) or 'none'})", "not_found")
        execute(conn, "DELETE FROM campaign_milestones WHERE campaign_id = ? AND milestone_id = ?",
                [campaign_id, milestone_id])
        execute(conn, "INSERT INTO campaign_milestones (campaign_id, milestone_id, done_by, done_at, note) "
                      "VALUES (?,?,?,?,?)", [campaign_id, milestone_id, by, now or now_utc(), note])

    with_retries(engine, work)
    return {"campaign_id": campaign_id, "milestone": milestone_id, "done_by": by}


def record_cost(engine: Engine, campaign_id: str, line: str, amount_fen: int, by: str, day: date | None = None,
                note: str | None = None) -> dict:
    """An actual cost against a budget line (venue hire paid, SMS invoice ...)."""
    from weixi.campaigns.model import BUDGET_LINES
    if line not in BUDGET_LINES or line == "points":
        raise CampaignError(f"unknown money line {line!r}: one of {', '.join(l for l in BUDGET_LINES if l != 'points')}"
                            " (points are counted from the ledger)", "invalid")
    if amount_fen <= 0:
        raise CampaignError("the amount must be more than zero", "invalid")

    def work(conn):
        _, c = load(conn, campaign_id)
        execute(conn, "INSERT INTO campaign_costs (campaign_id, line, amount_fen, day, note, recorded_by, recorded_at) "
                      "VALUES (?,?,?,?,?,?,?)", [campaign_id, line, amount_fen, day or campaign_today(c), note, by, now_utc()])

    with_retries(engine, work)
    return {"campaign_id": campaign_id, "line": line, "amount_fen": amount_fen}


def record_measure(engine: Engine, campaign_id: str, objective_id: str, value: Decimal, by: str,
                   note: str | None = None) -> dict:
    """A measured value for an objective the ledger cannot see (a satisfaction survey done on paper)."""
    def work(conn):
        _, c = load(conn, campaign_id)
        if objective_id not in {o.id for o in c.objectives}:
            raise CampaignError(f"campaign {campaign_id} has no objective {objective_id!r}"
                                f" (objectives: {', '.join(o.id for o in c.objectives)})", "not_found")
        execute(conn, "DELETE FROM campaign_measures WHERE campaign_id = ? AND objective_id = ?",
                [campaign_id, objective_id])
        execute(conn, "INSERT INTO campaign_measures (campaign_id, objective_id, value, note, recorded_by, recorded_at) "
                      "VALUES (?,?,?,?,?,?)", [campaign_id, objective_id, str(value), note, by, now_utc()])

    with_retries(engine, work)
    return {"campaign_id": campaign_id, "objective": objective_id, "value": str(value)}


# --- who may take part --------------------------------------------------------------------------


def require_treatment(conn: Connection, c: Campaign, member_id: str) -> None:
    row = execute(conn, "SELECT grp FROM campaign_members WHERE campaign_id = ? AND member_id = ?", [c.id, member_id])
    if row and row[0][0] == "treatment":
        return
    if row:
        raise CampaignError(f"member {member_id} is in the control group of {c.id}: held out of the campaign"
                            f" so that its effect can be measured")
    if not execute(conn, "SELECT 1 FROM members WHERE member_id = ?", [member_id]):
        raise CampaignError(f"unknown member {member_id}: not in the ledger nor in the campaign's audience",
                            "not_found")
    raise CampaignError(f"member {member_id} is not in the audience of {c.id}")


def require_running(c: Campaign, info: dict, day: date, what: str) -> None:
    if info["status"] != RUNNING:
        hint = {DRAFT: "it is still a draft", "submitted": "it awaits approval", APPROVED: "it has not started",
                CLOSED: "it is closed", EVALUATED: "it is closed and evaluated"}.get(info["status"], info["status"])
        raise CampaignError(f"{what} refused: campaign {c.id} is not running ({hint})")
    if day < c.window.start:
        raise CampaignError(f"{what} refused: the window of {c.id} opens on {c.window.start} (today is {day})")
    if day > c.window.end:
        raise CampaignError(f"{what} refused: the window of {c.id} ended on {c.window.end} (today is {day})")


# --- request keys -------------------------------------------------------------------------------


def request_key(prefix: str, request_id: str | None, member_id: str) -> str:
    """The id of a keyed request, scoped to the member (:func:`weixi.ledger.requests.scoped_id`); without a key, a
    random one."""
    return scoped_id(prefix, request_id, member_id) if request_id else f"{prefix}:{secrets.token_hex(8)}"


def same_request(conn: Connection, sql: str, key: str, asked: tuple, request_id: str) -> bool:
    """Whether ``key`` was already used (``sql`` reads what it asked); used with another body: refused, telling
    nothing about the first."""
    rows = execute(conn, sql, [key])
    if not rows:
        return False
    if tuple(rows[0]) != asked:
        raise CampaignError(f"request_id {request_id} was already used for another request", "reused")
    return True


# --- points credited by the campaign -------------------------------------------------------------


def post_pending_awards(engine: Engine, campaign_id: str) -> dict:
    """Credit pending awards through the ledger; a refused one keeps the ledger's reason. Safe to rerun."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, "SELECT a.event_id, a.member_id, a.points, a.note, c.content, c.source FROM campaign_awards a "
                             "JOIN campaigns c ON c.campaign_id = a.campaign_id WHERE a.campaign_id = ? AND "
                             "a.status = 'pending' ORDER BY a.event_id", [campaign_id])
    if not rows:
        return {"posted": 0, "refused": 0, "pending": 0}
    c = _parsed(rows[0][4], rows[0][5])
    day = min(campaign_today(c), c.window.end)
    at = datetime.combine(day, datetime.min.time(), ZoneInfo(c.timezone)) + timedelta(hours=12)
    events = [Event(r[0], r[1], "adjust", at, day, points=int(r[2]), attrs={"reason": f"campaign {campaign_id}: {r[3]}"})
              for r in rows]
    try:
        result = post_events(engine, events)
    except NoActivePlan:
        return {"posted": 0, "refused": 0, "pending": len(rows), "note": "no active points plan: awards wait"}
    refused = {r.event_id: r.reason for r in result.rejected}

    def work(conn):
        for event_id, *_ in rows:
            if event_id in refused:
                execute(conn, "UPDATE campaign_awards SET status = 'refused', note = note || ? WHERE event_id = ?",
                        [f" — refused: {refused[event_id]}", event_id])
            else:
                execute(conn, "UPDATE campaign_awards SET status = 'posted' WHERE event_id = ?", [event_id])

    with_retries(engine, work)
    return {"posted": len(rows) - len(refused), "refused": len(refused), "pending": 0}


def cost_per_point_fen(engine: Engine, c: Campaign) -> Decimal:
    """The campaign's own cost per point, else the active points plan's (1 fen when there is none)."""
    if c.cost_per_point is not None:
        return c.cost_per_point * 100
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            return active_plan(conn)[1].cost_per_point_fen
    except NoActivePlan:
        return Decimal(1)

