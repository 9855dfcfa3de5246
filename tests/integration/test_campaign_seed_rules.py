"""Issue 20 §8-§9 on a real database, quoting seed 000: every invited owner draws in the anniversary draw, only in
its draw hours ("每天下午3点30分-5点"), and the mid-year gifts keep their limits as written (粽子 1 box an owner and
2 a key client, phone stands at most 5 a visit, movie tickets "原则上不限")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BACKENDS
from tests.integration import test_campaigns as base
from tests.integration.test_campaigns import EXAMPLES, at, campaign_text, start
from weixi.campaigns import gifts, lottery_service
from weixi.campaigns import service as cs

ledger = base.ledger  # the same fixture: the telecom points plan and five members with bills
OWNERS = ("a", "b", "c", "d", "poor")  # the ledger fixture's members


def code(fn, *args, **kw) -> tuple[str, dict]:
    with pytest.raises(cs.CampaignError) as exc:
        fn(*args, **kw)
    return exc.value.code, exc.value.params


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_anniversary_every_invited_owner_draws_within_the_draw_hours(ledger):
    engine = ledger
    text = (EXAMPLES / "anniversary-draw.yaml").read_text(encoding="utf-8")
    c = cs.create(engine, text, "anniversary-draw.yaml", "alice", now=at("2015-06-10T09:00"))["campaign_id"]
    cs.act(engine, c, "submit", "alice", now=at("2015-06-10T09:00"))
    cs.act(engine, c, "approve", "bob", now=at("2015-06-11T09:00"))
    started = cs.act(engine, c, "start", "bob", now=at("2015-06-20T18:00"))
    # "均可以参加": nobody is held out
    assert started["audience"] == {**started["audience"], "treatment": len(OWNERS), "control": 0}
    # "3.3.2、抽奖时间:6月21日-6月22日,每天下午3点30分-5点"
    refused, params = code(lottery_service.draw, engine, c, "a", now=at("2015-06-21T15:29"))
    assert refused == "campaign_draw_outside_hours"
    assert (params["start"], params["end"], params["now"]) == ("15:30", "17:00", "15:29:00")
    assert code(lottery_service.draw, engine, c, "a", now=at("2015-06-21T17:00:01"))[0] == "campaign_draw_outside_hours"
    assert code(lottery_service.draw, engine, c, "a", now=at("2015-06-21T10:00"))[0] == "campaign_draw_outside_hours"
    # the clock is read in the plan's timezone: 07:30 UTC is 15:30 in Shanghai
    first = lottery_service.draw(engine, c, "a", now=datetime(2015, 6, 21, 7, 30, tzinfo=ZoneInfo("UTC")))
    last = lottery_service.draw(engine, c, "b", now=at("2015-06-21T17:00:00"))
    rest = [lottery_service.draw(engine, c, m, now=at("2015-06-22T16:00")) for m in ("c", "d", "poor")]
    assert {d["member_id"] for d in [first, last, *rest]} == set(OWNERS)  # every registered owner drew
    assert "15:30" in str(
        pytest.raises(cs.CampaignError, lottery_service.draw, engine, c, "a", now=at("2015-06-22T18:00")).value
    )


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_midyear_gift_limits_as_written(ledger):
    engine = ledger
    extra = (
        "key_clients: [b]\n"
        "gifts:\n"
        "  - {id: zongzi, name: 裕达国贸礼盒粽子, stock: 200, per_member: 1, per_key_client: 2}\n"
        "  - {id: stand, name: 手机支架, stock: 1000, per_member: unlimited, per_visit: 5}\n"
        "  - {id: tickets, name: 电影票兑换券2张, stock: 400, per_member: unlimited}\n"
    )
    c = start(engine, campaign_text(["a", "b", "c"], extra=extra))
    day1, day2 = at("2026-07-01T10:00"), at("2026-07-02T10:00")
    # "豪宅、写字楼业主不论成交套数,均只能领取1盒" — an owner gets one box
    gifts.claim_gift(engine, c, "a", "zongzi", 1, now=day1)
    refused, params = code(gifts.claim_gift, engine, c, "a", "zongzi", 1, now=day2)
    assert (refused, params["limit"]) == ("campaign_gift_member_limit", 1)
    # "大客户拜访...可共计领取2盒" — a key client two
    gifts.claim_gift(engine, c, "b", "zongzi", 2, now=day1)
    refused, params = code(gifts.claim_gift, engine, c, "b", "zongzi", 1, now=day2)
    assert (refused, params["had"], params["limit"]) == ("campaign_gift_key_client_limit", 2, 2)
    # "具体领取数量应客户要求,每次领取不超过5个" — five on a visit, whether asked at once or in parts ...
    assert code(gifts.claim_gift, engine, c, "c", "stand", 6, now=day1)[0] == "campaign_gift_visit_limit"
    gifts.claim_gift(engine, c, "c", "stand", 3, now=day1)
    gifts.claim_gift(engine, c, "c", "stand", 2, now=at("2026-07-01T16:00"))
    refused, params = code(gifts.claim_gift, engine, c, "c", "stand", 1, now=at("2026-07-01T17:00"))
    assert (refused, params["had"], params["limit"], params["day"]) == ("campaign_gift_visit_limit", 5, 5, "2026-07-01")
    # ... and a new visit the next day: no cap over the campaign
    gifts.claim_gift(engine, c, "c", "stand", 5, now=day2)
    # "原则上不限定领取次数,多次带访可多次领取" — the movie tickets have no cap
    for _ in range(12):
        gifts.claim_gift(engine, c, "a", "tickets", 1, now=day1)
    assert sum(r["issued"] for r in lottery_service.stock(engine, c) if r["item"] == "tickets") == 12
