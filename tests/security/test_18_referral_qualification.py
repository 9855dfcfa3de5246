"""Issue 16, item 18: referral bonuses only for new members, and never straight away for a mutual pair.

The attack: a referrer "refers" customers who joined and paid in 2024 and is paid in 2026 for each; two members
refer each other (A↔B) and both are paid. The seeds say a referral is for a *new* customer: "推荐新客户:每成功推荐
一个新客户可获得100积分" (000, 客户服务积分奖励方案), "经客服人员确定此客户为新客户后 ... 必须保证新客户为首次到访,二次
到访的客户不能适用本次活动" (000, 年中庆客户回馈活动方案), "必须为首次到店客户" (003, 转介绍奖励方案).

Safe answer: a campaign referral qualifies only for a referee who joined on or after the day the referrer's code
was issued (otherwise it is rejected with the reason and never paid); a referral that closes a ring (A referred B,
B refers A) sends the whole ring to the review queue; the points ledger's referral rule (service-points plan)
refuses a referral of an existing member and a mutual referral.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.api.conftest import ROOT
from tests.integration.helpers import event
from weixi.adapters.sql import execute
from weixi.campaigns import referral_service as referrals
from weixi.campaigns import service as campaigns
from weixi.ledger.posting import post_events
from weixi.plans import service as plans

TZ = ZoneInfo("Asia/Shanghai")
SERVICE_POINTS = ROOT / "plans" / "examples" / "service-points.yaml"

# points-carnival: "用户可邀请好友通过他们的链接注册并消费,邀请成功即可获取一定数量的积分奖励" — 300 points
CAMPAIGN = """kind: campaign
campaign: carnival
name: 积分狂欢节
window: {from: 2026-07-01, to: 2026-07-31}
objectives:
  - {id: referrals, metric: referrals, target: 300}
audience:
  source: list
  members: [a, b, c]
budget:
  - {line: points, points: 100000}
lottery:
  chances: {grant: 1}
  prizes:
    - {id: pts, name: 50积分, per_day: 2, points: 50}
referral:
  referrer_points: 300
  requires: [registration, payment]
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def joined(engine, member: str, day: str) -> None:
    """The member registers and pays (consumes) on ``day``."""
    post_events(engine, [event(f"s-{member}", member, "signup", day), event(f"p-{member}", member, "bill", day, 1000)])


def balance(engine, member: str) -> int:
    with engine.connect() as conn:
        found = execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member])
    return int(found[0][0]) if found else 0


def referral_awards(engine, cid: str) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(
            execute(
                conn, "SELECT member_id, points FROM campaign_awards WHERE campaign_id = ? AND kind = 'referral'", [cid]
            )
        )


def running_campaign(engine) -> str:
    when = at("2026-06-20T09:00")
    cid = campaigns.create(engine, CAMPAIGN, "carnival.yaml", "alice", now=when)["campaign_id"]
    for action, by in (("submit", "alice"), ("approve", "bob"), ("start", "bob")):
        campaigns.act(engine, cid, action, by, now=when)
    return cid


def test_a_customer_who_joined_and_paid_in_2024_is_not_a_referral(api):
    engine = api.engine
    cid = running_campaign(engine)
    joined(engine, "old", "2024-03-01")  # 二次到访: a customer since 2024
    code = referrals.code(engine, cid, "a", now=at("2026-07-01T09:00"))["code"]
    claimed = referrals.refer(engine, cid, code, "old", now=at("2026-07-01T10:00"))
    assert claimed["status"] == "rejected"
    assert "not a new member: old is a member since 2024-03-01" in claimed["flags"][-1]
    # a referee unknown at referral time whose sign-up is then back-dated before the code was issued
    assert referrals.refer(engine, cid, code, "late", now=at("2026-07-02T10:00"))["status"] == "pending"
    joined(engine, "late", "2026-06-25")
    # the real thing: a new customer registers and pays after the code was issued
    assert referrals.refer(engine, cid, code, "n1", now=at("2026-07-02T10:00"))["status"] == "pending"
    joined(engine, "n1", "2026-07-02")
    before = balance(engine, "a")
    assert referrals.settle(engine, cid, now=at("2026-07-03T09:00"))["rewarded"] == 1
    assert balance(engine, "a") == before + 300 and referral_awards(engine, cid) == {"a": 300}  # for n1 only
    status = {q["referee_id"]: q["status"] for q in referrals.queue(engine, cid)}
    assert status == {"old": "rejected", "late": "rejected", "n1": "rewarded"}


def test_a_mutual_pair_goes_to_the_review_queue_not_paid(api):
    engine = api.engine
    cid = running_campaign(engine)
    code_b = referrals.code(engine, cid, "b", now=at("2026-07-01T09:00"))["code"]
    code_c = referrals.code(engine, cid, "c", now=at("2026-07-01T09:00"))["code"]
    assert referrals.refer(engine, cid, code_b, "c", now=at("2026-07-01T10:00"))["status"] == "pending"
    back = referrals.refer(engine, cid, code_c, "b", now=at("2026-07-01T10:05"))
    assert back["status"] == "review" and "referral ring: b → c → b" in back["flags"]
    joined(engine, "b", "2026-07-01")
    joined(engine, "c", "2026-07-01")
    assert referrals.settle(engine, cid, now=at("2026-07-02T09:00"))["rewarded"] == 0
    assert referral_awards(engine, cid) == {}
    queue = {q["referee_id"]: q for q in referrals.queue(engine, cid, "review")}
    assert set(queue) == {"b", "c"} and "referral ring: b → c → b" in queue["c"]["flags"]


def test_the_ledger_referral_rule_pays_only_for_a_new_member_and_never_a_mutual_pair(api):
    plans.apply_plan(api.engine, SERVICE_POINTS)  # "(3) 推荐新客户:每成功推荐一个新客户可获得100积分。"
    clerk = api.client("clerk")

    def post(*events):
        r = clerk.post(
            "/api/events",
            json={
                "events": [
                    {
                        "event_id": e[0],
                        "member_id": e[1],
                        "type": e[2],
                        "occurred_at": e[3] + "T10:00:00+08:00",
                        **({"ref": e[4]} if e[2] == "referral" else {"amount": e[4]} if e[4] else {}),
                    }
                    for e in events
                ]
            },
        )
        assert r.status_code == 200, r.text
        return r.json()

    post(("s-old", "L0002", "signup", "2024-03-01", None), ("p-old", "L0002", "bill", "2024-03-02", "100"))
    old = post(("r-old", "L0001", "referral", "2026-11-01", "L0002"))
    assert old["posted"] == 0 and "only a new member can be referred" in old["rejected"][0]["reason"]
    new = post(
        ("r-new", "L0001", "referral", "2026-11-01", "L0003"),
        ("s-new", "L0003", "signup", "2026-11-02", None),
        ("p-new", "L0003", "bill", "2026-11-02", "50"),
    )
    assert new["posted"] == 3
    assert balance(api.engine, "L0001") == 100
    mutual = post(("r-back", "L0003", "referral", "2026-11-02", "L0001"))
    assert mutual["posted"] == 0 and "mutual referral" in mutual["rejected"][0]["reason"]
    assert balance(api.engine, "L0003") == 50  # its own purchase only
