"""Every reader of the ledger answers the same over both stores (issue 21, ``WEIXI_LEDGER_STORE=lake``): the same
operator closed with the SQL store and with the lake, some of the lake's members folded and one member redeeming,
gives the same dashboard points per month, churn features, care reminders of expiring points, campaign figures,
leaderboard and lottery chances.

Issue 21: "Balances, statements, member 360, the dashboard, reports and ``balance --at`` read one ledger view over
both stores" and "The SQL ledger (SQLite or PostgreSQL) stays the system of record for what members do live, and
takes a member's batch lots when the member is first touched".
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from tests.integration.lake_plan import lake_plan
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import as_date, execute
from weixi.campaigns import closing, lottery_service, measures
from weixi.campaigns import service as cs
from weixi.campaigns.store import load
from weixi.churn import features
from weixi.close.run import close_month
from weixi.console import dashboard
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.fold import ensure_folded
from weixi.ledger.redemption import redeem
from weixi.members import overview
from weixi.operations import care_run
from weixi.plans.service import apply_plan

pytestmark = pytest.mark.file_order  # a story over one module fixture: the last test closes the campaign
TZ = ZoneInfo("Asia/Shanghai")
MONTHS = ["2026-08", "2026-09", "2026-10"]
PLAN = lake_plan("lake-readers")
CAMPAIGN = """\
kind: campaign
campaign: lake
name: 湖上活动
window: {{from: 2026-09-01, to: 2026-10-31}}
objectives:
  - {{id: people, metric: participants, target: 4}}
  - {{id: sales, metric: sales_yuan, target: 1000}}
audience:
  source: list
  members: [{members}]
  control: {{share: "0.3"}}
budget:
  - {{line: gifts, yuan: 500}}
  - {{line: points, points: 100000}}
points_rules: [bill, mobile]
lottery:
  chances: {{per_yuan: 100}}
  prizes:
    - {{id: pts, name: P, per_day: 500, points: 5}}
leaderboard: {{top: 5, rewards: [{{rank: 1, points: 1000}}, {{rank: 2, points: 500}}]}}
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _members(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in execute(conn, "SELECT member_id FROM members ORDER BY member_id")]


def _richest(engine) -> str:
    with engine.connect() as conn:
        return execute(conn, "SELECT member_id FROM members ORDER BY balance DESC, member_id LIMIT 1")[0][0]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """One operator, closed three months with each store; a campaign over September and October; in the lake every
    third member folded; in both the richest member redeeming after the close. ``memo``: the dashboard's points
    per month cached before the last close, asked of the cache after it, and computed after it."""
    source = tmp_path_factory.mktemp("lake-readers") / "data"
    generate(GenerateConfig(members=200, months=3, seed=37, out=str(source), end_month="2026-10"))
    out = {}
    richest = None  # the SQL store's richest member (the lake's SQL balances lack the unfolded points), in both
    mp = pytest.MonkeyPatch()
    try:
        for store in ("sql", "lake"):
            mp.setenv("WEIXI_LEDGER_STORE", store)
            root = tmp_path_factory.mktemp(store)
            data = root / "data"
            shutil.copytree(source, data)
            (root / "plan.yaml").write_text(PLAN, encoding="utf-8")
            engine = make_engine(str(root / "ledger.db"))
            schema.upgrade(engine)
            apply_plan(engine, root / "plan.yaml")
            close_month(engine, data, MONTHS[0])
            audience = _members(engine)[:60]
            text = CAMPAIGN.format(members=", ".join(audience))
            cid = cs.create(engine, text, "lake.yaml", "alice", now=at("2026-08-25T09:00"))["campaign_id"]
            for action, by in (("submit", "alice"), ("approve", "bob"), ("start", "bob")):
                cs.act(engine, cid, action, by, now=at("2026-08-25T09:00"))
            close_month(engine, data, MONTHS[1])
            if store == "lake":  # folded through September, October then in the lake
                ensure_folded(engine, _members(engine)[::3])
            memo = [dashboard.ledger_memo(engine, ("points", 99), lambda e=engine: overview.points_by_month(e, 99))]
            close_month(engine, data, MONTHS[2])
            memo.append(dashboard.ledger_memo(engine, ("points", 99), lambda e=engine: overview.points_by_month(e, 99)))
            memo.append(overview.points_by_month(engine, 99))
            if store == "lake":
                ensure_folded(engine, _members(engine)[1::5])
            richest = richest or _richest(engine)
            redeem(engine, richest, "gift", qty=2, at=at("2026-11-03T10:00"))
            out[store] = SimpleNamespace(engine=engine, data=data, campaign=cid, audience=audience, memo=memo)
    finally:
        mp.undo()
    return out


