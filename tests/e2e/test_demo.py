"""``weixi demo`` (what ``make run`` serves) fills every area a console page reads: members spread across the
tiers, managers holding members, churn scored, target lists, the month's tasks for the demo logins, a published
incentive month with the clerk's statement, campaigns in each lifecycle state, one login per role."""

from __future__ import annotations

import json
import sqlite3

import duckdb
import pytest

from tests.e2e.cli_helpers import weixi

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    out, db = root / "operator", root / "operator.db"
    r = weixi(
        "demo", "--out", out, "--db", db, "--members", "900", "--months", "12", "--end-month", "2026-10", "--json"
    )  # fmt: skip
    return out, db, json.loads(r.stdout)


def test_members_spread_across_the_tiers_of_the_shipped_plan(demo):
    out, _db, summary = demo
    assert [c["month"] for c in summary["closes"]][-1] == "2026-10" and len(summary["closes"]) == 12
    tiers = dict(
        duckdb.sql(
            f"SELECT tier, COUNT(*) FROM read_parquet('{out}/snapshots/month=2026-10/*.parquet') "
            "WHERE tier IS NOT NULL GROUP BY tier"
        ).fetchall()
    )
    # qualify 120 / 200 / 300 points earned over a year (1 point per 10 yuan of bill): every tier has members,
    # and each higher tier fewer than the one below it.
    assert all(tiers.get(t, 0) > 0 for t in ("standard", "silver", "gold", "diamond")), tiers
    assert tiers["standard"] > tiers["silver"] > tiers["gold"] > tiers["diamond"], tiers


def test_the_demo_logins_have_work_and_statements(demo):
    _out, db, summary = demo
    assert set(summary["logins"]) == {"admin", "analyst", "manager", "agent", "clerk", "member"}
    con = sqlite3.connect(db)
    try:
        held = dict(con.execute("SELECT assignee, COUNT(*) FROM ops_tasks GROUP BY assignee").fetchall())
        assert held.get("manager", 0) > 0 and held.get("agent", 0) > 0, held
        managers = con.execute("SELECT COUNT(*) FROM ops_staff WHERE role = 'manager'").fetchone()[0]
        assert managers >= 3
        published = con.execute("SELECT month, version FROM incentive_publications").fetchall()
        assert published == [("2026-10", 1)]
        states = dict(con.execute("SELECT campaign_id, status FROM campaigns").fetchall())
    finally:
        con.close()
    assert set(states.values()) >= {"draft", "submitted", "approved", "running", "closed"}, states
    assert summary["incentives"] == {"month": "2026-10", "version": 1}


def test_churn_is_scored_and_the_target_lists_are_built(demo):
    out, _db, summary = demo
    assert summary["churn"]["scored"] > 0 and summary["churn"]["model_version"] >= 1
    lists = duckdb.sql(
        f"SELECT COUNT(*) FROM read_parquet('{out}/targets/month=2026-10/**/*.parquet', union_by_name=true)"
    ).fetchone()[0]
    assert lists > 0


def test_members_spend_points_this_month_and_the_ledger_explains_every_one(demo):
    """The dashboard's redemption rate and breakage, and the member pages, show a programme in use: members
    redeemed bill credit this month (each once), and the ledger verifies (their lake months folded
    first, the points taken from their lots)."""
    out, db, summary = demo
    assert summary["redemptions"]["redemptions"] > 0 and summary["redemptions"]["points"] > 0
    con = sqlite3.connect(db)
    try:
        count, points, members = con.execute(
            "SELECT count(*), sum(points), count(DISTINCT member_id) FROM redemptions WHERE status = 'fulfilled'"
        ).fetchone()
        spent = -con.execute("SELECT sum(points) FROM journal WHERE kind = 'redeem'").fetchone()[0]
    finally:
        con.close()
    assert (count, points) == (summary["redemptions"]["redemptions"], summary["redemptions"]["points"])
    assert members == count and spent == points
    # the whole `weixi verify`: the SQL ledger (every lot the sum of its entries, the lots the balance), the lake's
    # files and months, and each closed snapshot's balances re-derived from the versions its close recorded (the
    # closed campaign's leaderboard awards, posted after the demo closed their month, are dated the day they are
    # credited, not back into the closed month)
    report = json.loads(weixi("verify", "--db", db, "--data", out, "--json").stdout)
    assert report["ok"] and report["mismatches"] == [] and report["checked"]["snapshot_members"] > 0, report


def test_members_take_part_in_the_started_campaigns(demo):
    """The campaign pages show campaigns in use: the running draw and the closed spend lottery have draws and
    winners, the running visit campaign has gifts handed out, and each counts them as participants in its report
    (the closed lottery's points prizes credited through the ledger, which `weixi verify` checks above)."""
    _out, db, summary = demo
    from weixi.adapters.db import make_engine
    from weixi.campaigns import report

    built = summary["campaigns"]
    assert {cid: c["state"] for cid, c in built.items()}["anniversary-draw"] == "running"
    engine = make_engine(str(db))
    try:
        for cid, kind in (
            ("anniversary-draw", "draws"),
            ("new-customer-month", "draws"),
            ("midyear-gratitude", "gifts"),
        ):
            assert built[cid][kind] > 0, (cid, built[cid])
            assert report.report(engine, cid)["participants"] == len(_people(db, cid, kind)), cid
        prizes = report.report(engine, "new-customer-month")["points"]["by_source"].get("prize", 0)
        # the points carnival ran while its months were open (its chances are bought with points, its streaks are
        # check-ins: both write the ledger): its check-ins earned streak rewards, and its checkers took part
        carnival = report.report(engine, "points-carnival")
    finally:
        engine.dispose()
    assert built["points-carnival"]["checkins"] > 0 and carnival["points"]["by_source"].get("streak", 0) > 0
    assert carnival["participants"] >= len(_checkers(db, "points-carnival")) > 0
    con = sqlite3.connect(db)
    try:
        won = con.execute(
            "SELECT coalesce(sum(j.points), 0) FROM journal j JOIN events e USING (event_id) "
            "WHERE e.event_id LIKE 'campaign:new-customer-month:draw:%'"
        ).fetchone()[0]
        draws = con.execute("SELECT count(*) FROM campaign_draws WHERE campaign_id = 'new-customer-month'").fetchone()
    finally:
        con.close()
    assert draws[0] == built["new-customer-month"]["draws"] and prizes > 0 and won == prizes


def _checkers(db, campaign_id: str) -> set[str]:
    """The campaign's treatment members who checked in during its window."""
    con = sqlite3.connect(db)
    try:
        start, end = con.execute(
            "SELECT window_start, window_end FROM campaigns WHERE campaign_id = ?", [campaign_id]
        ).fetchone()
        rows = con.execute(
            "SELECT DISTINCT e.member_id FROM events e JOIN campaign_members m ON m.member_id = e.member_id "
            "AND m.campaign_id = ? AND m.grp = 'treatment' WHERE e.type = 'checkin' AND e.day >= ? AND e.day <= ?",
            [campaign_id, str(start)[:10], str(end)[:10]],
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def _people(db, campaign_id: str, kind: str) -> set[str]:
    table = {"draws": "campaign_draws", "gifts": "campaign_claims"}[kind]
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute(f"SELECT member_id FROM {table} WHERE campaign_id = ?", [campaign_id])}
    finally:
        con.close()
