"""The member's own page: balance, expiry, history, redeem (once per submitted form), check-in, referral code."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tests.console import operator as op
from weixi.ledger import queries, selfservice


def balance_on(html: str) -> int:
    return int(re.search(r'id="balance">([\d,]+)<', html).group(1).replace(",", ""))


def request_id(html: str, reward: str) -> str:
    block = re.search(rf'<li data-reward="{reward}">.*?</li>', html, re.S).group(0)
    return re.search(r'name="request_id" value="([^"]+)"', block).group(1)


def redeem(c, reward: str, rid: str | None = None):
    page = c.get("/me").text
    return c.http.post(
        "/me/redeem",
        data={
            "reward_id": reward,
            "request_id": rid or request_id(page, reward),
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        },
    )


def test_the_page_shows_balance_expiry_history_catalogue_and_referral_code(console, app):
    page = console("member").get("/me")
    assert page.status_code == 200 and 'name="viewport"' in page.text
    today = queries.balance(app.state.engine, op.MEMBER, datetime.now(ZoneInfo("Asia/Shanghai")).date())
    assert balance_on(page.text) == today["balance"] >= op.GRANT
    schedule = re.findall(r"<li><span>([\d-]+)</span> <strong>([\d,]+)</strong></li>", page.text)
    assert sum(int(p.replace(",", "")) for _, p in schedule) == today["balance"]
    assert [d for d, _ in schedule] == sorted(d for d, _ in schedule)
    assert "调整" in page.text and "+5,000" in page.text  # the grant in the history
    assert re.findall(r'<li data-reward="([^"]+)">', page.text) == ["bill-credit", "speed-boost", "gift-book"]
    assert selfservice.referral_code(op.MEMBER) in page.text
    assert selfservice.member_for_code(selfservice.referral_code(op.MEMBER)) == op.MEMBER


def test_redeeming_lowers_the_balance_once_per_form(console):
    c = console("member")
    page = c.get("/me").text
    before = balance_on(page)
    rid = request_id(page, "bill-credit")
    r = redeem(c, "bill-credit", rid)
    assert r.status_code == 303 and r.headers["location"].startswith("/me?done=redeemed:")
    after = c.get(r.headers["location"]).text
    assert balance_on(after) == before - 100 and "已兑换 1 × 话费抵扣1元,使用 100 积分。" in after
    again = redeem(c, "bill-credit", rid)  # the same form submitted twice
    assert again.status_code == 303 and balance_on(c.get("/me").text) == before - 100


def test_refusals_are_told_in_the_members_words(console):
    c = console("member")
    for _ in range(2):
        assert redeem(c, "gift-book").status_code == 303
    r = redeem(c, "gift-book")
    assert r.status_code == 409 and "您已达到此奖品每人 2 件的兑换上限。" in r.text
    left = balance_on(r.text)
    while left >= 800:
        assert redeem(c, "speed-boost").status_code == 303
        left -= 800
    r = redeem(c, "speed-boost")
    assert r.status_code == 409 and f"积分不足:您有 {left} 积分,需要 800 积分。" in r.text
    c.get("/lang/en")
    assert f"Not enough points: you have {left}, this needs 800." in redeem(c, "speed-boost").text


def test_daily_check_in_earns_once_a_day(console):
    c = console("member")
    before = balance_on(c.get("/me").text)
    page = c.get("/me").text
    r = c.http.post("/me/checkin", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    assert r.status_code == 303 and r.headers["location"] == "/me?done=checkin:5"  # the telecom plan: 5 a day
    after = c.get(r.headers["location"]).text
    assert balance_on(after) == before + 5 and "签到成功:获得 5 积分。" in after and 'id="checkin-button"' not in after
    r = c.http.post("/me/checkin", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', after).group(1)})
    assert r.headers["location"] == "/me?done=checkin-again:"
    assert balance_on(c.get("/me").text) == before + 5


def test_forms_without_the_csrf_token_are_refused(console):
    c = console("member")
    before = balance_on(c.get("/me").text)
    r = c.http.post("/me/redeem", data={"reward_id": "bill-credit", "request_id": "0123456789abcdef"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert c.http.post("/me/checkin").status_code == 403
    assert balance_on(c.get("/me").text) == before


def test_staff_cannot_use_the_member_page(console):
    clerk = console("clerk")
    assert clerk.get("/me").status_code == 403
    page = clerk.get("/members").text
    r = clerk.http.post(
        "/me/redeem",
        data={
            "reward_id": "bill-credit",
            "request_id": "0123456789abcdef",
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
        },
    )
    assert r.status_code == 403


def test_referral_codes_round_trip_and_reject_typos():
    for member in ("M0000000002", "会员-7", "x", "A" * 128):
        code = selfservice.referral_code(member)
        assert code.startswith("WX") and selfservice.member_for_code(code) == member
        assert selfservice.member_for_code(code.lower().replace("-", " ")) == member
    code = selfservice.referral_code("M0000000002")
    assert code == "WX9M-R30C-1G60-R30C-1G68-NQ"  # documented in docs/console.md
    typo = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
    assert selfservice.member_for_code(typo) is None
    assert selfservice.member_for_code("WX") is None and selfservice.member_for_code("hello") is None


def history_rules(html: str) -> list[str]:
    """The 规则 (rule) cell of every row of the member 360 page's points history."""
    table = re.search(r'<table class="data" id="history">.*?</table>', html, re.S).group(0)
    return re.findall(r"<td>([^<>]*)</td></tr>", table)


