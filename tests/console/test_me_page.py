"""The member's own page as a member's page (issue 18 §1 "Member (/me)"): its own layout, the tier and its
benefits, what expires in which month, a redemption as one line of history however many lots it took, the
running campaigns with the lottery, the referral code as text and as a QR code."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import segno

from tests.console import operator as op
from tests.console.conftest import Console, csrf_of
from tests.console.test_campaign_pages import running
from weixi.adapters.sql import execute
from weixi.ledger import queries, selfservice
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.plans.service import active_plan
from weixi.users import service as users

ZONE = ZoneInfo("Asia/Shanghai")


def section(html: str, element_id: str) -> str:
    found = re.search(rf'<(section|article)[^>]*id="{element_id}".*?</\1>', html, re.S)
    assert found, f"no #{element_id}"
    return found.group(0)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_the_member_page_has_its_own_layout_not_the_staff_header(console):
    page = console("member").get("/me").text
    assert 'name="viewport"' in page and "/static/member.css" in page and 'class="member member-app"' in page
    assert '<header class="member-top">' in page and '<header class="top">' not in page
    assert "side-menu" not in page and "menu-toggle" not in page and "page-header" not in page
    assert re.search(r'<nav class="main"[^>]*>\s*<a href="/me" data-nav="/me" class="current"', page)
    assert 'action="/logout"' in page and "/lang/en?next=%2Fme" in page
    quick = re.search(r'<nav class="quick".*?</nav>', page, re.S).group(0)
    assert re.findall(r'href="(#[a-z]+)"', quick) == ["#checkin", "#campaigns", "#catalogue", "#referral"]


def test_the_tier_card_shows_the_plans_benefits_and_the_way_up(console, app):
    engine = app.state.engine
    with engine.connect() as conn:
        tier = execute(conn, "SELECT tier FROM members WHERE member_id = ?", [op.MEMBER])[0][0] or "standard"
        earned = execute(
            conn,
            "SELECT coalesce(sum(points), 0) FROM journal WHERE member_id = ? AND kind = 'earn' AND day >= ?",
            [op.MEMBER, "2025-12-01"],
        )[0][0]
        _, plan = active_plan(conn)
    # plans/examples/telecom-points.yaml: 普通会员, 银卡会员, 金卡会员, 钻石会员 by points earned over a rolling 12 months
    # (thresholds as the plan file sets them); the tier multiplier applies to the bill rule 账单消费积分
    names = {t.id: t.name for t in plan.tiers}
    assert set(names.values()) == {"普通会员", "银卡会员", "金卡会员", "钻石会员"}
    ranked = sorted(plan.tiers, key=lambda t: t.rank)
    nxt = {a.id: (b.name, int(b.qualify)) for a, b in zip(ranked, ranked[1:])}
    page = console("member").get("/me").text
    assert f'<span class="tier-badge" id="tier-name">{names[tier]}</span>' in page
    card = text(section(page, "tier"))
    assert card.startswith(f"我的等级：{names[tier]}")
    if tier == "standard":
        assert "账单消费和充值按标准比例获得积分。" in card
    else:
        assert "账单消费积分：" in card and "倍积分" in card
    today = datetime.now(ZONE).date()
    if today.strftime("%Y-%m") == "2026-12":  # the window the query above used: 2025-12 .. 2026-12
        name, need = nxt[tier]
        assert f"近 12 个月已获得 {earned:,} 积分，再获得 {max(need - earned, 0):,} 积分即可升级为{name}。" in card
    assert re.search(r'<progress max="100" value="\d+"', section(page, "tier"))


def test_expiry_is_one_line_per_month_and_adds_up_to_the_balance(console, app):
    engine = app.state.engine
    now = datetime.now(ZONE)
    # two more lots today and the grant: all expire in the same month a year on (expiry: months_after 12)
    post_events(
        engine,
        [
            Event(f"grant:month-{n}", op.MEMBER, "adjust", now, now.date(), points=10 * n, attrs={"reason": "x"})
            for n in (1, 2)
        ],
    )
    page = console("member").get("/me").text
    balance = queries.balance(engine, op.MEMBER, now.date())
    days = {lot["expires_on"] for lot in balance["lots"] if lot["remaining"] > 0}
    months = re.findall(r"<li><span>(\d{4}-\d\d)</span> <strong>([\d,]+)</strong></li>", section(page, "expiry"))
    assert [m for m, _ in months] == sorted({d[:7] for d in days})  # one line per month, soonest first
    assert sum(int(p.replace(",", "")) for _, p in months) == balance["balance"]
    first, points = months[0]
    year, month = first.split("-")
    assert f"{points} 积分将于 {year}年{int(month)}月 到期。" in section(page, "summary")
    c = console("member")
    c.get("/lang/en?next=%2Fme")
    assert re.search(rf"{points} points expire in \w{{3}} {year}\.", c.get("/me").text)


def test_a_redemption_that_takes_several_lots_is_one_line_of_history(console, app):
    engine = app.state.engine
    now = datetime.now(ZONE)
    users.create_user(engine, "member-two", op.PASSWORD, "member", op.OTHER)
    grants = [
        Event(f"grant:lot-{n}", op.OTHER, "adjust", now, now.date(), points=40, attrs={"reason": "x"}) for n in range(4)
    ]
    assert post_events(engine, grants).posted == 4
    c = Console(app)
    r = c.post_form("/login", "/login", {"username": "member-two", "password": op.PASSWORD, "next": ""})
    assert r.status_code == 303
    page = c.get("/me").text
    rid = re.search(r'<li data-reward="bill-credit">.*?name="request_id" value="([^"]+)"', page, re.S).group(1)
    r = c.http.post("/me/redeem", data={"reward_id": "bill-credit", "request_id": rid, "csrf_token": csrf_of(page)})
    assert r.status_code == 303
    with engine.connect() as conn:
        lines = execute(
            conn, "SELECT event_id, points FROM journal WHERE member_id = ? AND kind = 'redeem'", [op.OTHER]
        )
    assert len(lines) >= 2 and len({e for e, _ in lines}) == 1  # one redemption, taken from two lots or more
    history = section(c.get("/me").text, "history")
    redeemed = [text(li) for li in re.findall(r'<li class="kind-redeem">.*?</li>', history, re.S)]
    assert redeemed == [f"{now.date()} · 兑换 话费抵扣1元 × 1 -100"], redeemed


def test_a_member_draws_in_a_running_campaign_once_per_chance(console, app):
    cid = running(app)  # a lottery over yesterday..tomorrow, one chance for each of MEMBER and OTHER
    c = console("member")
    page = c.get("/me").text
    card = section(page, "campaigns")
    assert f'data-campaign="{cid}"' in card and "周年抽奖 live-draw" in card and "金条 · 50积分" in card
    assert re.search(r'剩余抽奖机会：\s*<strong class="left">1</strong>', card)
    rid = re.search(r'name="request_id" value="([^"]+-d1)"', card).group(1)
    form = {"campaign_id": cid, "request_id": rid, "csrf_token": csrf_of(page)}
    r = c.http.post("/me/draw", data=form)
    assert r.status_code == 303 and re.fullmatch(rf"/me\?done=drew:{cid}:(\d+)#campaigns", r.headers["location"])
    after = c.get(r.headers["location"].split("#")[0]).text
    notice = re.search(r'id="notice">([^<]+)<', after).group(1)
    assert notice in (
        "恭喜您抽中金条！请凭此页面到营业厅领取。",
        "恭喜您抽中50积分，50 积分将存入您的账户。",
        "很遗憾，本次未中奖，感谢参与。",
    )
    card = section(after, "campaigns")
    assert re.search(r'<strong class="left">0</strong>', card) and re.search(r"<button[^>]*draw\"[^>]* disabled", card)
    assert "您在本活动的抽奖机会已用完。" in card
    again = c.http.post("/me/draw", data=form)  # the same form sent twice: the same draw, not a second one
    assert again.status_code == 303 and again.headers["location"] == r.headers["location"]
    fresh = {**form, "request_id": "another-request-1"}
    refused = c.http.post("/me/draw", data=fresh)
    assert refused.status_code == 409 and "您在本活动的抽奖机会已用完。" in refused.text
    with app.state.engine.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM campaign_draws WHERE member_id = ?", [op.MEMBER])[0][0] == 1
    c.get("/lang/en?next=%2Fme")
    assert "You have no chances left in this campaign." in c.http.post("/me/draw", data=fresh).text


def test_nobody_draws_for_a_member_through_the_member_page(console, app):
    cid = running(app)
    clerk = console("clerk")
    token = csrf_of(clerk.get("/members").text)
    r = clerk.http.post("/me/draw", data={"campaign_id": cid, "request_id": "0123456789", "csrf_token": token})
    assert r.status_code == 403
    member = console("member")
    assert member.http.post("/me/draw", data={"campaign_id": cid, "request_id": "0123456789"}).status_code == 403
    with app.state.engine.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM campaign_draws", [])[0][0] == 0


def test_the_referral_code_is_shown_copied_and_drawn_as_a_qr_code(console):
    page = console("member").get("/me").text
    card = section(page, "referral")
    code = selfservice.referral_code(op.MEMBER)
    assert f'<p class="code" id="referral-code">{code}</p>' in card
    assert f'data-copy="{code}"' in card and 'data-done="已复制"' in card and "/static/member.js" in page
    svg = re.search(r"<svg .*?</svg>", card, re.S).group(0)
    assert 'role="img" aria-label="我的推荐码二维码"' in svg and "style=" not in svg
    # the very modules of the code's QR symbol (segno draws the same path for the same text)
    want = re.search(r' d="([^"]+)"', segno.make(code, error="m", micro=False).svg_inline(scale=5, border=2)).group(1)
    assert f'd="{want}"' in svg
    other = re.search(r' d="([^"]+)"', segno.make(selfservice.referral_code(op.OTHER), error="m").svg_inline()).group(1)
    assert other not in svg


def test_the_history_shows_thirty_lines_then_more_on_request(console, app):
    now = datetime.now(ZONE)
    grants = [
        Event(f"grant:many-{n}", op.MEMBER, "adjust", now, now.date(), points=1, attrs={"reason": "x"})
        for n in range(35)
    ]
    assert post_events(app.state.engine, grants).posted == 35
    c = console("member")
    first = section(c.get("/me").text, "history")
    assert len(re.findall(r'<li class="kind-', first)) == 30 and 'href="/me?more=1#history"' in first
    everything = section(c.get("/me?more=1").text, "history")
    assert len(re.findall(r'<li class="kind-adjust">', everything)) == 36  # the 35 and the console tests' grant
    assert "more=1" not in everything


def test_redeeming_asks_to_confirm_with_the_balance_before_and_after(console):
    """Issue 18 §3: "Irreversible actions (... redeem) ask to confirm and show what will change"."""
    import re

    c = console("member")
    page = c.get("/me").text
    have = int(re.search(r'id="balance">([\d,]+)<', page).group(1).replace(",", ""))
    rid = re.search(r'name="request_id" value="([^"]+)"', page).group(1)
    confirm = c.get(f"/me/redeem/confirm?reward_id=bill-credit&request_id={rid}")
    assert confirm.status_code == 200 and "确认兑换" in confirm.text
    before = re.search(r'id="confirm-before">([\d,]+)<', confirm.text).group(1)
    after = re.search(r'id="confirm-after">([\d,]+)<', confirm.text).group(1)
    assert (int(before.replace(",", "")), int(after.replace(",", ""))) == (have, have - 100)
    assert c.get("/me").text.count('id="balance">') == 1 and f'id="balance">{before}<' in c.get("/me").text
    r = c.post_form(f"/me/redeem/confirm?reward_id=bill-credit&request_id={rid}", "/me/redeem",
                    {"reward_id": "bill-credit", "request_id": rid})  # fmt: skip
    assert r.status_code == 303
    assert f'id="balance">{after}<' in c.get("/me").text
