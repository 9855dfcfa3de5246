"""Measure a campaign: participants, objectives, cost against budget, lift against the control group, ROI (the
report, frozen once evaluated) and the live figures while it runs.

The figures are in :mod:`weixi.campaigns.measures`, the leaderboard and closing awards in
:mod:`weixi.campaigns.closing`, the draws' export and verification in :mod:`weixi.campaigns.draw_audit`, the
follow-up tasks in :mod:`weixi.campaigns.follow_ups`; this module re-exports them for its callers.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine

from weixi.adapters.sql import as_date, execute
from weixi.campaigns import budget as bud
from weixi.campaigns import measures, stats
from weixi.campaigns.awards import cost_per_point_fen
from weixi.campaigns.closing import award_closing, leaderboard
from weixi.campaigns.draw_audit import export_draws, verify_draws, verify_export
from weixi.campaigns.errors import CampaignNotFound
from weixi.campaigns.follow_ups import follow_up_tasks, follow_ups
from weixi.campaigns.incidents import close_out
from weixi.campaigns.measures import participants_sql
from weixi.campaigns.store import campaign_today, iso_text, load

__all__ = [
    "award_closing",
    "evaluate",
    "export_draws",
    "follow_up_tasks",
    "follow_ups",
    "leaderboard",
    "live",
    "participants_sql",
    "report",
    "verify_draws",
    "verify_export",
]


def evaluate(engine: Engine, campaign_id: str) -> dict:
    """The campaign's report as data (the CLI prints it, the HTML and PDF render it)."""
    cpp = None
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        m = measures.measures(conn, c)
        groups = m["groups"]
        recorded = {
            r[0]: (Decimal(r[1]), r[2], r[3])
            for r in execute(
                conn,
                "SELECT objective_id, value, recorded_by, note FROM campaign_measures WHERE campaign_id = ?",
                [c.id],
            )
        }
        costs = measures.costs(conn, c)
        draws = execute(
            conn,
            "SELECT day, prize_id, count(*) FROM campaign_draws WHERE campaign_id = ? "
            "GROUP BY day, prize_id ORDER BY day",
            [c.id],
        )
        done = {
            r[0]: (r[1], iso_text(r[2]))
            for r in execute(
                conn, "SELECT milestone_id, done_by, done_at FROM campaign_milestones WHERE campaign_id = ?", [c.id]
            )
        }
        referral_status = dict(
            execute(
                conn, "SELECT status, count(*) FROM campaign_referrals WHERE campaign_id = ? GROUP BY status", [c.id]
            )
        )
        award_status = dict(
            execute(conn, "SELECT status, count(*) FROM campaign_awards WHERE campaign_id = ? GROUP BY status", [c.id])
        )
        steps = execute(
            conn,
            "SELECT action, to_status, actor, at, note FROM campaign_steps WHERE campaign_id = ? ORDER BY seq",
            [c.id],
        )
        times = execute(conn, "SELECT committed_at, revealed_at FROM campaigns WHERE campaign_id = ?", [c.id])[0]
    cpp = cost_per_point_fen(engine, c)
    objectives = []
    for o in c.objectives:
        if o.id in recorded:  # source: "recorded" (by recorded_by) or "ledger"; pages name it in the reader's language
            actual, source, by = recorded[o.id][0], "recorded", recorded[o.id][1]
        else:
            actual, source, by = measures.actual(o.metric, m), "ledger", None
        rate = (actual / o.target) if actual is not None else None
        objectives.append(
            {
                "id": o.id,
                "name": o.name,
                "metric": o.metric,
                "target": str(o.target),
                "actual": None if actual is None else measures.plain(actual, o.metric),
                "achievement": measures.dec(rate),
                "met": rate is not None and rate >= 1,
                "source": source,
                "recorded_by": by,
            }
        )
    lines = bud.burn(c, cpp, costs, m["points_issued"])
    planned = sum(l.planned_fen for l in lines)
    actual_cost = sum(l.actual_fen for l in lines)
    lift = stats.lift(groups["treatment"], groups["control"])
    roi = stats.roi(lift, c.outcome, c.margin_share, actual_cost)
    unit = "yuan per member" if c.outcome == "spend" else "share of members active"
    scale = Decimal(100) if c.outcome == "spend" else Decimal(1)
    draw_days: dict[str, dict] = {}
    for day, prize_id, n in draws:
        d = draw_days.setdefault(str(as_date(day)), {"draws": 0, "prizes": 0})
        d["draws"] += int(n)
        d["prizes"] += int(n) if prize_id else 0
    series: dict[str, dict] = {}
    for day, grp, fen in m["daily"]:
        series.setdefault(str(as_date(day)), {"treatment": 0, "control": 0})[grp] = int(fen)
    return {
        "campaign_id": c.id,
        "name": c.name,
        "status": info["status"],
        "from": str(c.window.start),
        "to": str(c.window.end),
        "owner": c.owner,
        "description": c.description,
        "steps": [{"action": s[0], "status": s[1], "by": s[2], "at": iso_text(s[3])} for s in steps],
        "cancelled": next(
            ({"by": s[2], "at": iso_text(s[3]), "reason": s[4]} for s in reversed(steps) if s[0] == "cancel"), None
        ),
        "audience": {
            "source": c.audience.source,
            "treatment": groups["treatment"].n,
            "control": groups["control"].n,
            "control_share": str(c.audience.control_share),
        },
        "participants": m["participants"],
        "objectives": objectives,
        "points": {
            "issued": m["points_issued"],
            "by_source": m["points_by_source"],
            "redeemed": m["points_redeemed"],
            "spent_on_chances": m["chance_points"],
            "cost_per_point_fen": str(cpp),
        },
        "budget": {
            "lines": [
                {
                    "line": l.line,
                    "planned_yuan": measures.yuan(l.planned_fen),
                    "actual_yuan": measures.yuan(l.actual_fen),
                    "burn": measures.dec(l.burn),
                    "planned_points": l.planned_points,
                    "actual_points": l.actual_points,
                }
                for l in lines
            ],
            "planned_yuan": measures.yuan(planned),
            "actual_yuan": measures.yuan(actual_cost),
            "burn": measures.dec(Decimal(actual_cost) / planned) if planned else None,
        },
        "lift": {
            "outcome": c.outcome,
            "unit": unit,
            "treatment_mean": measures.dec(lift.treatment.mean / scale),
            "control_mean": measures.dec(lift.control.mean / scale),
            "difference": measures.dec(lift.difference / scale),
            "low": measures.dec(lift.low / scale) if lift.low is not None else None,
            "high": measures.dec(lift.high / scale) if lift.high is not None else None,
            "relative": measures.dec(lift.relative),
            "significant": lift.significant,
            "confidence": "95%",
            "note": lift.note,
        },
        "roi": {
            "incremental_sales_yuan": measures.yuan(roi.incremental_fen),
            "margin_share": str(c.margin_share),
            "incremental_margin_yuan": measures.yuan(roi.margin_fen),
            "cost_yuan": measures.yuan(roi.cost_fen),
            "roi": measures.dec(roi.roi),
            "low": measures.dec(roi.low),
            "high": measures.dec(roi.high),
            "note": roi.note,
        },
        "lottery": None
        if c.lottery is None
        else {
            "commitment": info["commitment"],
            "committed_at": iso_text(times[0]),
            "revealed_at": iso_text(times[1]),
            "seed": info["seed_hex"] if times[1] is not None else None,
            "days": draw_days,
        },
        "daily_sales": [
            {
                "day": d,
                "treatment_per_member_yuan": measures.dec(
                    Decimal(v["treatment"]) / 100 / (groups["treatment"].n or 1), "0.01"
                ),
                "control_per_member_yuan": measures.dec(
                    Decimal(v["control"]) / 100 / (groups["control"].n or 1), "0.01"
                ),
            }
            for d, v in sorted(series.items())
        ],
        "milestones": [
            {
                "id": ms.id,
                "name": ms.name,
                "owner": ms.owner,
                "due": str(ms.due),
                "done_by": done.get(ms.id, (None, None))[0],
                "done_at": done.get(ms.id, (None, None))[1],
            }
            for ms in c.milestones
        ],
        "risks": [
            {
                "id": r.id,
                "category": r.category,
                "description": r.description,
                "likelihood": r.likelihood,
                "impact": r.impact,
                "score": r.score,
                "level": r.level,
                "response": r.response,
                "owner": r.owner,
            }
            for r in sorted(c.risks, key=lambda r: -r.score)
        ],
        "referrals": {k: int(v) for k, v in referral_status.items()},
        "awards": {k: int(v) for k, v in award_status.items()},
    }


