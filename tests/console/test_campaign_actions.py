"""A campaign's irreversible steps ask to confirm and show what will change (issue 18 §3): ending a running draw
shows that draws stop, the budget left and the prizes left today and in the days not reached, equal to the
service's figures; approving shows the seed commitment and the prize table, and a refusal (the creator approving)
in Chinese before the button is pressed; starting shows the control group and the box; roles without the
permission are refused; the reversible steps (submit, reject) stay one click."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from decimal import Decimal

from tests.console import operator as op
from tests.console.test_campaign_pages import TODAY, campaign_file, running
from weixi.campaigns import lottery_service, service
from weixi.campaigns import report as reports


def text_of(page: str, element_id: str) -> str:
    found = re.search(rf'<(\w+)[^>]*id="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, element_id
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(2))).strip()


def test_ending_a_running_draw_shows_what_stops_the_budget_and_the_prizes_left_then_ends_it(console, app):
    cid = running(app)
    engine = app.state.engine
    lottery_service.draw(engine, cid, op.MEMBER)
    service.record_cost(engine, cid, "promotion", 12_000, "analyst")
    admin = console("admin")
    page = admin.get(f"/campaigns/{cid}").text
    assert f'href="/campaigns/{cid}/confirm/close" data-action="close"' in page
    assert 'name="action" value="close"' not in page  # no one-click end

    confirm = admin.get(f"/campaigns/{cid}/confirm/close")
    assert confirm.status_code == 200
    page = confirm.text
    live = reports.live(engine, cid)
    left = Decimal(live["budget"]["planned_yuan"]) - Decimal(live["budget"]["actual_yuan"])
    assert text_of(page, "to-status") == "已结束"
    assert "抽奖、抽奖机会和礼品发放立即停止" in text_of(page, "stop-note")
    budget = text_of(page, "budget-left")
    assert f"{Decimal(live['budget']['actual_yuan']):,.2f}" in budget and f"{left:,.2f}" in budget
    prizes_left_today = sum(p["left"] for p in live["draws"]["prizes"] if p["id"])
    assert prizes_left_today == 1  # two prizes a day, one drawn
    assert f"今天剩余 {prizes_left_today} 个" in text_of(page, "prizes-left")
    assert "尚未到来的 1 天还有 2 个" in text_of(page, "prizes-left")  # tomorrow's box of 2 is never drawn
    rows = re.findall(r'<tr data-prize="(\w+)">.*?</tr>', text_of_table(page, "prizes-today"), re.S)
    assert rows == [p["id"] for p in live["draws"]["prizes"] if p["id"]]
    assert "此操作不可撤销" in page and 'id="confirm"' in page and "disabled" not in confirm_button(page)

    r = admin.post_form(f"/campaigns/{cid}/confirm/close", f"/campaigns/{cid}/act", {"action": "close"})
    assert r.status_code == 303
    assert service.summary(engine, cid)["status"] == "closed"


def text_of_table(page: str, element_id: str) -> str:
    return re.search(rf'<table[^>]*id="{element_id}"[^>]*>(.*?)</table>', page, re.S).group(1)


def confirm_button(page: str) -> str:
    return re.search(r'<button[^>]*id="confirm"[^>]*>', page).group(0)


def test_approving_shows_the_commitment_and_the_prize_table_and_the_creators_refusal_beforehand(console, app):
    engine = app.state.engine
    service.create(engine, campaign_file("by-admin"), "by-admin.yaml", "admin")
    service.act(engine, "by-admin", "submit", "admin")
    admin = console("admin")
    page = admin.get("/campaigns/by-admin/confirm/approve").text
    refusal = text_of(page, "refusal")
    assert "admin 创建或提交了该活动：须由另一人" in refusal and not re.search(
        r"[A-Za-z]{3,}", refusal.replace("admin", "")
    )
    assert "disabled" in confirm_button(page)

    service.create(engine, campaign_file("by-analyst"), "by-analyst.yaml", "analyst")
    service.act(engine, "by-analyst", "submit", "analyst")
    page = admin.get("/campaigns/by-analyst/confirm/approve").text
    assert 'id="refusal"' not in page and "disabled" not in confirm_button(page)
    note = text_of(page, "commitment-note")
    assert "SHA-256" in note and "每天 2 个奖品" in note and "共 6 个" in note and "每天价值 100.00 元" in note
    assert text_of(page, "to-status") == "已批准"
    approvals = admin.get("/campaigns/approvals").text
    assert 'href="/campaigns/by-analyst/confirm/approve" data-action="approve"' in approvals
    r = admin.post_form("/campaigns/by-analyst/confirm/approve", "/campaigns/by-analyst/act", {"action": "approve"})
    assert r.status_code == 303 and service.summary(engine, "by-analyst")["commitment"]


def test_starting_shows_the_control_group_and_the_box_and_the_english_page(console, app):
    engine = app.state.engine
    later = campaign_file("later").replace("  members:", '  control: {share: "0.5"}\n  members:')
    later = later.replace(f"to: {TODAY + timedelta(days=1)}", f"to: {TODAY + timedelta(days=4)}")
    service.create(engine, later, "later.yaml", "analyst")
    service.act(engine, "later", "submit", "analyst")
    service.act(engine, "later", "approve", "admin")
    analyst = console("analyst")
    page = analyst.get("/campaigns/later/confirm/start").text
    changes = text_of(page, "change-list")
    assert "其中 50% 随机留作对照组" in changes and "每天 2 个，共 6 天" in text_of(page, "box-note")
    analyst.http.cookies.set("weixi_lang", "en")
    page = analyst.get("/campaigns/later/confirm/start").text
    assert "50% of it is held out at random as the control group" in text_of(page, "change-list")
    assert "This step cannot be undone." in page


def test_roles_without_the_permission_are_refused_and_reversible_steps_stay_one_click(console, app):
    cid = running(app)
    manager = console("manager")
    assert manager.get(f"/campaigns/{cid}/confirm/close").status_code == 403
    assert console("admin").get(f"/campaigns/{cid}/confirm/submit").status_code == 404  # no confirmation for it
    assert console("admin").get(f"/campaigns/{cid}/confirm/explode").status_code == 422
    service.create(app.state.engine, campaign_file("draft-one"), "draft-one.yaml", "analyst")
    page = console("analyst").get("/campaigns/draft-one").text
    assert 'name="action" value="submit"' in page and 'data-action="submit"' in page
