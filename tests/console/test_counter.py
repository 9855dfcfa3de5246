"""The counter (issue 18 §1, 营业员 at the counter): a clerk finds the member by the whole phone or ID number (masked,
exact match only), then redeems a reward after a confirmation that shows the points before and after, checks the
member in, draws in a running campaign and hands out a gift, each refused with its code in the reader's language
and written to the audit log; the clerk's own incentive statement is a link away."""

from __future__ import annotations

import html
import re

import pytest

from tests.console import operator as op
from tests.console.test_campaign_pages import campaign_file
from weixi.adapters import archive
from weixi.campaigns import service
from weixi.users import service as users


def _running_with_gift(app, cid: str = "counter-draw") -> str:
    engine = app.state.engine
    text = (
        campaign_file(cid) + "gifts:\n  - {id: stand, name: 手机支架, stock: 10, per_visit: 5, per_member: unlimited}\n"
    )
    service.create(engine, text, f"{cid}.yaml", "analyst")
    for step, who in (("submit", "analyst"), ("approve", "admin"), ("start", "admin")):
        service.act(engine, cid, step, who)
    return cid


def _numbers(operator) -> dict:
    return archive.members_lookup(operator.data, op.MEMBER)


def _balance(text: str) -> int:
    found = re.search(r'id="balance">([^<]*)<', text)
    assert found
    return int(found.group(1).replace(",", "").strip())


def test_the_counter_is_the_clerks_first_page_and_others_are_refused(console):
    clerk = console("clerk")
    r = clerk.get("/")
    assert r.status_code in (302, 303, 307) and r.headers["location"] == "/counter"
    page = clerk.get("/counter").text
    assert 'id="counter-lookup"' in page and "柜台服务" in page and 'id="my-statement"' in page
    for role in ("agent", "analyst", "member"):
        assert console(role).get("/counter").status_code in (303, 403)


def test_a_member_is_found_by_the_whole_phone_or_id_number_only_and_shown_masked(console, operator):
    row = _numbers(operator)
    clerk = console("clerk")
    r = clerk.get("/counter", params={"q": row["phone"]})
    assert r.status_code == 303 and r.headers["location"] == f"/counter/{op.MEMBER}"
    r = clerk.get("/counter", params={"q": row["id_number"]})
    assert r.status_code == 303 and r.headers["location"] == f"/counter/{op.MEMBER}"
    page = clerk.get(f"/counter/{op.MEMBER}").text
    assert row["phone"] not in page and row["id_number"] not in page  # masked for a clerk
    assert row["phone"][:3] + "****" + row["phone"][-4:] in page
    r = clerk.get("/counter", params={"q": row["phone"][-8:]})  # the last digits find nobody
    assert r.status_code == 200 and 'id="no-match"' in r.text
    r = clerk.get("/counter", params={"q": "张"})
    assert r.status_code == 200 and "请输入完整的手机号码或身份证号码" in html.unescape(r.text)


def test_an_id_number_lookup_is_written_to_the_audit_log(console, operator, app):
    row = _numbers(operator)
    console("clerk").get("/counter", params={"q": row["id_number"]})
    entries = users.audit_entries(app.state.engine, action="pii.view", username="clerk")
    assert entries and op.MEMBER in entries[0]["detail"]["members"] and entries[0]["detail"]["match"] == "id_number"


def test_redeeming_asks_to_confirm_with_the_points_before_and_after_and_redeems_once(console, app):
    clerk = console("clerk")
    panel = clerk.get(f"/counter/{op.MEMBER}").text
    before = _balance(panel)
    reward = re.search(r'name="reward_id" value="([^"]+)"', panel).group(1)
    confirm = clerk.get(f"/counter/{op.MEMBER}/redeem", params={"reward_id": reward, "qty": 1})
    assert confirm.status_code == 200
    shown = {
        k: int(re.search(rf'id="{k}">([^<]*)<', confirm.text).group(1).replace(",", ""))
        for k in ("before", "cost", "after")
    }
    assert shown["before"] == before and shown["after"] == before - shown["cost"]
    assert _balance(clerk.get(f"/counter/{op.MEMBER}").text) == before  # nothing changed before the confirmation
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text).group(1)
    key = re.search(r'name="request_id" value="([^"]+)"', confirm.text).group(1)
    form = {"reward_id": reward, "qty": "1", "request_id": key, "csrf_token": token}
    r = clerk.http.post(f"/counter/{op.MEMBER}/redeem", data=form)
    assert r.status_code == 303 and "done=redeemed:" in r.headers["location"]
    again = clerk.http.post(f"/counter/{op.MEMBER}/redeem", data=form)  # a double submit redeems once
    assert again.status_code == 303
    done = clerk.get(r.headers["location"]).text
    assert 'id="notice"' in done and _balance(done) == shown["after"]
    entries = users.audit_entries(app.state.engine, action="counter.redeem", username="clerk")
    assert len(entries) == 1 and entries[0]["subject"] == op.MEMBER