def test_the_member_360_history_shows_the_plans_rule_names_not_their_ids(console):
    manager = console("manager")
    page = manager.get(f"/members/{op.MEMBER}").text
    rules = {r for r in history_rules(page) if r}
    # plans/examples/telecom-points.yaml: "消费返积分……每消费10元可获得1积分" is the rule `bill`, named 账单消费积分
    assert "账单消费积分" in rules, rules
    assert not rules & {"bill", "recharge", "checkin", "activity", "tier-bonus"}, rules
    assert rules <= {"账单消费积分", "充值积分", "签到积分", "参与活动积分", "会员等级加赠"}, rules
    manager.get("/lang/en?next=%2F")
    english = manager.get(f"/members/{op.MEMBER}").text
    assert "账单消费积分" in history_rules(english)  # the operator's own name, shown as written in every language


def visible(html: str) -> str:
    """The text a person reads: tags (and so their attributes, such as ``title``) taken out."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_member_360_history_says_what_each_entry_was_not_its_ids(console):
    """Issue 18: an entry shows its kind and what it was (the reward's name, the adjustment's reason), a lot its
    earning and expiry dates; the internal ids stay in ``title`` attributes only."""
    assert redeem(console("member"), "bill-credit").status_code == 303
    manager = console("manager")
    page = manager.get(f"/members/{op.MEMBER}").text
    history = re.search(r'<table class="data" id="history">.*?</table>', page, re.S).group(0)
    lots = re.search(r'<table class="data" id="lots">.*?</table>', page, re.S).group(0)
    shown = visible(history) + visible(lots)
    assert "redeem:" not in shown and "grant:" not in shown, shown
    assert 'title="grant:console-tests"' in history and re.search(r'title="redeem:[^"]+"', history)
    # plans/examples/telecom-points.yaml names the reward `bill-credit` 话费抵扣1元; the grant's reason is its own
    assert re.search(r'<td class="event" title="redeem:[^"]+">兑换 话费抵扣1元</td>', history), history
    assert '<td class="event" title="grant:console-tests">调整 console test grant</td>' in history
    # a lot by its earning and expiry dates (as the lots table shows them), never by its id
    lot_cells = re.findall(r'<td class="lot" title="([^"]+)">([^<]*)</td>', history)
    assert lot_cells and all(re.fullmatch(r"\d{4}-\d\d-\d\d → \d{4}-\d\d-\d\d", d) for _, d in lot_cells), lot_cells
    assert not any(lot_id in shown for lot_id, _ in lot_cells)
    # the demo member's August 2026 bill (the closed month): its month and amount, its bill id only in the title
    bills = re.findall(r'<td class="event" title="([^"]+)">账单 (\d{4}-\d\d) [\d,]+\.\d\d</td>', history)
    assert bills and all(bill_id not in shown and month == "2026-08" for bill_id, month in bills), bills
    manager.get("/lang/en?next=%2F")
    english = manager.get(f"/members/{op.MEMBER}").text
    assert re.search(r'<td class="event" title="redeem:[^"]+">Redemption 话费抵扣1元</td>', english)
