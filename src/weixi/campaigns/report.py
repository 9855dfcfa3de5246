"""Measure a campaign: leaderboard, closing awards, participants, objectives, cost against budget, lift against
the control group, ROI; the draw export anyone can verify; follow-up tasks for participants.

Every figure is one SQL aggregate over the ledger (events, journal) and the campaign tables, restricted to the
window and to the audience's treatment or control group; no Python loop over members.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from weixi.adapters import spreadsheet
from weixi.adapters.sql import as_date, execute, is_pg
from weixi.campaigns import budget as bud
from weixi.campaigns import leaderboard as lb
from weixi.campaigns import lottery as lot
from weixi.campaigns import stats
from weixi.campaigns.model import RATE_METRICS, Campaign
from weixi.campaigns.service import (
    CampaignError,
    campaign_today,
    cost_per_point_fen,
    iso_text,
    load,
    post_pending_awards,
)
from weixi.ledger.posting import with_retries

TREATMENT = ("JOIN campaign_members cm ON cm.member_id = {a}.member_id AND cm.campaign_id = ? "
             "AND cm.grp = 'treatment'")


def _in_treatment(alias: str) -> str:
    return TREATMENT.format(a=alias)


def _window(c: Campaign) -> list:
    return [c.window.start, c.window.end]


def _scalar(conn: Connection, sql: str, params: list) -> int:
    return int(execute(conn, sql, params)[0][0] or 0)


# --- leaderboard and closing awards -------------------------------------------------------------


def _board_totals(conn: Connection, c: Campaign, limit: int | None) -> list[tuple[str, int]]:
    """Points earned (earning rules only, not campaign awards) in the window by treatment members, highest first;
    with ``limit``, every member tied with the limit-th one too."""
    base = (f"SELECT j.member_id, sum(j.points) FROM journal j {_in_treatment('j')} WHERE j.kind = 'earn' "
            f"AND j.day >= ? AND j.day <= ? GROUP BY j.member_id")
    params = [c.id, *_window(c)]
    if limit is None:
        return [(r[0], int(r[1])) for r in execute(conn, base + " ORDER BY 2 DESC, 1", params)]
    top = execute(conn, base + " ORDER BY 2 DESC, 1 LIMIT ?", params + [limit])
    if not top:
        return []
    floor = int(top[-1][1])
    rows = execute(conn, base + " HAVING sum(j.points) >= ? ORDER BY 2 DESC, 1", params + [floor])
    return [(r[0], int(r[1])) for r in rows]


def leaderboard(engine: Engine, campaign_id: str, top: int | None = None) -> dict:
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        if c.leaderboard is None:
            raise CampaignError(f"campaign {campaign_id} has no leaderboard", "not_found")
        board = c.leaderboard if top is None else type(c.leaderboard)(top, c.leaderboard.rewards)
        rows = lb.rank(board, _board_totals(conn, c, board.top))
    return {"campaign_id": campaign_id, "from": str(c.window.start), "to": str(c.window.end), "top": board.top,
            "rows": [{"rank": r.rank, "member_id": r.member_id, "points": r.points, "reward": r.reward} for r in rows]}


def _streak_runs(conn: Connection, c: Campaign) -> list[tuple[str, int]]:
    """Each treatment member's longest run of consecutive check-in days in the window (gaps and islands)."""
    day_number = "(d.day - DATE '2000-01-01')" if is_pg(conn) else "CAST(julianday(d.day) AS INTEGER)"
    sql = (f"WITH d AS (SELECT DISTINCT e.member_id, e.day FROM events e {_in_treatment('e')} WHERE e.type = "
           f"'checkin' AND e.day >= ? AND e.day <= ?), "
           f"g AS (SELECT d.member_id, {day_number} - ROW_NUMBER() OVER (PARTITION BY d.member_id ORDER BY d.day) "
           f"AS island FROM d), r AS (SELECT member_id, count(*) AS n FROM g GROUP BY member_id, island) "
           f"SELECT member_id, max(n) FROM r GROUP BY member_id ORDER BY member_id")
    return [(r[0], int(r[1])) for r in execute(conn, sql, [c.id, *_window(c)])]