def live(engine: Engine, campaign_id: str, day: date | None = None) -> dict:
    """A campaign at a glance while it runs (the console's live dashboard polls it): audience, participants,
    points issued, the day's draws per prize against the day's stock, gift stock, and budget burn. The same
    queries as :func:`evaluate`, without the lift; ``day`` (default today, kept inside the window) picks the box."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        m = measures.measures(conn, c)
        groups = {k: g.n for k, g in m["groups"].items()}
        costs = measures.costs(conn, c)
        day = min(max(day or campaign_today(c), c.window.start), c.window.end)
        box = {
            (r[0], r[1] or None): (int(r[2]), int(r[3]))
            for r in execute(
                conn,
                "SELECT day, item_id, quantity, issued FROM campaign_stock WHERE campaign_id = ? AND day IN (?, '*')",
                [c.id, day.isoformat()],
            )
        }
        draws = measures.scalar(conn, "SELECT count(*) FROM campaign_draws WHERE campaign_id = ?", [c.id])
        review = measures.scalar(
            conn, "SELECT count(*) FROM campaign_referrals WHERE campaign_id = ? AND status = 'review'", [c.id]
        )
        pending = measures.scalar(
            conn, "SELECT count(*) FROM campaign_awards WHERE campaign_id = ? AND status = 'pending'", [c.id]
        )
    lines = bud.burn(c, cost_per_point_fen(engine, c), costs, m["points_issued"])
    planned, actual = sum(l.planned_fen for l in lines), sum(l.actual_fen for l in lines)

    def item(item_id, name, planned_qty, on="*"):
        quantity, issued = box.get((on, item_id), (planned_qty, 0))
        return {"id": item_id, "name": name, "quantity": quantity, "issued": issued, "left": quantity - issued}

    prizes = (
        [item(p.id, p.name, p.per_day, str(day)) for p in c.lottery.prizes]
        + [item(None, "谢谢参与 (blank)", c.lottery.blanks_per_day, str(day))]
        if c.lottery
        else []
    )
    return {
        "campaign_id": c.id,
        "name": c.name,
        "status": info["status"],
        "from": str(c.window.start),
        "to": str(c.window.end),
        "day": str(day),
        "audience": {"treatment": groups.get("treatment", 0), "control": groups.get("control", 0)},
        "participants": m["participants"],
        "sales_yuan": measures.yuan(m["sales_fen"]),
        "points": {"issued": m["points_issued"], "by_source": m["points_by_source"], "awards_pending": pending},
        "draws": {"total": draws, "today": sum(p["issued"] for p in prizes), "prizes": prizes},
        "gifts": [item(g.id, g.name, g.stock) for g in c.gifts],
        "budget": {
            "lines": [
                {
                    "line": l.line,
                    "planned_yuan": measures.yuan(l.planned_fen),
                    "actual_yuan": measures.yuan(l.actual_fen),
                    "burn": measures.dec(l.burn),
                }
                for l in lines
            ],
            "planned_yuan": measures.yuan(planned),
            "actual_yuan": measures.yuan(actual),
            "burn": measures.dec(Decimal(actual) / planned) if planned else None,
        },
        "referrals_in_review": review,
    }


def report(engine: Engine, campaign_id: str) -> dict:
    """The frozen evaluation when the campaign was evaluated, else a live one; with the close-out (summary,
    incident log, the risk register's follow-up) as it stands."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        row = execute(conn, "SELECT report FROM campaigns WHERE campaign_id = ?", [campaign_id])
    if not row:
        raise CampaignNotFound("unknown_campaign", campaign=campaign_id)
    data = (
        {**json.loads(row[0][0]), "frozen": True} if row[0][0] else {**evaluate(engine, campaign_id), "frozen": False}
    )
    # the close-out is read live: incidents and risk outcomes recorded after the evaluation are in it too
    return {**data, "close_out": close_out(engine, campaign_id, data)}
