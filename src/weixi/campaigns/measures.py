"""The campaign's figures, each one SQL aggregate over the ledger (events, journal) and the campaign tables,
restricted to the window and to the audience's treatment or control group; no Python loop over members.
Shared by the report (:mod:`weixi.campaigns.report`), the closing awards and the follow-ups."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from weixi.adapters.sql import execute, is_pg
from weixi.campaigns import stats
from weixi.campaigns.errors import CampaignRefused
from weixi.campaigns.model import RATE_METRICS, Campaign

TREATMENT = "JOIN campaign_members cm ON cm.member_id = {a}.member_id AND cm.campaign_id = ? AND cm.grp = 'treatment'"


def in_treatment(alias: str) -> str:
    return TREATMENT.format(a=alias)


def window(c: Campaign) -> list:
    return [c.window.start, c.window.end]


def scalar(conn: Connection, sql: str, params: list) -> int:
    return int(execute(conn, sql, params)[0][0] or 0)


def participants_sql(c: Campaign) -> tuple[str, list]:
    parts = [
        "SELECT member_id FROM campaign_draws WHERE campaign_id = ?",
        "SELECT member_id FROM campaign_chances WHERE campaign_id = ?",
        "SELECT member_id FROM campaign_claims WHERE campaign_id = ?",
        "SELECT referrer_id FROM campaign_referrals WHERE campaign_id = ?",
        "SELECT referee_id FROM campaign_referrals WHERE campaign_id = ?",
    ]
    params: list = [c.id] * 5
    if c.streaks:
        parts.append(
            f"SELECT e.member_id FROM events e {in_treatment('e')} WHERE e.type = 'checkin' "
            f"AND e.day >= ? AND e.day <= ?"
        )
        params += [c.id, *window(c)]
    if c.points_rules:
        parts.append(
            f"SELECT j.member_id FROM journal j {in_treatment('j')} WHERE j.kind = 'earn' AND j.day >= ? "
            f"AND j.day <= ? AND j.rule_id IN ({','.join('?' * len(c.points_rules))})"
        )
        params += [c.id, *window(c), *c.points_rules]
    return " UNION ".join(parts), params


def group_stats(conn: Connection, c: Campaign) -> dict[str, stats.Group]:
    if c.outcome == "spend":
        per_member = (
            "SELECT member_id, sum(amount_fen) AS x FROM events WHERE type = 'bill' AND day >= ? "
            "AND day <= ? GROUP BY member_id"
        )
    else:
        per_member = (
            "SELECT member_id, 1 AS x FROM events WHERE type <> 'adjust' AND day >= ? AND day <= ? GROUP BY member_id"
        )
    square = (
        "CAST(coalesce(s.x, 0) AS NUMERIC) * coalesce(s.x, 0)" if is_pg(conn) else "coalesce(s.x, 0) * coalesce(s.x, 0)"
    )
    sql = (
        f"SELECT cm.grp, count(*), coalesce(sum(s.x), 0), coalesce(sum({square}), 0) FROM campaign_members cm "
        f"LEFT JOIN ({per_member}) s ON s.member_id = cm.member_id WHERE cm.campaign_id = ? GROUP BY cm.grp"
    )
    try:
        rows = execute(conn, sql, [*window(c), c.id])
    except DBAPIError:  # SQLite's integer sum overflowed (more than 9.2e18 fen squared): not exact any more
        raise CampaignRefused("campaign_squares_overflow") from None
    out = {"treatment": stats.Group(0, 0, 0), "control": stats.Group(0, 0, 0)}
    for grp, n, total, squares in rows:
        out[grp] = stats.Group(int(n), int(total), int(Decimal(str(squares))))
    return out


def _satisfaction(conn: Connection, c: Campaign) -> Decimal | None:
    rows = execute(
        conn,
        f"SELECT e.attrs FROM events e {in_treatment('e')} WHERE e.type = 'survey' AND e.day >= ? AND e.day <= ?",
        [c.id, *window(c)],
    )
    scores = []
    for (attrs,) in rows:
        try:
            score = json.loads(attrs or "{}").get("score")
            if score is not None:
                scores.append(Decimal(str(score)))
        except (ValueError, ArithmeticError):
            continue
    return (sum(scores) / len(scores)).quantize(Decimal("0.01")) if scores else None


def measures(conn: Connection, c: Campaign, groups: dict[str, stats.Group]) -> dict:
    w = window(c)
    psql, pparams = participants_sql(c)
    n_treat = groups["treatment"].n
    issued_rules = 0
    if c.points_rules:
        issued_rules = scalar(
            conn,
            f"SELECT coalesce(sum(points), 0) FROM journal WHERE kind = 'earn' AND day >= ? "
            f"AND day <= ? AND rule_id IN ({','.join('?' * len(c.points_rules))})",
            [*w, *c.points_rules],
        )
    awards = dict(
        (k, int(v))
        for k, v in execute(
            conn,
            "SELECT kind, coalesce(sum(points), 0) FROM campaign_awards WHERE campaign_id = ? AND status = 'posted' "
            "GROUP BY kind",
            [c.id],
        )
    )
    redeemed = -scalar(
        conn,
        f"SELECT coalesce(sum(j.points), 0) FROM journal j {in_treatment('j')} WHERE "
        f"j.kind = 'redeem' AND j.day >= ? AND j.day <= ?",
        [c.id, *w],
    )
    chance_points = scalar(conn, "SELECT coalesce(sum(points), 0) FROM campaign_chances WHERE campaign_id = ?", [c.id])
    return {
        "participants": scalar(conn, f"SELECT count(*) FROM ({psql}) p", pparams),
        "sales_fen": scalar(
            conn,
            f"SELECT coalesce(sum(e.amount_fen), 0) FROM events e {in_treatment('e')} "
            f"WHERE e.type = 'bill' AND e.day >= ? AND e.day <= ?",
            [c.id, *w],
        ),
        "active": scalar(
            conn,
            f"SELECT count(DISTINCT e.member_id) FROM events e {in_treatment('e')} WHERE "
            f"e.type <> 'adjust' AND e.day >= ? AND e.day <= ?",
            [c.id, *w],
        ),
        "repurchasers": scalar(
            conn,
            f"SELECT count(*) FROM (SELECT e.member_id FROM events e {in_treatment('e')} "
            f"WHERE e.type = 'bill' AND e.day >= ? AND e.day <= ? GROUP BY e.member_id "
            f"HAVING count(*) >= 2) x",
            [c.id, *w],
        ),
        "new_members": scalar(conn, "SELECT count(*) FROM members WHERE signed_up_on >= ? AND signed_up_on <= ?", w),
        "referrals": scalar(
            conn, "SELECT count(*) FROM campaign_referrals WHERE campaign_id = ? AND status = 'rewarded'", [c.id]
        ),
        "treatment": n_treat,
        "points_by_source": {"rules": issued_rules, **awards},
        "points_issued": issued_rules + sum(awards.values()),
        "points_redeemed": redeemed + chance_points,
        "chance_points": chance_points,
        "satisfaction": _satisfaction(conn, c),
    }


def actual(metric: str, m: dict) -> Decimal | None:
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


def costs(conn: Connection, c: Campaign) -> dict[str, int]:
    costs = {
        k: int(v)
        for k, v in execute(
            conn,
            "SELECT line, coalesce(sum(amount_fen), 0) FROM campaign_costs WHERE campaign_id = ? GROUP BY line",
            [c.id],
        )
    }
    if c.lottery is not None:
        by_prize = dict(
            execute(
                conn,
                "SELECT prize_id, count(*) FROM campaign_draws WHERE campaign_id = ? AND "
                "prize_id IS NOT NULL GROUP BY prize_id",
                [c.id],
            )
        )
        value = sum(p.value_fen * int(by_prize.get(p.id, 0)) for p in c.lottery.prizes)
        costs[c.lottery.budget_line] = costs.get(c.lottery.budget_line, 0) + value
    if c.gifts:
        claimed = dict(
            execute(
                conn,
                "SELECT gift_id, coalesce(sum(qty), 0) FROM campaign_claims WHERE campaign_id = ? GROUP BY gift_id",
                [c.id],
            )
        )
        costs["gifts"] = costs.get("gifts", 0) + sum(g.value_fen * int(claimed.get(g.id, 0)) for g in c.gifts)
    return costs


def plain(value: Decimal, metric: str) -> str:
    """A measure as people write it: 10830, 4.5, 0.6250 (rates keep four places), never 1.083E+4."""
    return str(value) if metric in RATE_METRICS else format(value.normalize(), "f")


def yuan(fen) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def dec(value: Decimal | None, places: str = "0.0001") -> str | None:
    return None if value is None else str(value.quantize(Decimal(places)))