def award_closing(engine: Engine, campaign_id: str, now: datetime | None = None) -> dict:
    """At close: the leaderboard's top-N rewards and check-in streak rewards, credited once through the ledger."""
    def work(conn):
        _, c = load(conn, campaign_id, lock=True)
        awards = []
        if c.leaderboard is not None:
            for r in lb.rank(c.leaderboard, _board_totals(conn, c, c.leaderboard.top)):
                if r.reward:
                    awards.append((f"campaign:{c.id}:board:{r.member_id}", r.member_id, "leaderboard", r.reward,
                                   f"leaderboard rank {r.rank} ({r.points} points earned)"))
        for member, run in (_streak_runs(conn, c) if c.streaks else []):
            for s in c.streaks:
                if run >= s.days:
                    awards.append((f"campaign:{c.id}:streak:{s.days}:{member}", member, "streak", s.points,
                                   f"{s.days}-day check-in streak (longest {run})"))
        existing = {r[0] for r in execute(conn, "SELECT event_id FROM campaign_awards WHERE campaign_id = ?", [c.id])}
        for event_id, member, kind, points, note in awards:
            if event_id not in existing:
                execute(conn, "INSERT INTO campaign_awards (event_id, campaign_id, member_id, kind, points, status, "
                              "note) VALUES (?,?,?,?,?,?,?)", [event_id, c.id, member, kind, points, "pending", note])
        return len(awards)

    n = with_retries(engine, work)
    return {"awards": n, **post_pending_awards(engine, campaign_id)}


# --- measures -----------------------------------------------------------------------------------


def participants_sql(c: Campaign) -> tuple[str, list]:
    parts = ["SELECT member_id FROM campaign_draws WHERE campaign_id = ?",
             "SELECT member_id FROM campaign_chances WHERE campaign_id = ?",
             "SELECT member_id FROM campaign_claims WHERE campaign_id = ?",
             "SELECT referrer_id FROM campaign_referrals WHERE campaign_id = ?",
             "SELECT referee_id FROM campaign_referrals WHERE campaign_id = ?"]
    params: list = [c.id] * 5
    if c.streaks:
        parts.append(f"SELECT e.member_id FROM events e {_in_treatment('e')} WHERE e.type = 'checkin' "
                     f"AND e.day >= ? AND e.day <= ?")
        params += [c.id, *_window(c)]
    if c.points_rules:
        parts.append(f"SELECT j.member_id FROM journal j {_in_treatment('j')} WHERE j.kind = 'earn' AND j.day >= ? "
                     f"AND j.day <= ? AND j.rule_id IN ({','.join('?' * len(c.points_rules))})")
        params += [c.id, *_window(c), *c.points_rules]
    return " UNION ".join(parts), params


def _group_stats(conn: Connection, c: Campaign) -> dict[str, stats.Group]:
    if c.outcome == "spend":
        per_member = ("SELECT member_id, sum(amount_fen) AS x FROM events WHERE type = 'bill' AND day >= ? "
                      "AND day <= ? GROUP BY member_id")
    else:
        per_member = ("SELECT member_id, 1 AS x FROM events WHERE type <> 'adjust' AND day >= ? AND day <= ? "
                      "GROUP BY member_id")
    square = "CAST(coalesce(s.x, 0) AS NUMERIC) * coalesce(s.x, 0)" if is_pg(conn) else \
        "coalesce(s.x, 0) * coalesce(s.x, 0)"
    sql = (f"SELECT cm.grp, count(*), coalesce(sum(s.x), 0), coalesce(sum({square}), 0) FROM campaign_members cm "
           f"LEFT JOIN ({per_member}) s ON s.member_id = cm.member_id WHERE cm.campaign_id = ? GROUP BY cm.grp")
    try:
        rows = execute(conn, sql, [*_window(c), c.id])
    except DBAPIError:  # SQLite's integer sum overflowed (more than 9.2e18 fen squared): not exact any more
        raise CampaignError("the sum of squared spends overflows SQLite's integers: evaluate on PostgreSQL") from None
    out = {"treatment": stats.Group(0, 0, 0), "control": stats.Group(0, 0, 0)}
    for grp, n, total, squares in rows:
        out[grp] = stats.Group(int(n), int(total), int(Decimal(str(squares))))
    return out


