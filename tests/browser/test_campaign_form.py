"""The campaign form in Debian's chromium (issue 18 §1 "author a campaign with a form"): an analyst writes a new
campaign in Chinese — basics and dates, objectives with a row added, the budget, the draw with its hours and a
prize added — checks it and reads each error under its field, fixes them and saves a draft; in English edits it
again, deletes a row, reads the error beside the field, and goes to the YAML tab and back with the change kept.
Screenshots: test-artifacts/screenshots/campaign-form-*.png."""

from __future__ import annotations

from weixi.plans.loader import load_plan_text


def field(page, element_id: str):
    """The form item or table cell holding the control with this id."""
    return page.locator(f".form-item:has(#{element_id}), td:has(> #{element_id})").first


def test_an_analyst_writes_a_campaign_in_the_form_reads_errors_beside_fields_and_saves_it(tab, server):
    t = tab("campaign-form-zh")
    t.login("analyst")
    t.refusals.add(server.url + "/campaigns/form")  # a form with errors is answered 422, as the checker's page is
    page = t.page
    t.goto("/campaigns/new")
    assert page.locator("h1").inner_text().startswith("新建活动")
    assert page.locator(".form-tabs .current").inner_text() == "表单"
    page.fill("#f-campaign", "spring-draw")
    page.fill("#f-name", "春季会员抽奖")
    page.fill("#f-owner", "会员价值部")
    page.fill("#f-window-from", "2030-03-01")
    page.fill("#f-window-to", "2030-03-31")
    page.fill("#f-objectives-0-id", "people")
    page.fill("#f-objectives-0-target", "300")
    page.click("[data-add-row=objectives]")
    added = page.locator("table[data-table=objectives] tbody tr[data-row]").nth(1)
    added.locator("input[name$='.id']").fill("sales")
    added.locator("select[name$='.metric']").select_option("sales_yuan")
    added.locator("input[name$='.target']").fill("许多")  # not a number
    page.select_option("#f-budget-0-line", "gifts")  # no amount: a budget line needs yuan or points
    page.check("#has-lottery")
    page.fill("#f-lottery-hours-from", "15:30")
    page.fill("#f-lottery-hours-to", "17:00")
    page.fill("#f-lottery-chances-grant", "1")
    page.click("[data-add-row='lottery.prizes']")
    prize = page.locator("table[data-table='lottery.prizes'] tbody tr[data-row]").first
    prize.locator("input[name$='.id']").fill("cup")
    prize.locator("input[name$='.name']").fill("保温杯")
    prize.locator("input[name$='.per_day']").fill("20")
    prize.locator("input[name$='.value_yuan']").fill("60")
    with page.expect_navigation():
        page.click("#form-check")

    assert "2 个错误" in page.locator("#form-errors").inner_text()
    assert "应为数字" in field(page, "f-objectives-1-target").locator(".field-msg").inner_text()
    assert page.locator("#f-objectives-1-target").get_attribute("aria-invalid") == "true"
    row_message = page.locator("#r-budget-0 + tr.row-msg .field-msg").inner_text()
    assert "预算科目" in row_message
    assert page.locator("#f-objectives-1-target").input_value() == "许多"  # what was typed stays
    assert page.locator("#f-lottery-prizes-0-per-day").input_value() == "20"
    page.locator("#s-objectives").scroll_into_view_if_needed()
    t.shot("error-beside-field", full_page=False)
    t.shot("errors")

    page.fill("#f-objectives-1-target", "150000")
    page.fill("#f-budget-0-yuan", "2400")
    with page.expect_navigation():
        page.click("#form-save")
    assert page.url.endswith("/campaigns/spring-draw")
    assert page.locator("#status").inner_text() == "草稿"

    en = tab("campaign-form-en")
    en.context.add_cookies([{"name": "weixi_lang", "value": "en", "url": server.url}])
    en.login("analyst")
    en.refusals.add(server.url + "/campaigns/form")
    p = en.page
    en.goto("/campaigns/spring-draw/edit")
    assert p.locator("h1").inner_text().startswith("Edit campaign")
    assert p.locator("#f-campaign").get_attribute("readonly") is not None
    p.locator("#r-objectives-1 [data-remove-row]").click()  # delete the sales objective
    assert p.locator("table[data-table=objectives] tbody tr[data-row]").count() == 1
    p.fill("#f-window-to", "2030-02-01")  # before the start
    with p.expect_navigation():
        p.click("#form-check")
    message = field(p, "f-window-to").locator(".field-msg").inner_text()
    assert "2030-02-01" in message and "2030-03-01" in message, message
    p.locator("#s-basics").scroll_into_view_if_needed()
    en.shot("error-beside-field", full_page=False)

    p.fill("#f-window-to", "2030-03-31")
    with p.expect_navigation():
        p.click("#tab-yaml")  # the YAML tab shows the unsaved file
    text = p.locator("#campaign-text").input_value()
    assert "sales" not in text and "window: {from: 2030-03-01, to: 2030-03-31}" in text
    p.fill("#campaign-text", text.replace("per_day: 20", "per_day: 25"))
    with p.expect_navigation():
        p.click("#tab-form")
    assert p.locator("#f-lottery-prizes-0-per-day").input_value() == "25"
    with p.expect_navigation():
        p.click("#form-save")
    assert p.url.endswith("/campaigns/spring-draw")
    en.goto("/campaigns/spring-draw/edit?view=yaml")
    saved = p.locator("#campaign-text").input_value()
    campaign, found = load_plan_text(saved, "spring-draw.yaml")
    assert campaign is not None and [o.id for o in campaign.objectives] == ["people"]
    assert campaign.lottery.prizes[0].per_day == 25 and str(campaign.lottery.hours[0]) == "15:30:00"
    en.goto("/campaigns/spring-draw/edit")
    en.shot("edit")


def test_ending_a_campaign_asks_to_confirm_and_shows_what_will_change(tab, server):
    from tests.console.test_campaign_pages import campaign_file
    from weixi.campaigns import service

    engine = server.server.config.app.state.engine
    service.create(engine, campaign_file("confirm-end"), "confirm-end.yaml", "analyst")
    for step, who in (("submit", "analyst"), ("approve", "admin"), ("start", "admin")):
        service.act(engine, "confirm-end", step, who)
    t = tab("campaign-confirm-end-zh")
    t.login("admin")
    page = t.page
    t.goto("/campaigns/confirm-end")
    with page.expect_navigation():
        page.click("a[data-action=close]")
    assert page.url.endswith("/campaigns/confirm-end/confirm/close")
    assert page.locator("#to-status").inner_text() == "已结束"
    assert "立即停止" in page.locator("#stop-note").inner_text()
    assert "剩余" in page.locator("#budget-left").inner_text()
    assert page.locator("#prizes-today tbody tr").count() == 2
    t.shot("page")
    with page.expect_navigation():
        page.click("#confirm")
    assert page.url.endswith("/campaigns/confirm-end")
    assert page.locator("#status").inner_text() == "已结束"
    t.goto("/campaigns")
    assert page.locator(".page-actions #new-campaign").inner_text() == "新建活动"
    t.shot("list")
