"""Campaigns (保客活动): create from a checked file, move through the lifecycle with who and when, record costs,
measures and milestones.

One module per concern: the saved record is read and written in :mod:`weixi.campaigns.store`, the audience and
control group in :mod:`weixi.campaigns.audience`, who may take part and request keys in
:mod:`weixi.campaigns.participation`, the points the campaign credits through the ledger in
:mod:`weixi.campaigns.awards`. The lottery's chances and draws are in :mod:`weixi.campaigns.lottery_service`, gifts
on visits in :mod:`weixi.campaigns.gifts`, promotion through the messaging outbox in :mod:`weixi.campaigns.promotion`,
referrals in :mod:`weixi.campaigns.referral_service`; evaluation and reports in :mod:`weixi.campaigns.report`.
Refusals are coded errors (:mod:`weixi.campaigns.errors`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import as_date, execute, executemany
from weixi.campaigns import lottery as lot
from weixi.campaigns.audience import control_group, resolve_audience
from weixi.campaigns.awards import cost_per_point_fen, post_pending_awards
from weixi.campaigns.errors import (
    CampaignError,
    CampaignFileInvalid,
    CampaignInvalid,
    CampaignNotFound,
    CampaignRefused,
)
from weixi.campaigns.lifecycle import NEEDS_REASON, editable, transition
from weixi.campaigns.model import APPROVED, DRAFT, RUNNING, Campaign
from weixi.campaigns.participation import request_key, require_running, require_treatment, same_request
from weixi.campaigns.store import campaign_today, check, iso_text, load, now_utc, parse, record_step
from weixi.ledger.posting import with_retries

__all__ = [  # the use cases here, and what callers used to import from this module
    "CampaignError",
    "CampaignFileInvalid",
    "act",
    "approvals",
    "campaign_today",
    "check",
    "control_group",
    "cost_per_point_fen",
    "create",
    "file_text",
    "iso_text",
    "list_campaigns",
    "load",
    "milestone_done",
    "now_utc",
    "parse",
    "post_pending_awards",
    "record_cost",
    "record_measure",
    "request_key",
    "require_running",
    "require_treatment",
    "resolve_audience",
    "same_request",
    "summary",
    "update",
]

# --- the record ---------------------------------------------------------------------------------


def create(engine: Engine, text: str, source: str, by: str, now: datetime | None = None) -> dict:
    """A new draft from a checked campaign file; the same id twice is refused (use update while a draft)."""
    if not by:
        raise CampaignInvalid("campaign_creator_missing")
    c = parse(text, source)
    at = now or now_utc()

    def work(conn):
        if execute(conn, "SELECT 1 FROM campaigns WHERE campaign_id = ?", [c.id]):
            raise CampaignRefused("campaign_exists", campaign=c.id)
        execute(
            conn,
            "INSERT INTO campaigns (campaign_id, name, status, source, content, sha256, window_start, "
            "window_end, created_by, created_at, secret_hex) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                c.id,
                c.name,
                DRAFT,
                source,
                text,
                hashlib.sha256(text.encode()).hexdigest(),
                c.window.start,
                c.window.end,
                by,
                at,
                secrets.token_hex(32),
            ],
        )
        record_step(conn, c.id, "create", None, DRAFT, by, None, at)

    with_retries(engine, work)
    return summary(engine, c.id)


def update(engine: Engine, campaign_id: str, text: str, source: str, by: str, now: datetime | None = None) -> dict:
    c = parse(text, source)
    if c.id != campaign_id:
        raise CampaignInvalid("campaign_file_other_id", found=c.id, campaign=campaign_id)
    at = now or now_utc()

    def work(conn):
        info, _ = load(conn, campaign_id, lock=True)
        if not editable(info["status"]):
            raise CampaignRefused("campaign_not_draft", campaign=campaign_id, campaign_status=info["status"])
        execute(
            conn,
            "UPDATE campaigns SET name = ?, source = ?, content = ?, sha256 = ?, window_start = ?, "
            "window_end = ? WHERE campaign_id = ?",
            [
                c.name,
                source,
                text,
                hashlib.sha256(text.encode()).hexdigest(),
                c.window.start,
                c.window.end,
                campaign_id,
            ],
        )
        record_step(conn, campaign_id, "update", DRAFT, DRAFT, by, None, at)

    with_retries(engine, work)
    return summary(engine, campaign_id)


def list_campaigns(engine: Engine) -> list[dict]:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT campaign_id, name, status, window_start, window_end, created_by "
            "FROM campaigns ORDER BY window_start, campaign_id",
        )
    return [
        {
            "campaign_id": r[0],
            "name": r[1],
            "status": r[2],
            "from": str(as_date(r[3])),
            "to": str(as_date(r[4])),
            "created_by": r[5],
        }
        for r in rows
    ]


def file_text(engine: Engine, campaign_id: str) -> dict:
    """The campaign file as saved (what the engine runs, what an editor opens), with its status."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
    return {"campaign_id": c.id, "status": info["status"], "source": c.source, "text": info["content"]}