def _satisfaction(conn: Connection, c: Campaign) -> Decimal | None:
    rows = execute(conn, f"SELECT e.attrs FROM events e {_in_treatment('e')} WHERE e.type = 'survey' AND "
                         f"e.day >= ? AND e.day <= ?", [c.id, *_window(c)])
    scores = []
    for (attrs,) in rows:
        try:
            score = json.loads(attrs or "{}").get("score")
            if score is not None:
                scores.append(Decimal(str(score)))
        except (ValueError, ArithmeticError):
            continue
    return (sum(scores) / len(scores)).quantize(Decimal("0.01")) if scores else None


def _measures(conn: Connection, c: Campaign, groups: dict[str, stats.Group]) -> dict:
    w = _window(c)
    psql, pparams = participants_sql(c)
    n_treat = groups["treatment"].n
    issued_rules = 0
    if c.points_rules:
        issued_rules = _scalar(conn, f"SELECT coalesce(sum(points), 0) FROM journal WHERE kind = 'earn' AND day >= ? "
                                     f"AND day <= ? AND rule_id IN ({','.join('?' * len(c.points_rules))})",
                               [*w, *c.points_rules])
    awards = dict((k, int(v)) for k, v in execute(
        conn, "SELECT kind, coalesce(sum(points), 0) FROM campaign_awards WHERE campaign_id = ? AND status = 'posted' "
              "GROUP BY kind", [c.id]))
    redeemed = -_scalar(conn, f"SELECT coalesce(sum(j.points), 0) FROM journal j {_in_treatment('j')} WHERE "
                              f"j.kind = 'redeem' AND j.day >= ? AND j.day <= ?", [c.id, *w])
    chance_points = _scalar(conn, "SELECT coalesce(sum(points), 0) FROM campaign_chances WHERE campaign_id = ?", [c.id])
    return {
        "participants": _scalar(conn, f"SELECT count(*) FROM ({psql}) p", pparams),
        "sales_fen": _scalar(conn, f"SELECT coalesce(sum(e.amount_fen), 0) FROM events e {_in_treatment('e')} "
                                   f"WHERE e.type = 'bill' AND e.day >= ? AND e.day <= ?", [c.id, *w]),
        "active": _scalar(conn, f"SELECT count(DISTINCT e.member_id) FROM events e {_in_treatment('e')} WHERE "
                                f"e.type <> 'adjust' AND e.day >= ? AND e.day <= ?", [c.id, *w]),
        "repurchasers": _scalar(conn, f"SELECT count(*) FROM (SELECT e.member_id FROM events e {_in_treatment('e')} "
                                      f"WHERE e.type = 'bill' AND e.day >= ? AND e.day <= ? GROUP BY e.member_id "
                                      f"HAVING count(*) >= 2) x", [c.id, *w]),
        "new_members": _scalar(conn, "SELECT count(*) FROM members WHERE signed_up_on >= ? AND signed_up_on <= ?", w),
        "referrals": _scalar(conn, "SELECT count(*) FROM campaign_referrals WHERE campaign_id = ? AND "
                                   "status = 'rewarded'", [c.id]),
        "treatment": n_treat,
        "points_by_source": {"rules": issued_rules, **awards},
        "points_issued": issued_rules + sum(awards.values()),
        "points_redeemed": redeemed + chance_points,
        "chance_points": chance_points,
        "satisfaction": _satisfaction(conn, c),
    }


def _actual(metric: str, m: dict) -> Decimal | None:
    n = m["treatment"]
    return {
        "participants": Decimal(m["participants"]),
        "sales_yuan": Decimal(m["sales_fen"]) / 100,
        "satisfaction": m["satisfaction"],
        "activity_rate": (Decimal(m["active"]) / n).quantize(Decimal("0.0001")) if n else Decimal(0),
        "referrals": Decimal(m["referrals"]),
        "repurchase_rate": (Decimal(m["repurchasers"]) / n).quantize(Decimal("0.0001")) if n else Decimal(0),
        "new_members": Decimal(m["new_members"]),
        "points_issued": Decimal(m["points_issued"]),
        "points_redeemed": Decimal(m["points_redeemed"]),
    }[metric]


