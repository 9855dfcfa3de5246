"""The campaign report's figures come from one pass over the ledger (:func:`weixi.campaigns.measures.measures`):
on a small operator they equal, figure by figure, the separate sums each measure is defined by (docs/campaigns.md,
"objectives": bills, active members, repurchasers, rule points, redemptions, surveys ... of the treatment group
inside the window), for both outcomes of the lift, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BACKENDS, ROOT
from tests.integration.helpers import event
from weixi.adapters.sql import as_date, execute
from weixi.campaigns import measures, stats
from weixi.campaigns import report as reports
from weixi.campaigns import service as cs
from weixi.campaigns.store import load
from weixi.ledger.posting import post_events
from weixi.plans.service import apply_plan

TZ = ZoneInfo("Asia/Shanghai")
MEMBERS = [f"m{i}" for i in range(12)]
TREAT = "JOIN campaign_members cm ON cm.member_id = {a}.member_id AND cm.campaign_id = ? AND cm.grp = 'treatment'"


def campaign(outcome: str) -> str:
    return f"""kind: campaign
campaign: figures-{outcome}
name: 测试活动
window: {{from: 2026-07-01, to: 2026-07-10}}
objectives:
  - {{id: people, metric: participants, target: 4}}
  - {{id: sales, metric: sales_yuan, target: 1000}}
  - {{id: active, metric: activity_rate, target: "0.5"}}
  - {{id: again, metric: repurchase_rate, target: "0.5"}}
  - {{id: happy, metric: satisfaction, target: 4}}
  - {{id: issued, metric: points_issued, target: 100}}
  - {{id: redeemed, metric: points_redeemed, target: 100}}
  - {{id: joined, metric: new_members, target: 1}}
audience:
  source: list
  members: [{", ".join(MEMBERS)}]
  control: {{share: "0.4"}}
budget:
  - {{line: points, points: 100000}}
points_rules: [bill, checkin]
checkin_streaks: [{{days: 2, points: 30}}]
evaluation: {{outcome: {outcome}, margin_share: "0.25"}}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def operator(engine):
    """Twelve members (plus one outside the audience) with bills, recharges, check-ins, surveys and a redemption
    inside and outside the window of the two campaigns."""
    apply_plan(engine, ROOT / "plans" / "examples" / "telecom-points.yaml")
    before = [event(f"b0-{m}", m, "bill", "2026-06-01", 900_000) for m in [*MEMBERS, "outsider"]]
    post_events(engine, before)
    for outcome in ("spend", "activity"):
        c = cs.create(engine, campaign(outcome), "f.yaml", "alice", now=at("2026-06-20T09:00"))["campaign_id"]
        cs.act(engine, c, "submit", "alice", now=at("2026-06-20T09:00"))
        cs.act(engine, c, "approve", "bob", now=at("2026-06-20T09:00"))
        cs.act(engine, c, "start", "bob", now=at("2026-06-20T09:00"))
    inside = []
    for i, m in enumerate(MEMBERS):
        if i % 4 != 3:  # every fourth member does nothing in the window
            inside.append(event(f"b1-{m}", m, "bill", "2026-07-02", 10_000 * (i + 1)))
        if i % 3 == 0:  # some buy twice: repurchasers
            inside.append(event(f"b2-{m}", m, "bill", "2026-07-09", 5_550 + i))
        if i % 5 == 1:
            inside += [event(f"k{d}-{m}", m, "checkin", f"2026-07-0{d}") for d in (3, 4)]
        if i % 4 == 2:
            inside.append(event(f"s-{m}", m, "survey", "2026-07-05", score=3 + i % 3))
        if i % 6 == 5:
            inside.append(event(f"r-{m}", m, "recharge", "2026-07-06", 20_000))
    inside += [
        event("b3-outsider", "outsider", "bill", "2026-07-02", 77_700),
        event("late-m0", "m0", "bill", "2026-07-11", 123_400),  # after the window
        event("red-m0", "m0", "redeem", "2026-07-07", ref="bill-credit"),
        event("red-m6", "m6", "redeem", "2026-07-08", ref="bill-credit"),
    ]
    post_events(engine, inside)
    return engine


def one(conn, sql: str, params: list) -> int:
    return int(execute(conn, sql, params)[0][0] or 0)