def summary(engine: Engine, campaign_id: str) -> dict:
    """Status, window, every lifecycle step with who and when, the draw commitment (and the seed once closed)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        steps = execute(
            conn,
            "SELECT seq, action, from_status, to_status, actor, at, note FROM campaign_steps "
            "WHERE campaign_id = ? ORDER BY seq",
            [campaign_id],
        )
        times = execute(conn, "SELECT committed_at, revealed_at FROM campaigns WHERE campaign_id = ?", [campaign_id])[0]
        groups = dict(
            execute(
                conn, "SELECT grp, count(*) FROM campaign_members WHERE campaign_id = ? GROUP BY grp", [campaign_id]
            )
        )
        draws = execute(conn, "SELECT count(*) FROM campaign_draws WHERE campaign_id = ?", [campaign_id])[0][0]
    out = {
        "campaign_id": c.id,
        "name": c.name,
        "status": info["status"],
        "from": str(c.window.start),
        "to": str(c.window.end),
        "timezone": c.timezone,
        "owner": c.owner,
        "source": c.source,
        "created_by": info["created_by"],
        "steps": [
            {"seq": s[0], "action": s[1], "from": s[2], "to": s[3], "by": s[4], "at": iso_text(s[5]), "note": s[6]}
            for s in steps
        ],
        "audience": {"treatment": int(groups.get("treatment", 0)), "control": int(groups.get("control", 0))},
        "draws": int(draws),
    }
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
        waiting = execute(
            conn,
            "SELECT c.campaign_id, c.name, c.window_start, c.window_end, c.created_by, s.actor, "
            "s.at FROM campaigns c JOIN campaign_steps s ON s.campaign_id = c.campaign_id AND "
            "s.seq = (SELECT max(seq) FROM campaign_steps WHERE campaign_id = c.campaign_id) "
            "WHERE c.status = 'submitted' ORDER BY s.at, c.campaign_id",
        )
        history = execute(
            conn,
            "SELECT s.campaign_id, c.name, s.action, s.from_status, s.to_status, s.actor, s.at, "
            "s.note FROM campaign_steps s JOIN campaigns c ON c.campaign_id = s.campaign_id WHERE "
            "s.action IN ('submit', 'approve', 'reject') ORDER BY s.at DESC, s.campaign_id, "
            "s.seq DESC LIMIT ?",
            [limit],
        )
    return {
        "waiting": [
            {
                "campaign_id": r[0],
                "name": r[1],
                "from": str(as_date(r[2])),
                "to": str(as_date(r[3])),
                "created_by": r[4],
                "submitted_by": r[5],
                "submitted_at": iso_text(r[6]),
            }
            for r in waiting
        ],
        "history": [
            {
                "campaign_id": r[0],
                "name": r[1],
                "action": r[2],
                "from": r[3],
                "to": r[4],
                "by": r[5],
                "at": iso_text(r[6]),
                "note": r[7],
            }
            for r in history
        ],
    }


# --- lifecycle ----------------------------------------------------------------------------------


def act(
    engine: Engine,
    campaign_id: str,
    action: str,
    by: str,
    note: str | None = None,
    now: datetime | None = None,
    data_dir: str | Path | None = None,
) -> dict:
    """submit | approve | reject | start | close | evaluate | cancel, recorded with who and when.

    approve commits to the draw seed; start fixes the audience and control group and fills the prize box;
    close reveals the seed and credits leaderboard, streak and referral rewards; evaluate freezes the report;
    cancel (with its reason, ``note``) stops a campaign not yet ended: draws, chances, gifts, referrals and
    messages are refused from then on (they need a running campaign), its messages still queued in the outbox are
    cancelled, what was given stays given, an approved or
    running draw's seed is revealed so that the draws made can be verified, and no closing rewards are credited.
    """
    at = now or now_utc()
    if action in NEEDS_REASON and not (note or "").strip():
        raise CampaignInvalid(NEEDS_REASON[action])
    audience = None
    if action == "start":  # read outside the write transaction: a snapshot may be large
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            _, c = load(conn, campaign_id)
        audience = resolve_audience(engine, c, data_dir)

    def work(conn):
        info, c = load(conn, campaign_id, lock=True)
        submitted_by = (
            execute(
                conn,
                "SELECT actor FROM campaign_steps WHERE campaign_id = ? AND action = 'submit' "
                "ORDER BY seq DESC LIMIT 1",
                [campaign_id],
            )
            or [(None,)]
        )[0][0]
        after = transition(
            action,
            info["status"],
            by,
            info["created_by"],
            submitted_by,
            campaign_today(c, at),
            c.window.start,
            c.window.end,
        )
        if action == "approve" and c.lottery is not None:
            seed = lot.new_seed()
            execute(
                conn,
                "UPDATE campaigns SET seed_hex = ?, commitment = ?, committed_at = ? WHERE campaign_id = ?",
                [seed.hex(), lot.commitment(seed), at, campaign_id],
            )
        if action == "start":
            _start(conn, c, info, audience)
        committed = info["status"] in (APPROVED, RUNNING)  # a cancelled draw reveals its seed: the draws made verify
        if c.lottery is not None and (action == "close" or (action == "cancel" and committed)):
            execute(conn, "UPDATE campaigns SET revealed_at = ? WHERE campaign_id = ?", [at, campaign_id])
        if action == "cancel":  # its messages still waiting in the outbox are not sent (sent ones stay sent)
            execute(
                conn,
                "UPDATE msg_outbox SET status = 'cancelled', updated_at = ? WHERE status = 'queued' AND message_id IN "
                "(SELECT outbox_id FROM campaign_messages WHERE campaign_id = ? AND outbox_id IS NOT NULL)",
                [at, campaign_id],
            )
        execute(conn, "UPDATE campaigns SET status = ? WHERE campaign_id = ?", [after, campaign_id])
        record_step(conn, campaign_id, action, info["status"], after, by, note, at)

    with_retries(engine, work)
    if action == "close":
        from weixi.campaigns import referral_service as campaign_referrals
        from weixi.campaigns import report as campaign_report

        campaign_referrals.settle(engine, campaign_id, now=at)
        campaign_report.award_closing(engine, campaign_id, now=at)
    if action == "evaluate":
        from weixi.campaigns import report as campaign_report

        report = campaign_report.evaluate(engine, campaign_id)
        with_retries(
            engine,
            lambda conn: execute(
                conn,
                "UPDATE campaigns SET report = ? WHERE campaign_id = ?",
                [json.dumps(report, ensure_ascii=False, default=str), campaign_id],
            ),
        )
    post_pending_awards(engine, campaign_id)
    return summary(engine, campaign_id)


def _start(conn: Connection, c: Campaign, info: dict, members: list[str]) -> None:
    if not members:
        raise CampaignRefused("campaign_audience_empty", campaign=c.id, source=c.audience.source)
    rows = [(c.id, m, "control" if control_group(c.id, m, c.audience.control_share) else "treatment") for m in members]
    execute(conn, "DELETE FROM campaign_members WHERE campaign_id = ?", [c.id])
    executemany(conn, "INSERT INTO campaign_members (campaign_id, member_id, grp) VALUES (?,?,?)", rows)
    stock = []
    if c.lottery is not None:
        for day in c.window.days():
            stock += [(c.id, day.isoformat(), p.id, p.per_day) for p in c.lottery.prizes]
            stock.append((c.id, day.isoformat(), "", c.lottery.blanks_per_day))
    stock += [(c.id, "*", g.id, g.stock) for g in c.gifts]
    execute(conn, "DELETE FROM campaign_stock WHERE campaign_id = ?", [c.id])
    executemany(
        conn, "INSERT INTO campaign_stock (campaign_id, day, item_id, quantity, issued) VALUES (?,?,?,?,0)", stock
    )


def milestone_done(
    engine: Engine, campaign_id: str, milestone_id: str, by: str, note: str | None = None, now: datetime | None = None
) -> dict:
    def work(conn):
        _, c = load(conn, campaign_id, lock=True)
        if milestone_id not in {m.id for m in c.milestones}:
            raise CampaignNotFound(
                "campaign_unknown_milestone",
                campaign=campaign_id,
                milestone=milestone_id,
                milestones=[m.id for m in c.milestones] or None,
            )
        execute(
            conn,
            "DELETE FROM campaign_milestones WHERE campaign_id = ? AND milestone_id = ?",
            [campaign_id, milestone_id],
        )
        execute(
            conn,
            "INSERT INTO campaign_milestones (campaign_id, milestone_id, done_by, done_at, note) VALUES (?,?,?,?,?)",
            [campaign_id, milestone_id, by, now or now_utc(), note],
        )

    with_retries(engine, work)
    return {"campaign_id": campaign_id, "milestone": milestone_id, "done_by": by}


def record_cost(
    engine: Engine,
    campaign_id: str,
    line: str,
    amount_fen: int,
    by: str,
    day: date | None = None,
    note: str | None = None,
) -> dict:
    """An actual cost against a budget line (venue hire paid, SMS invoice ...)."""
    from weixi.campaigns.model import BUDGET_LINES

    if line not in BUDGET_LINES or line == "points":
        raise CampaignInvalid("campaign_unknown_cost_line", line=line, lines=[x for x in BUDGET_LINES if x != "points"])
    if amount_fen <= 0:
        raise CampaignInvalid("campaign_cost_not_positive", amount_fen=amount_fen)

    def work(conn):
        _, c = load(conn, campaign_id)
        execute(
            conn,
            "INSERT INTO campaign_costs (campaign_id, line, amount_fen, day, note, recorded_by, recorded_at) "
            "VALUES (?,?,?,?,?,?,?)",
            [campaign_id, line, amount_fen, day or campaign_today(c), note, by, now_utc()],
        )

    with_retries(engine, work)
    return {"campaign_id": campaign_id, "line": line, "amount_fen": amount_fen}


def record_measure(
    engine: Engine, campaign_id: str, objective_id: str, value: Decimal, by: str, note: str | None = None
) -> dict:
    """A measured value for an objective the ledger cannot see (a satisfaction survey done on paper)."""

    def work(conn):
        _, c = load(conn, campaign_id)
        if objective_id not in {o.id for o in c.objectives}:
            raise CampaignNotFound(
                "campaign_unknown_objective",
                campaign=campaign_id,
                objective=objective_id,
                objectives=[o.id for o in c.objectives] or None,
            )
        execute(
            conn,
            "DELETE FROM campaign_measures WHERE campaign_id = ? AND objective_id = ?",
            [campaign_id, objective_id],
        )
        execute(
            conn,
            "INSERT INTO campaign_measures (campaign_id, objective_id, value, note, recorded_by, recorded_at) "
            "VALUES (?,?,?,?,?,?)",
            [campaign_id, objective_id, str(value), note, by, now_utc()],
        )

    with_retries(engine, work)
    return {"campaign_id": campaign_id, "objective": objective_id, "value": str(value)}