def _costs(conn: Connection, c: Campaign) -> dict[str, int]:
    costs = {k: int(v) for k, v in execute(conn, "SELECT line, coalesce(sum(amount_fen), 0) FROM campaign_costs "
                                                 "WHERE campaign_id = ? GROUP BY line", [c.id])}
    if c.lottery is not None:
        by_prize = dict(execute(conn, "SELECT prize_id, count(*) FROM campaign_draws WHERE campaign_id = ? AND "
                                      "prize_id IS NOT NULL GROUP BY prize_id", [c.id]))
        value = sum(p.value_fen * int(by_prize.get(p.id, 0)) for p in c.lottery.prizes)
        costs[c.lottery.budget_line] = costs.get(c.lottery.budget_line, 0) + value
    if c.gifts:
        claimed = dict(execute(conn, "SELECT gift_id, coalesce(sum(qty), 0) FROM campaign_claims WHERE campaign_id = ? "
                                     "GROUP BY gift_id", [c.id]))
        costs["gifts"] = costs.get("gifts", 0) + sum(g.value_fen * int(claimed.get(g.id, 0)) for g in c.gifts)
    return costs


def _plain(value: Decimal, metric: str) -> str:
    """A measure as people write it: 10830, 4.5, 0.6250 (rates keep four places), never 1.083E+4."""
    return str(value) if metric in RATE_METRICS else format(value.normalize(), "f")


def _yuan(fen) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def _dec(value: Decimal | None, places: str = "0.0001") -> str | None:
    return None if value is None else str(value.quantize(Decimal(places)))


