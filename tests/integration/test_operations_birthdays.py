"""Birthday gifts of the care run on a real database: points, a coupon or a gift per tier, solar or lunar, posted
through the ledger once a year. Seed 002 (会员管理方案): "生日福利为会员提供生日福利,例如生日优惠券、生日礼品等。
生日福利能够拉近企业和会员的关系,增加会员的归属感。"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.ops_fixtures import write_members, write_snapshot
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.ledger import queries
from weixi.operations import care_run as care
from weixi.operations import service as ops
from weixi.plans.service import apply_plan_text

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 10, 1)  # 八月廿一 in the lunar calendar
POINTS_PLAN = """\
plan: birthday-points
name: 生日积分测试
expiry: {months_after: 24}
tiers:
  - {id: standard, name: 普通会员, rank: 0}
  - {id: gold, name: 金卡会员, rank: 1}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 10}
rewards:
  - {id: cake, type: gift, name: 生日蛋糕, cost: 800, stock: 10}
  - {id: coupon-5, type: coupon, name: 5元优惠券, cost: 500, face_value_yuan: 5, code_prefix: BDAY}
  - {id: vip-box, type: gift, name: 金卡礼盒, cost: 300, tiers: [gold]}
"""
GIFTS = """    gifts:
      - {tiers: [diamond], points: 500, gift: cake}
      - {tiers: [gold], coupon: coupon-5}
      - {tiers: [silver], points: 100, gift: vip-box}
      - {tiers: [platinum], coupon: cake}
"""


def _ops_plan(tmp: Path):
    text = (ROOT / "src" / "weixi" / "data" / "operations.yaml").read_text(encoding="utf-8")
    head, _, rest = text.partition("    gifts:\n")
    rest = rest[rest.index('  # "除春节') :]
    path = tmp / "ops.yaml"
    path.write_text(head + GIFTS + rest, encoding="utf-8")
    return ops.plan_or_fail(str(path))


@pytest.fixture
def world(db_url, tmp_path):
    engine = make_engine(db_url)
    data = tmp_path / "data"
    ids = write_snapshot(data, "2026-09", {"diamond": 1, "gold": 2, "silver": 1, "standard": 1, "platinum": 1})
    people = [
        (ids[0], date(1990, 10, 1), None),  # diamond, solar birthday today
        (ids[1], date(1985, 3, 3), "农历八月廿一"),  # gold, lunar birthday today
        (ids[2], date(1985, 10, 1), "农历正月初一"),  # gold, solar date today but the lunar birthday counts
        (ids[3], date(1991, 10, 1), None),  # silver
        (ids[4], date(1992, 10, 1), None),  # standard: no gift entry
        (ids[5], date(1993, 10, 1), None),  # platinum: a coupon entry naming a gift reward
    ]
    write_members(
        data,
        [
            {
                "member_id": m,
                "name": "王芳",
                "gender": "F",
                "birthday": b,
                "lunar_birthday": lb,
                "phone": "138",
                "city": "广州",
            }
            for m, b, lb in people
        ],
    )
    return engine, data, ids, _ops_plan(tmp_path)


def _balance(engine, member: str) -> int:
    found = queries.balance(engine, member, DAY)
    return found["balance"] if found else 0


def test_the_care_run_grants_each_birthday_its_tier_gift_once(world):
    engine, data, ids, plan = world
    apply_plan_text(engine, POINTS_PLAN, "points.yaml")
    r = care.run_day(engine, data, plan, DAY)["birthdays"]
    # diamond: points + cake; gold (lunar): coupon; silver: points, its gift refused (a gold-only reward)
    assert r["members"] == 4 and r["points"] == 600
    assert r["points_granted"] == 2 and r["rewards_granted"] == 2 and r["already_granted"] == 0
    refused = {x["member_id"]: x for x in r["refused"]}
    assert refused[ids[3]] == {"member_id": ids[3], "reward": "vip-box", "kind": "gift", "code": "tier_not_allowed"}
    assert refused[ids[5]]["code"] == "birthday_reward_wrong_type" and refused[ids[5]]["kind"] == "coupon"
    # the reward's cost is credited then spent: the member's own points are untouched, the refused one undone
    assert _balance(engine, ids[0]) == 500
    assert _balance(engine, ids[1]) == 0
    assert _balance(engine, ids[3]) == 100
    assert _balance(engine, ids[2]) == 0 and _balance(engine, ids[4]) == 0
    with engine.connect() as conn:
        redeemed = execute(conn, "SELECT member_id, reward_id FROM redemptions ORDER BY member_id")
        codes = execute(conn, "SELECT code, member_id FROM coupons")
    assert [tuple(x) for x in redeemed] == [(ids[0], "cake"), (ids[1], "coupon-5")]
    assert len(codes) == 1 and codes[0][0].startswith("BDAY-") and codes[0][1] == ids[1]
    # rerunning the day grants nothing twice, and a refused reward is not tried again
    again = care.run_day(engine, data, plan, DAY)["birthdays"]
    assert again["points_granted"] == 0 and again["rewards_granted"] == 0 and again["already_granted"] == 5
    assert _balance(engine, ids[0]) == 500 and _balance(engine, ids[3]) == 100
    # the same member's birthday again within the year (a rerun under another date's key) is the same event id
    with engine.connect() as conn:
        ids_posted = {e for (e,) in execute(conn, "SELECT event_id FROM events WHERE event_id LIKE 'care:birthday:%'")}
    assert f"care:birthday:2026:{ids[0]}" in ids_posted and f"care:birthday:2026:{ids[1]}:coupon-5" in ids_posted


def test_without_an_active_points_plan_gifts_wait_and_a_dry_run_posts_nothing(world):
    engine, data, ids, plan = world
    dry = care.run_day(engine, data, plan, DAY, dry_run=True)["birthdays"]
    assert dry["members"] == 4 and dry["points_granted"] == 0
    waiting = care.run_day(engine, data, plan, DAY)["birthdays"]
    assert waiting["waiting"] == "no_active_points_plan" and waiting["points_granted"] == 0
    apply_plan_text(engine, POINTS_PLAN, "points.yaml")
    later = care.run_day(engine, data, plan, DAY)["birthdays"]
    assert later["points_granted"] == 2 and _balance(engine, ids[0]) == 500


def test_weixi_care_run_reports_the_birthdays_granted(world, db_url):
    from weixi.cli import app

    engine, data, ids, plan = world
    apply_plan_text(engine, POINTS_PLAN, "points.yaml")
    args = ["care", "run", "--date", "2026-10-01", "--plan", plan.source, "--data-dir", str(data), "--db", db_url]
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0, text.output
    assert "birthdays: 4 members with a gift, 600 points; granted 2 points and 2 rewards, 0 already granted" in (
        text.output
    )
    refused = [line.split() for line in text.output.splitlines() if line.startswith("  M")]
    assert [ids[3], "vip-box", "tier_not_allowed"] in refused and [
        ids[5],
        "cake",
        "birthday_reward_wrong_type",
    ] in refused
    again = CliRunner().invoke(app, [*args, "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["birthdays"]["already_granted"] == 5