def test_refused_redemptions_are_told_in_the_readers_language_with_the_rewards_name(console):
    clerk = console("clerk")
    panel = clerk.get(f"/counter/{op.MEMBER}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', panel).group(1)
    for reward, qty, said in (("bill-credit", "100", "积分不足"), ("gift-book", "3", "精选书籍一本")):
        r = clerk.http.post(  # beyond the member's 5,000 points; beyond the book's limit of 2 per member
            f"/counter/{op.MEMBER}/redeem",
            data={"reward_id": reward, "qty": qty, "request_id": "k" * 16 + reward, "csrf_token": token},
        )
        assert r.status_code == 409 and 'id="error"' in r.text
        text = html.unescape(re.search(r'id="error">([^<]*)<', r.text).group(1))
        assert said in text and reward not in text and not re.search(r"[a-z]+_[a-z]+", text), text


def test_check_in_at_the_counter_earns_once_a_day_and_is_audited(console, app):
    clerk = console("clerk")
    r = clerk.post_form(f"/counter/{op.MEMBER}", f"/counter/{op.MEMBER}/checkin", {})
    assert r.status_code == 303 and "done=checkin" in r.headers["location"]
    page = clerk.get(r.headers["location"]).text
    assert 'id="notice"' in page and 'id="do-checkin"' not in page
    r = clerk.post_form(f"/counter/{op.MEMBER}", f"/counter/{op.MEMBER}/checkin", {})
    assert r.status_code == 303 and "checkin-again" in r.headers["location"]
    assert len(users.audit_entries(app.state.engine, action="counter.checkin", username="clerk")) == 1


def test_draw_and_gift_in_a_running_campaign(console, app, monkeypatch):
    cid = _running_with_gift(app)
    clerk = console("clerk")
    panel = clerk.get(f"/counter/{op.MEMBER}").text
    assert f'id="campaign-{cid}"' in panel and "手机支架" in panel
    r = clerk.post_form(
        f"/counter/{op.MEMBER}", f"/counter/{op.MEMBER}/draw", {"campaign_id": cid, "request_id": "d" * 16}
    )
    assert r.status_code == 303 and f"done=drawn:{cid}:" in r.headers["location"], r.text
    page = clerk.get(r.headers["location"]).text
    assert 'id="notice"' in page
    r = clerk.post_form(
        f"/counter/{op.MEMBER}", f"/counter/{op.MEMBER}/draw", {"campaign_id": cid, "request_id": "e" * 16}
    )
    assert r.status_code == 409 and "抽奖机会" in html.unescape(r.text)  # one chance: no chances left
    r = clerk.post_form(
        f"/counter/{op.MEMBER}",
        f"/counter/{op.MEMBER}/gift",
        {"campaign_id": cid, "gift_id": "stand", "qty": "5", "request_id": "g" * 16},
    )
    assert r.status_code == 303
    assert "手机支架" in html.unescape(clerk.get(r.headers["location"]).text)
    r = clerk.post_form(
        f"/counter/{op.MEMBER}",
        f"/counter/{op.MEMBER}/gift",
        {"campaign_id": cid, "gift_id": "stand", "qty": "1", "request_id": "h" * 16},
    )
    assert r.status_code == 409  # five per visit, as the seed writes it
    engine = app.state.engine
    assert len(users.audit_entries(engine, action="counter.draw", username="clerk")) == 1
    assert len(users.audit_entries(engine, action="counter.gift", username="clerk")) == 1


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_counter_pages_speak_the_readers_language(console, lang):
    clerk = console("clerk")
    clerk.get(f"/lang/{lang}?next=/counter")
    page = clerk.get(f"/counter/{op.MEMBER}").text
    assert ("兑换礼品" in page) == (lang == "zh_CN") and ("Redeem a reward" in page) == (lang == "en")
