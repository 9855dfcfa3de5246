"""Each example plan, run with `weixi simulate` (and the ledger for settlements), gives the seeds' numbers."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.e2e.cli_helpers import events_csv, weixi, weixi_json

EXAMPLES = ROOT / "plans" / "examples"


def simulate(plan, path, as_of):
    return weixi_json("simulate", "--plan", EXAMPLES / plan, "--events", path, "--as-of", as_of)


def test_telecom_points_seed_numbers(tmp_path):
    # 每消费10元可获得1积分; 充值100元可获得10积分; 连续签到有额外奖励; 100积分兑换1元话费; 有效期一年
    rows = [
        ("b1", "m", "bill", "2026-01-05", "128.50", None, None),  # 12 (floor per bill)
        ("r1", "m", "recharge", "2026-01-06", "150", None, None),
    ]  # 10 (one full 100)
    rows += [(f"c{d}", "m", "checkin", f"2026-02-{d:02d}", None, None, None) for d in range(1, 8)]  # 7x5 + 20
    rows += [
        ("b2", "m", "bill", "2026-02-10", "300", None, None),  # 30
        ("x1", "m", "redeem", "2026-02-11", None, "bill-credit", {"qty": 1}),
    ]  # -100
    out = simulate("telecom-points.yaml", events_csv(tmp_path / "e.csv", rows), "2026-03-01")
    m = out["members"]["m"]
    assert m["earned"] == 12 + 10 + 7 * 5 + 20 + 30
    assert m["redeemed"] == 100 and m["balance"] == 107 - 100
    # earliest-expiring first: January and check-in lots (77 points) went first, then 23 of the 30 of 10 February
    assert m["lots"] == [{"earned_on": "2026-02-10", "expires_on": "2027-02-10", "remaining": 7}]
    year_later = simulate("telecom-points.yaml", events_csv(tmp_path / "e.csv", rows), "2027-02-10")
    assert year_later["members"]["m"]["balance"] == 0 and year_later["members"]["m"]["expired"] == 7


def test_service_points_seed_numbers(tmp_path):
    # 每消费1元可获得1积分; 参与调查问卷或反馈每次50积分; 推荐新客户100积分; 有效期为两年
    rows = [
        ("p1", "a", "bill", "2026-03-01", "88.80", None, None),  # 88
        ("s1", "a", "survey", "2026-03-02", None, None, None),  # 50
        ("ref", "a", "referral", "2026-03-03", None, "b", None),  # 100 when b registers and pays
        ("sb", "b", "signup", "2026-03-04", None, None, None),
        ("pb", "b", "bill", "2026-03-05", "10", None, None),
        ("sh1", "a", "share", "2026-03-06T09:00:00+08:00", None, None, None),  # 10
        ("sh2", "a", "share", "2026-03-06T18:00:00+08:00", None, None, None),
    ]  # limit 1 a day
    out = simulate("service-points.yaml", events_csv(tmp_path / "e.csv", rows), "2026-12-31")
    a = out["members"]["a"]
    assert a["balance"] == 88 + 50 + 100 + 10
    assert {l["expires_on"] for l in a["lots"]} == {"2028-03-01", "2028-03-02", "2028-03-05", "2028-03-06"}
    gone = simulate("service-points.yaml", events_csv(tmp_path / "e.csv", rows), "2028-03-05")
    assert gone["members"]["a"]["balance"] == 10


def test_new_customer_campaign_seed_numbers(tmp_path):
    # 新客户注册成功后获得100积分,首单消费金额双倍积分; 老客户1:1,上不封顶; 每100元1次抽奖; 数量有限,先到先得
    rows = [
        ("old-s", "old", "signup", "2026-05-01", None, None, None),  # before the campaign: registered, no bonus
        ("old-1", "old", "bill", "2026-05-20", "10", None, None),
        ("new-s", "new", "signup", "2026-07-02", None, None, None),  # 100
        ("new-1", "new", "bill", "2026-07-03", "30", None, None),  # 30 x 2
        ("new-2", "new", "bill", "2026-07-04", "45", None, None),  # 45
        ("old-2", "old", "bill", "2026-07-05", "50000", None, None),  # 50000: no cap
        ("ghost-1", "ghost", "bill", "2026-07-05", "10", None, None),  # not registered
        ("draw", "new", "redeem", "2026-07-06", None, "lottery", {"qty": 2}),
    ]
    out = simulate("new-customer-campaign.yaml", events_csv(tmp_path / "e.csv", rows), "2026-07-31")
    assert out["members"]["new"]["earned"] == 100 + 60 + 45
    assert out["members"]["new"]["redeemed"] == 200
    assert out["members"]["old"]["earned"] == 50000
    assert [r["event_id"] for r in out["rejected"]] == ["ghost-1"]
    assert "has not signed up" in out["rejected"][0]["reason"]


def test_new_customer_campaign_stock_first_come_first_served(tmp_path):
    rows = []
    for i in range(52):
        rows += [
            (f"s{i}", f"m{i:02d}", "signup", "2026-07-01", None, None, None),
            (f"b{i}", f"m{i:02d}", "bill", "2026-07-02", "2000", None, None),
        ]
    rows += [
        (f"x{i}", f"m{i:02d}", "redeem", f"2026-07-03T10:00:{i:02d}+08:00", None, "gift-powerbank", None)
        for i in range(52)
    ]
    out = simulate("new-customer-campaign.yaml", events_csv(tmp_path / "e.csv", rows), "2026-07-31")
    assert [r["event_id"] for r in out["rejected"]] == ["x50", "x51"]  # stock 50
    assert all("stock" in r["reason"] for r in out["rejected"])


def test_merchant_points_monthly_settlement(tmp_path):
    db = tmp_path / "w.db"
    weixi("init", db=db)
    weixi("plan", "apply", EXAMPLES / "merchant-points.yaml", db=db)
    weixi(
        "events", "post", events_csv(tmp_path / "e.csv", [("b", "m", "bill", "2026-10-01", "1000", None, None)]), db=db
    )
    weixi("redeem", "m", "merchant-spend", "--qty", "300", "--merchant", "heyuan-supermarket", db=db)
    weixi("redeem", "m", "merchant-spend", "--qty", "200", "--merchant", "heyuan-cinema", db=db)
    weixi("redeem", "m", "merchant-spend", "--qty", "1", "--merchant", "nowhere", db=db, expect=1)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")  # redemptions are dated in the plan's zone
    report = weixi_json("settlement", "--month", month, db=db)
    by = {m["merchant"]: m for m in report["merchants"]}
    assert by["heyuan-supermarket"]["points"] == 300 and by["heyuan-supermarket"]["settle_yuan"] == "3"
    assert by["heyuan-cinema"]["settle_yuan"] == "1.6"
    assert report["total_yuan"] == "4.6"