def separate_sums(conn, c) -> dict:
    """Each figure by its own query, as the docs define it (the queries the report ran before it made one pass)."""
    w = [c.window.start, c.window.end]
    t = TREAT.format(a="e")
    spend = c.outcome == "spend"
    per = (
        "SELECT member_id, sum(amount_fen) AS x FROM events WHERE type = 'bill' AND day >= ? AND day <= ? "
        "GROUP BY member_id"
        if spend
        else "SELECT member_id, 1 AS x FROM events WHERE type <> 'adjust' AND day >= ? AND day <= ? GROUP BY member_id"
    )
    groups = {
        g: stats.Group(int(n), int(total), int(Decimal(str(sq))))
        for g, n, total, sq in execute(
            conn,
            f"SELECT cm.grp, count(*), coalesce(sum(s.x), 0), coalesce(sum(CAST(coalesce(s.x, 0) AS NUMERIC) * "
            f"coalesce(s.x, 0)), 0) FROM campaign_members cm LEFT JOIN ({per}) s ON s.member_id = cm.member_id "
            f"WHERE cm.campaign_id = ? GROUP BY cm.grp",
            [*w, c.id],
        )
    }
    rules = ",".join("?" * len(c.points_rules))
    issued = one(
        conn,
        f"SELECT sum(points) FROM journal WHERE kind = 'earn' AND day >= ? AND day <= ? AND rule_id IN ({rules})",
        [*w, *c.points_rules],
    )
    awards = one(conn, "SELECT sum(points) FROM campaign_awards WHERE campaign_id = ? AND status = 'posted'", [c.id])
    scores = [
        Decimal(str(json.loads(a)["score"]))
        for (a,) in execute(
            conn, f"SELECT e.attrs FROM events e {t} WHERE e.type = 'survey' AND e.day >= ? AND e.day <= ?", [c.id, *w]
        )
    ]
    participants = (
        f"SELECT e.member_id FROM events e {t} WHERE e.type = 'checkin' AND e.day >= ? AND e.day <= ? UNION "
        f"SELECT j.member_id FROM journal j {TREAT.format(a='j')} WHERE j.kind = 'earn' AND j.day >= ? AND "
        f"j.day <= ? AND j.rule_id IN ({rules})"
    )
    return {
        "groups": groups,
        "daily": sorted(
            (str(as_date(d)), g, int(f))
            for d, g, f in execute(
                conn,
                "SELECT e.day, cm.grp, sum(e.amount_fen) FROM events e JOIN campaign_members cm ON cm.member_id = "
                "e.member_id AND cm.campaign_id = ? WHERE e.type = 'bill' AND e.day >= ? AND e.day <= ? "
                "GROUP BY e.day, cm.grp",
                [c.id, *w],
            )
        ),
        "participants": one(conn, f"SELECT count(*) FROM ({participants}) p", [c.id, *w, c.id, *w, *c.points_rules]),
        "sales_fen": one(
            conn,
            f"SELECT sum(e.amount_fen) FROM events e {t} WHERE e.type = 'bill' AND e.day >= ? AND e.day <= ?",
            [c.id, *w],
        ),
        "active": one(
            conn,
            f"SELECT count(DISTINCT e.member_id) FROM events e {t} WHERE e.type <> 'adjust' AND e.day >= ? "
            f"AND e.day <= ?",
            [c.id, *w],
        ),
        "repurchasers": one(
            conn,
            f"SELECT count(*) FROM (SELECT e.member_id FROM events e {t} WHERE e.type = 'bill' AND e.day >= ? "
            f"AND e.day <= ? GROUP BY e.member_id HAVING count(*) >= 2) x",
            [c.id, *w],
        ),
        "points_issued": issued + awards,
        "points_redeemed": -one(
            conn,
            f"SELECT sum(j.points) FROM journal j {TREAT.format(a='j')} WHERE j.kind = 'redeem' AND j.day >= ? "
            f"AND j.day <= ?",
            [c.id, *w],
        ),
        "satisfaction": (sum(scores) / len(scores)).quantize(Decimal("0.01")),
        "new_members": one(conn, "SELECT count(*) FROM members WHERE signed_up_on >= ? AND signed_up_on <= ?", w),
    }


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("outcome", ["spend", "activity"])
def test_the_reports_figures_equal_the_separate_sums(operator, outcome):
    engine = operator
    cid = f"figures-{outcome}"
    with engine.connect() as conn:
        _, c = load(conn, cid)
        got = measures.measures(conn, c)
        want = separate_sums(conn, c)
    # the operator exercises every figure: no comparison of zeros with zeros
    assert want["groups"]["treatment"].n > 0 and want["groups"]["control"].n > 0
    assert all(want[k] for k in ("participants", "sales_fen", "active", "repurchasers", "points_issued"))
    assert want["points_redeemed"] > 0 and want["groups"]["treatment"].total > 0
    assert got["groups"] == want["groups"]
    assert sorted((str(as_date(d)), g, f) for d, g, f in got["daily"]) == want["daily"]
    for key in ("participants", "sales_fen", "active", "repurchasers", "points_issued", "points_redeemed"):
        assert got[key] == want[key], key
    assert got["satisfaction"] == want["satisfaction"] and got["new_members"] == want["new_members"]

    # and the report shows them: objectives, points, audience, the lift's means and the daily series
    rep = reports.evaluate(engine, cid)
    n = Decimal(want["groups"]["treatment"].n)
    actual = {o["id"]: o["actual"] for o in rep["objectives"]}
    assert actual["people"] == str(want["participants"])
    assert Decimal(actual["sales"]) == Decimal(want["sales_fen"]) / 100
    assert actual["active"] == str((want["active"] / n).quantize(Decimal("0.0001")))
    assert actual["again"] == str((want["repurchasers"] / n).quantize(Decimal("0.0001")))
    assert Decimal(actual["happy"]) == want["satisfaction"]
    assert actual["issued"] == str(want["points_issued"]) == str(rep["points"]["issued"])
    assert actual["redeemed"] == str(want["points_redeemed"]) == str(rep["points"]["redeemed"])
    assert rep["audience"]["treatment"] == want["groups"]["treatment"].n
    assert rep["audience"]["control"] == want["groups"]["control"].n
    lift = stats.lift(want["groups"]["treatment"], want["groups"]["control"])
    scale = Decimal(100) if outcome == "spend" else Decimal(1)
    assert rep["lift"]["treatment_mean"] == measures.dec(lift.treatment.mean / scale)
    assert rep["lift"]["difference"] == measures.dec(lift.difference / scale)
    assert rep["lift"]["low"] == measures.dec(lift.low / scale)
    assert [d["day"] for d in rep["daily_sales"]] == sorted({d for d, _, _ in want["daily"]})