def evaluate(engine: Engine, campaign_id: str) -> dict:
    """The campaign's report as data (the CLI prints it, the HTML and PDF render it)."""
    cpp = None
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        groups = _group_stats(conn, c)
        m = _measures(conn, c, groups)
        recorded = {r[0]: (Decimal(r[1]), r[2], r[3]) for r in execute(
            conn, "SELECT objective_id, value, recorded_by, note FROM campaign_measures WHERE campaign_id = ?", [c.id])}
        costs = _costs(conn, c)
        draws = execute(conn, "SELECT day, prize_id, count(*) FROM campaign_draws WHERE campaign_id = ? "
                              "GROUP BY day, prize_id ORDER BY day", [c.id])
        daily = execute(conn, "SELECT e.day, cm.grp, coalesce(sum(e.amount_fen), 0) FROM events e JOIN "
                              "campaign_members cm ON cm.member_id = e.member_id AND cm.campaign_id = ? WHERE "
                              "e.type = 'bill' AND e.day >= ? AND e.day <= ? GROUP BY e.day, cm.grp ORDER BY e.day",
                        [c.id, *_window(c)])
        done = {r[0]: (r[1], iso_text(r[2])) for r in execute(
            conn, "SELECT milestone_id, done_by, done_at FROM campaign_milestones WHERE campaign_id = ?", [c.id])}
        referral_status = dict(execute(conn, "SELECT status, count(*) FROM campaign_referrals WHERE campaign_id = ? "
                                             "GROUP BY status", [c.id]))
        award_status = dict(execute(conn, "SELECT status, count(*) FROM campaign_awards WHERE campaign_id = ? "
                                          "GROUP BY status", [c.id]))
        steps = execute(conn, "SELECT action, to_status, actor, at FROM campaign_steps WHERE campaign_id = ? "
                              "ORDER BY seq", [c.id])
        times = execute(conn, "SELECT committed_at, revealed_at FROM campaigns WHERE campaign_id = ?", [c.id])[0]
    cpp = cost_per_point_fen(engine, c)
    objectives = []
    for o in c.objectives:
        if o.id in recorded:
            actual, source = recorded[o.id][0], f"recorded by {recorded[o.id][1]}"
        else:
            actual, source = _actual(o.metric, m), "ledger"
        rate = (actual / o.target) if actual is not None else None
        objectives.append({"id": o.id, "name": o.name, "metric": o.metric, "target": str(o.target),
                           "actual": None if actual is None else _plain(actual, o.metric),
                           "achievement": _dec(rate), "met": rate is not None and rate >= 1, "source": source})
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
    for day, grp, fen in daily:
        series.setdefault(str(as_date(day)), {"treatment": 0, "control": 0})[grp] = int(fen)
    return {
        "campaign_id": c.id, "name": c.name, "status": info["status"], "from": str(c.window.start),
        "to": str(c.window.end), "owner": c.owner, "description": c.description,
        "steps": [{"action": s[0], "status": s[1], "by": s[2], "at": iso_text(s[3])} for s in steps],
        "audience": {"source": c.audience.source, "treatment": groups["treatment"].n, "control": groups["control"].n,
                     "control_share": str(c.audience.control_share)},
        "participants": m["participants"],
        "objectives": objectives,
        "points": {"issued": m["points_issued"], "by_source": m["points_by_source"], "redeemed": m["points_redeemed"],
                   "spent_on_chances": m["chance_points"], "cost_per_point_fen": str(cpp)},
        "budget": {"lines": [{"line": l.line, "planned_yuan": _yuan(l.planned_fen), "actual_yuan": _yuan(l.actual_fen),
                              "burn": _dec(l.burn), "planned_points": l.planned_points,
                              "actual_points": l.actual_points} for l in lines],
                   "planned_yuan": _yuan(planned), "actual_yuan": _yuan(actual_cost),
                   "burn": _dec(Decimal(actual_cost) / planned) if planned else None},
        "lift": {"outcome": c.outcome, "unit": unit,
                 "treatment_mean": _dec(lift.treatment.mean / scale), "control_mean": _dec(lift.control.mean / scale),
                 "difference": _dec(lift.difference / scale),
                 "low": _dec(lift.low / scale) if lift.low is not None else None,
                 "high": _dec(lift.high / scale) if lift.high is not None else None,
                 "relative": _dec(lift.relative), "significant": lift.significant, "confidence": "95%",
                 "note": lift.note},
        "roi": {"incremental_sales_yuan": _yuan(roi.incremental_fen), "margin_share": str(c.margin_share),
                "incremental_margin_yuan": _yuan(roi.margin_fen), "cost_yuan": _yuan(roi.cost_fen),
                "roi": _dec(roi.roi), "low": _dec(roi.low), "high": _dec(roi.high), "note": roi.note},
        "lottery": None if c.lottery is None else {
            "commitment": info["commitment"], "committed_at": iso_text(times[0]), "revealed_at": iso_text(times[1]),
            "seed": info["seed_hex"] if times[1] is not None else None, "days": draw_days},
        "daily_sales": [{"day": d, "treatment_per_member_yuan": _dec(Decimal(v["treatment"]) / 100 / (groups["treatment"].n or 1), "0.01"),
                         "control_per_member_yuan": _dec(Decimal(v["control"]) / 100 / (groups["control"].n or 1), "0.01")}
                        for d, v in sorted(series.items())],
        "milestones": [{"id": ms.id, "name": ms.name, "owner": ms.owner, "due": str(ms.due),
                        "done_by": done.get(ms.id, (None, None))[0], "done_at": done.get(ms.id, (None, None))[1]}
                       for ms in c.milestones],
        "risks": [{"id": r.id, "category": r.category, "description": r.description, "likelihood": r.likelihood,
                   "impact": r.impact, "score": r.score, "level": r.level, "response": r.response, "owner": r.owner}
                  for r in sorted(c.risks, key=lambda r: -r.score)],
        "referrals": {k: int(v) for k, v in referral_status.items()},
        "awards": {k: int(v) for k, v in award_status.items()},
    }