@pytest.fixture
def lake_env(monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")


def _unfolded(engine) -> int:
    with engine.connect() as conn:
        folded = {r[0] for r in execute(conn, "SELECT member_id FROM ledger_folds")}
    return len(set(_members(engine)) - folded)


def test_the_stores_differ_where_the_readers_must_look(both, lake_env):
    """The lake operator's SQL tables lack most of its bills: a reader of only them would answer differently."""
    sql, lk = both["sql"].engine, both["lake"].engine
    q = "SELECT count(*) FROM events WHERE type = 'bill'"
    with sql.connect() as a, lk.connect() as b:
        assert execute(b, q)[0][0] < execute(a, q)[0][0]
    assert _unfolded(lk) > 100


def test_the_dashboard_s_points_per_month_are_the_same_over_both_stores(both, lake_env):
    sql, lk = both["sql"].engine, both["lake"].engine
    want = overview.points_by_month(sql, 99)
    assert overview.points_by_month(lk, 99) == want
    months = {m["month"]: m for m in want["months"]}
    assert all(months[m]["issued"] > 0 for m in MONTHS)
    # August's lots expire on 1 November (end_of_month_after: 2), all of them: nothing was spent before
    assert months["2026-11"]["expired"] == months["2026-08"]["issued"] > 0
    assert months["2026-11"]["redeemed"] == 100


def test_the_dashboard_s_cache_moves_with_the_lake_months(both, lake_env):
    """Figures cached before a lake close are not served after it: the cache key holds the lake's months and
    version (a lake close need not write a journal row)."""
    (before, cached, fresh), (sql_before, _, sql_fresh) = both["lake"].memo, both["sql"].memo
    assert before == sql_before and fresh == sql_fresh != before
    assert cached == fresh
    mark = dashboard.ledger_mark(both["lake"].engine)
    assert mark[2] == len(MONTHS) and mark[3] is not None


def test_churn_features_read_the_points_expiring_of_both_stores(both, lake_env):
    sql, lk = both["sql"], both["lake"]

    def points(ns) -> dict:
        table = features.build(ns.data, "2026-10", features.Sources(ledger=ns.engine))
        cols = table.select(["member_id", "points_expiring_60d", "points_redeemed_90d"]).to_pylist()
        return {r["member_id"]: (r["points_expiring_60d"], r["points_redeemed_90d"]) for r in cols}

    want = points(sql)
    assert points(lk) == want
    assert sum(1 for e, _ in want.values() if e) > 50  # September's lots expire on 1 December


def test_the_care_run_reminds_the_same_members_of_expiring_points(both, lake_env):
    sql, lk = both["sql"].engine, both["lake"].engine
    care = SimpleNamespace(expiring_within_days=30, expiring_min_points=20)
    want = care_run._expiring(sql, date(2026, 11, 1), care)
    assert care_run._expiring(lk, date(2026, 11, 1), care) == want
    assert len(want) > 20 and all(first == date(2026, 12, 1) for _, first in want.values())
    assert care_run._expiring(lk, date(2026, 12, 1), care) == care_run._expiring(sql, date(2026, 12, 1), care)


def _figures(ns) -> dict:
    with ns.engine.connect() as conn:
        _, c = load(conn, ns.campaign)
        m = measures.measures(conn, c)
    m["daily"] = sorted((str(as_date(d)), g, f) for d, g, f in m["daily"])
    return m


def test_campaign_figures_are_the_same_over_both_stores(both, lake_env):
    want = _figures(both["sql"])
    assert _figures(both["lake"]) == want
    assert want["sales_fen"] > 0 and want["points_by_source"]["rules"] > 0 and want["participants"] > 5
    assert want["repurchasers"] > 0 and len(want["daily"]) == 4  # bills fall on the month end, by group


def test_the_campaign_s_participants_are_the_same_over_both_stores(both, lake_env):
    """Who took part (the follow-ups' and promotions' "participants"): the figures' count, as ids."""
    ids = {}
    for name, ns in both.items():
        with ns.engine.connect() as conn:
            _, c = load(conn, ns.campaign)
            ids[name] = measures.participant_ids(conn, c)
            assert len(ids[name]) == measures.measures(conn, c)["participants"]
    assert ids["lake"] == ids["sql"] and len(ids["sql"]) > 5


def test_the_leaderboard_is_the_same_over_both_stores(both, lake_env):
    sql, lk = both["sql"], both["lake"]
    want = closing.leaderboard(sql.engine, sql.campaign)
    assert closing.leaderboard(lk.engine, lk.campaign) == want
    assert len(want["rows"]) >= 5 and want["rows"][0]["points"] > 0
    for top in (None, 1, 7):
        with sql.engine.connect() as a, lk.engine.connect() as b:
            _, c = load(a, sql.campaign)
            assert closing._board_totals(b, c, top) == closing._board_totals(a, c, top)


def test_lottery_chances_from_spend_fold_the_member_first(both, lake_env):
    """A member never folded and one folded through September: their chances from spend count the lake's bills."""
    sql, lk = both["sql"], both["lake"]
    with lk.engine.connect() as conn:
        folded = dict(execute(conn, "SELECT member_id, month FROM ledger_folds"))
    spenders = [m for m in lk.audience if lottery_service.chances(sql.engine, sql.campaign, m)["from_spend"] > 0]
    never = next(m for m in spenders if m not in folded)
    september = next(m for m in spenders if folded.get(m) == "2026-09")
    left = lottery_service.chances(sql.engine, sql.campaign, never)["left"]
    for member in (never, september):
        got = lottery_service.chances(lk.engine, lk.campaign, member)
        assert got == lottery_service.chances(sql.engine, sql.campaign, member)
        with lk.engine.connect() as conn:
            assert execute(conn, "SELECT month FROM ledger_folds WHERE member_id = ?", [member]) == [("2026-10",)]
    for ns in (sql, lk):  # a draw counts the same chances
        drawn = lottery_service.draw(ns.engine, ns.campaign, never, now=at("2026-10-31T10:00"))
        assert drawn["chances_left"] == left - 1
    fresh = next(m for m in spenders if m not in folded and m != never)  # a draw is the member's first touch
    drawn = [lottery_service.draw(ns.engine, ns.campaign, fresh, now=at("2026-10-31T11:00")) for ns in (sql, lk)]
    assert drawn[0]["chances_left"] == drawn[1]["chances_left"] > 0
    assert (
        lottery_service.draw_record(lk.engine, lk.campaign, drawn[1]["seq"])["chances_left"] == drawn[1]["chances_left"]
    )


def test_the_campaign_s_close_awards_the_same_leaders_over_both_stores(both, lake_env):
    """The close reads the leaderboard inside its write transaction: the lake's earn entries count there too."""
    awarded = {}
    for name, ns in both.items():
        cs.act(ns.engine, ns.campaign, "close", "bob", now=at("2026-11-05T09:00"))
        with ns.engine.connect() as conn:
            awarded[name] = execute(
                conn,
                "SELECT event_id, member_id, kind, points, status FROM campaign_awards WHERE campaign_id = ? "
                "ORDER BY event_id",
                [ns.campaign],
            )
    assert awarded["lake"] == awarded["sql"]
    assert sorted(a[3] for a in awarded["sql"] if a[2] == "leaderboard") == [500, 1000]
