"""Issue 20 §8-§11 read against seed 000: the anniversary draw open to every invited owner within its draw hours,
the mid-year gifts' limits as written, a window already over refused by the checker, and the post office's
scratch cards (2 yuan x 50,000 cards = 100,000 yuan, 27.5% win rate) verified from their prize table."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.unit.campaigns.test_campaign_files import BASE, EXAMPLES, check, load
from weixi.campaigns.store import check as check_at

TZ = ZoneInfo("Asia/Shanghai")


# --- §8 the anniversary draw -----------------------------------------------------------------------------------


def test_anniversary_draw_holds_no_owner_out_and_has_its_draw_hours():
    c = load("anniversary-draw")
    # "针对6月21日及6月22日到访的老业主,均可以参加“感恩年中庆好礼送不停”现场抽奖活动": every invited owner who
    # registers may draw, so the plan holds out no control group.
    assert c.audience.control_share == 0
    # "3.3.2、抽奖时间:6月21日-6月22日,每天下午3点30分-5点"
    assert c.lottery.hours == (time(15, 30), time(17, 0))
    assert c.timezone == "Asia/Shanghai"


def test_control_group_stays_the_plans_choice():
    c = load("midyear-gratitude")
    assert c.audience.control_share == Decimal("0.05")  # this campaign still measures its lift


def test_draw_hours_are_checked():
    lottery = "lottery:\n  chances: {grant: 1}\n  prizes:\n    - {id: a, name: A, per_day: 1}\n"
    found = check(BASE + lottery + '  hours: {from: "17:00", to: "15:30"}\n')
    assert any("c.yaml:14:" in f and "draw hours end (15:30) at or before they start (17:00)" in f for f in found), (
        found
    )
    found = check(BASE + lottery + '  hours: {from: "3:30 pm", to: "25:00"}\n')
    assert any("'3:30 pm' is not a time of day" in f for f in found), found
    assert any("'25:00' is not a time of day" in f for f in found), found
    assert check(BASE + lottery + '  hours: {from: "15:30", to: "17:00"}\n') == []


# --- §9 mid-year gift limits as written ----------------------------------------------------------------------


def test_midyear_gift_limits_as_the_seed_writes_them():
    c = load("midyear-gratitude")
    zongzi = c.gift("zongzi")
    # "豪宅、写字楼业主不论成交套数,均只能领取1盒裕达礼盒粽子" / "...大客户拜访...可共计领取2盒裕达礼盒粽子"
    assert (zongzi.limit_for(key_client=False), zongzi.limit_for(key_client=True)) == (1, 2)
    assert c.key_clients  # "销售部提供成交业主及大客户名单"
    stand = c.gift("phone-stand")
    # "具体领取数量应客户要求,每次领取不超过5个": five per visit, no cap over the campaign
    assert (stand.per_visit, stand.per_member) == (5, None)
    # "原则上不限定领取次数,多次带访可多次领取": no cap on the movie tickets
    assert c.gift("movie-tickets").per_member is None
    assert c.gift("nail-kit").per_member == 2  # "最多只能领取定制指甲剪套装2个"


def test_gift_limit_mistakes_are_located():
    gifts = "gifts:\n  - {id: z, name: Z, stock: 10, per_member: 1, per_key_client: 2}\n"
    found = check(BASE + gifts)
    assert any("c.yaml:11:" in f and "per_key_client limit but the campaign lists no key_clients" in f for f in found)
    assert check(BASE + gifts + "key_clients: [m1]\n") == []
    found = check(BASE + "gifts:\n  - {id: s, name: S, stock: 10, per_member: 3, per_visit: 5}\n")
    assert any("per_visit 5 is more than per_member 3" in f for f in found), found


# --- §10 a window already over is refused by the checker -------------------------------------------------------


def test_a_window_already_over_is_refused_by_the_checker():
    text = (EXAMPLES / "anniversary-draw.yaml").read_text(encoding="utf-8")
    campaign, before = check_at(text, "anniversary-draw.yaml", datetime(2015, 6, 10, 9, 0, tzinfo=TZ))
    assert before == [] and campaign.id == "anniversary-draw"
    campaign, late = check_at(text, "anniversary-draw.yaml", datetime(2026, 12, 4, 9, 0, tzinfo=TZ))
    assert campaign is None
    assert [(d.code, d.line, d.severity) for d in late] == [("campaign_plan_window_past", 13, "error")]
    assert "window ended on 2015-06-22, before today (2026-12-04)" in late[0].format()
    # the last day of the window still runs: not refused (today in the campaign's timezone, not UTC)
    assert check_at(text, "anniversary-draw.yaml", datetime(2015, 6, 22, 16, 30, tzinfo=ZoneInfo("UTC")))[1] != []
    assert check_at(text, "anniversary-draw.yaml", datetime(2015, 6, 22, 15, 30, tzinfo=ZoneInfo("UTC")))[1] == []


# --- §11 the post office's scratch cards -----------------------------------------------------------------------


def test_scratch_cards_budget_and_win_rate_from_the_prize_table():
    c = load("scratch-cards")
    card = c.gift("scratch-card")
    # "幸运刮刮卡:单价2元/枚,数量5万枚,活动总计费用10万元"
    assert (card.value_fen, card.stock) == (200, 50_000)
    assert next(b for b in c.budget if b.line == "gifts").fen == card.stock * card.value_fen == 10_000_000
    # "邮政提供27.5%的中奖率" — 13,750 winning cards of 50,000
    assert card.win_rate == Decimal("0.275") and card.winning == 13_750
    assert Decimal(card.winning) / card.stock == card.win_rate
    # "邮政提供4999元、1000元、500元不同的高额中奖机会", paid by the post office
    assert [p.value_fen // 100 for p in card.prizes[:3]] == [4999, 1000, 500]
    assert {p.funded_by for p in card.prizes} == {"partner"}


def test_scratch_cards_checker_catches_a_wrong_rate_or_budget():
    text = (EXAMPLES / "scratch-cards.yaml").read_text(encoding="utf-8")
    found = check(text.replace('win_rate: "0.275"', 'win_rate: "0.3"'))
    assert any("win_rate 0.3 but the prizes win on 13750 of 50000 cards (0.275); 0.3 needs 15000" in f for f in found)
    found = check(text.replace("count: 10000,", "count: 9999,"))
    assert any("win on 13749 of 50000 cards (0.275); 0.275 needs 13750" in f for f in found), found
    found = check(text.replace("yuan: 100000,", "yuan: 90000,"))
    assert any(
        "'gifts' plans 90000.00 yuan but its gifts cost 100000.00 yuan (scratch-card 50000 x 2.00)" in f for f in found
    )
    found = check(text.replace("count: 10000,", "count: 50000,"))
    assert any("its prizes win on 53750 cards but only 50000 are printed" in f for f in found), found