def live(engine: Engine, campaign_id: str, day: date | None = None) -> dict:
    """A campaign at a glance while it runs (the console's live dashboard polls it): audience, participants,
    points issued, the day's draws per prize against the day's stock, gift stock, and budget burn. The same
    queries as :func:`evaluate`, without the lift; ``day`` (default today, kept inside the window) picks the box."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        groups = {k: int(v) for k, v in execute(conn, "SELECT grp, count(*) FROM campaign_members WHERE "
                                                      "campaign_id = ? GROUP BY grp", [c.id])}
        m = _measures(conn, c, {"treatment": stats.Group(groups.get("treatment", 0), 0, 0)})
        costs = _costs(conn, c)
        day = min(max(day or campaign_today(c), c.window.start), c.window.end)
        box = {(r[0], r[1] or None): (int(r[2]), int(r[3])) for r in execute(
            conn, "SELECT day, item_id, quantity, issued FROM campaign_stock WHERE campaign_id = ? AND day IN (?, '*')",
            [c.id, day.isoformat()])}
        draws = _scalar(conn, "SELECT count(*) FROM campaign_draws WHERE campaign_id = ?", [c.id])
        review = _scalar(conn, "SELECT count(*) FROM campaign_referrals WHERE campaign_id = ? AND status = 'review'",
                         [c.id])
        pending = _scalar(conn, "SELECT count(*) FROM campaign_awards WHERE campaign_id = ? AND status = 'pending'",
                          [c.id])
    lines = bud.burn(c, cost_per_point_fen(engine, c), costs, m["points_issued"])
    planned, actual = sum(l.planned_fen for l in lines), sum(l.actual_fen for l in lines)

    def item(item_id, name, planned_qty, on="*"):
        quantity, issued = box.get((on, item_id), (planned_qty, 0))
        return {"id": item_id, "name": name, "quantity": quantity, "issued": issued, "left": quantity - issued}

    prizes = [item(p.id, p.name, p.per_day, str(day)) for p in c.lottery.prizes] + \
        [item(None, "谢谢参与 (blank)", c.lottery.blanks_per_day, str(day))] if c.lottery else []
    return {"campaign_id": c.id, "name": c.name, "status": info["status"], "from": str(c.window.start),
            "to": str(c.window.end), "day": str(day),
            "audience": {"treatment": groups.get("treatment", 0), "control": groups.get("control", 0)},
            "participants": m["participants"], "sales_yuan": _yuan(m["sales_fen"]),
            "points": {"issued": m["points_issued"], "by_source": m["points_by_source"],
                       "awards_pending": pending},
            "draws": {"total": draws, "today": sum(p["issued"] for p in prizes), "prizes": prizes},
            "gifts": [item(g.id, g.name, g.stock) for g in c.gifts],
            "budget": {"lines": [{"line": l.line, "planned_yuan": _yuan(l.planned_fen),
                                  "actual_yuan": _yuan(l.actual_fen), "burn": _dec(l.burn)} for l in lines],
                       "planned_yuan": _yuan(planned), "actual_yuan": _yuan(actual),
                       "burn": _dec(Decimal(actual) / planned) if planned else None},
            "referrals_in_review": review}


def report(engine: Engine, campaign_id: str) -> dict:
    """The frozen evaluation when the campaign was evaluated, else a live one."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        row = execute(conn, "SELECT report FROM campaigns WHERE campaign_id = ?", [campaign_id])
    if not row:
        raise CampaignError(f"unknown campaign {campaign_id!r}: see 'weixi campaign list'", "not_found")
    if row[0][0]:
        return {**json.loads(row[0][0]), "frozen": True}
    return {**evaluate(engine, campaign_id), "frozen": False}


# --- draws: export and verification -------------------------------------------------------------


def export_draws(engine: Engine, campaign_id: str) -> dict:
    """Everything needed to re-verify the draws: the commitment, the seed once revealed, the prize table and
    every draw in order (docs/campaigns.md gives the algorithm)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        if c.lottery is None:
            raise CampaignError(f"campaign {campaign_id} has no lottery", "not_found")
        revealed = execute(conn, "SELECT revealed_at FROM campaigns WHERE campaign_id = ?", [campaign_id])[0][0]
        rows = execute(conn, "SELECT seq, member_id, day, prize_id, mac FROM campaign_draws WHERE campaign_id = ? "
                             "ORDER BY seq", [campaign_id])
    return {"scheme": "weixi-draw-v1", "campaign_id": campaign_id, "commitment": info["commitment"],
            "seed": info["seed_hex"] if revealed is not None else None,
            "prizes": [{"id": p.id, "name": p.name, "per_day": p.per_day} for p in c.lottery.prizes],
            "blanks_per_day": c.lottery.blanks_per_day,
            "draws": [{"seq": int(r[0]), "member_id": r[1], "day": str(as_date(r[2])), "prize_id": r[3], "mac": r[4]}
                      for r in rows]}


def verify_export(doc: dict) -> dict:
    """Replay an export; ``ok`` only when the seed is revealed, matches the commitment and every draw checks."""
    from weixi.campaigns.model import Lottery, Prize

    if doc.get("scheme") != "weixi-draw-v1":
        raise CampaignError(f"unknown draw export scheme {doc.get('scheme')!r}: expected weixi-draw-v1", "invalid")
    if not doc.get("seed"):
        raise CampaignError(f"the seed of {doc.get('campaign_id')} is not revealed yet: draws can be verified after"
                            f" the campaign closes (commitment {doc.get('commitment')})")
    try:
        lottery = Lottery(tuple(Prize(p["id"], p.get("name", ""), int(p["per_day"])) for p in doc["prizes"]),
                          int(doc.get("blanks_per_day", 0)))
        draws = [lot.RecordedDraw(int(d["seq"]), d["member_id"], date.fromisoformat(d["day"]), d["prize_id"], d["mac"])
                 for d in doc["draws"]]
        seed = bytes.fromhex(doc["seed"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CampaignError(f"malformed draw export: {exc}", "invalid") from None
    problems = lot.verify(doc["campaign_id"], lottery, doc["commitment"], seed, draws)
    return {"campaign_id": doc["campaign_id"], "ok": not problems, "draws": len(draws),
            "commitment": doc["commitment"], "problems": problems}


def verify_draws(engine: Engine, campaign_id: str) -> dict:
    return verify_export(export_draws(engine, campaign_id))


# --- follow-ups ---------------------------------------------------------------------------------


def follow_ups(engine: Engine, campaign_id: str, out: str | Path) -> dict:
    """The campaign's follow-up tasks for its members, as a CSV (member_id, follow_up, action, due_on, note).

    The operations task queue has no API for tasks from other modules yet, so the tasks are written to a file
    that the operations import (or a person) takes up; the count per follow-up is returned."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        psql, pparams = participants_sql(c)
        groups = {
            "participants": (f"SELECT member_id FROM ({psql}) p", pparams),
            "winners": ("SELECT DISTINCT member_id FROM campaign_draws WHERE campaign_id = ? AND prize_id IS NOT NULL",
                        [c.id]),
            "referrers": ("SELECT DISTINCT referrer_id FROM campaign_referrals WHERE campaign_id = ? AND "
                          "status = 'rewarded'", [c.id]),
            "non_participants": (f"SELECT member_id FROM campaign_members WHERE campaign_id = ? AND grp = 'treatment' "
                                 f"AND member_id NOT IN ({psql})", [c.id, *pparams]),
        }
        rows, counts = [], {}
        for f in c.follow_ups:
            sql, params = groups[f.who]
            due = c.window.end + timedelta(days=f.due_days)
            members = sorted(r[0] for r in execute(conn, sql, params))
            counts[f.id] = len(members)
            rows += [(m, f.id, f.action, due.isoformat(), f.note) for m in members]
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = spreadsheet.csv_writer(fh)  # no cell can start a formula
        w.writerow(["campaign_id", "member_id", "follow_up", "action", "due_on", "note"])
        w.writerows((c.id, *r) for r in rows)
    tmp.replace(path)
    return {"campaign_id": c.id, "file": str(path), "tasks": len(rows), "by_follow_up": counts,
            "note": "written as CSV: the operations task queue takes no tasks from campaigns yet"}
