"""The administrator's jobs in Debian's chromium (issue 18 §1 "Admin", §3 confirmations), in Chinese and English:
upload a bill export and read the rows set aside, download their report; check an edited plan, read what it
changes, confirm and apply it, roll back to the first version after a confirmation; close the proposed month after
a confirmation and watch it finish. Screenshots in test-artifacts/screenshots/admin-*.png.

The jobs change the operator (a plan version, a closed month), so they run on their own copy of it."""

from __future__ import annotations

import csv
import io

import pytest

from tests.browser.conftest import Server, Tab
from tests.console import operator as op

BILLS = (
    "账单编号,用户编号,账期,金额\n"
    f"B-BR-1,{op.MEMBER},2026-09,66.00\n"
    "B-BR-2,M9999999999,2026-09,10.00\n"
    f"B-BR-3,{op.MEMBER},2026-09,abc\n"
).encode()


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    from weixi.api.app import create_app

    operator = op.shared(tmp_path_factory).copy_to(tmp_path_factory.mktemp("admin-jobs-operator"))
    app = create_app(str(operator.db), str(operator.data), secure_cookies=False)
    with Server(app) as running:
        yield running
    app.state.engine.dispose()


@pytest.fixture
def admin_tab(browser, own_server):
    made: list[Tab] = []

    def make(name: str) -> Tab:
        t = Tab(browser, own_server, name)
        made.append(t)
        return t.login("admin")

    yield make
    problems = []
    for t in made:
        problems += [f"{t.name}: request left 127.0.0.1: {u}" for u in t.left_machine]
        problems += [f"{t.name}: browser console error: {e}" for e in t.errors]
        t.close()
    assert not problems, "\n".join(problems)


def english(t: Tab, path: str) -> None:
    t.page.goto(path)
    with t.page.expect_navigation():
        t.page.click("a[data-lang=en]")


def test_upload_a_bill_file_read_the_rows_set_aside_and_download_their_report(admin_tab):
    t = admin_tab("admin-uploads-zh")
    page = t.page
    page.goto("/uploads")
    assert page.locator("h1").inner_text() == "数据上传"
    assert page.locator("nav#side-menu a.current").inner_text() == "数据上传"
    page.select_option("#kind", "bills")
    page.set_input_files("#data-file", {"name": "账单-9月.csv", "mimeType": "text/csv", "buffer": BILLS})
    with page.expect_navigation():
        page.click("#upload-button")
    assert page.locator("#count-accepted").inner_text() == "1"
    assert page.locator("#count-quarantined").inner_text() == "2"
    rows = page.locator("#quarantine tbody tr")
    assert rows.count() == 2 and "用户编号" in rows.nth(0).inner_text()
    assert "M9999999999" in rows.nth(0).inner_text() and "_" not in rows.nth(0).inner_text()
    t.shot("result")
    with page.expect_download() as got:
        page.click("#download-report")
    text = open(got.value.path(), encoding="utf-8-sig").read()
    report = list(csv.reader(io.StringIO(text)))
    assert report[0][:4] == ["行号", "字段", "值", "原因"] and len(report) == 3
    en = admin_tab("admin-uploads-en")
    english(en, "/uploads")
    en.page.select_option("#kind", "bills")
    en.page.set_input_files("#data-file", {"name": "账单-9月.csv", "mimeType": "text/csv", "buffer": BILLS})
    with en.page.expect_navigation():
        en.page.click("#upload-button")
    assert "already loaded" in en.page.locator("#result-message").inner_text()  # a rerun changes nothing
    assert "账单-9月.csv" in en.page.locator("#recent").inner_text()
    en.shot("again")
    t.goto("/uploads")
    t.refusals.add(t.base + "/uploads")  # the refused upload answers 422
    page.select_option("#kind", "roster")
    page.set_input_files("#data-file", {"name": "名册.xlsx", "mimeType": "application/zip", "buffer": b"PK\x03\x04"})
    with page.expect_navigation():
        page.click("#upload-button")
    refusal = page.locator("#upload-error").inner_text()
    assert "名册.xlsx" in refusal and ".csv" in refusal and "upload_" not in refusal
    t.shot("refused")


def _edited() -> str:
    text = op.PLAN.read_text(encoding="utf-8")
    return text.replace("cost: 800", "cost: 700").replace("per_yuan: 10\n", "per_yuan: 5\n", 1)


def test_check_an_edited_plan_read_its_changes_confirm_apply_then_roll_back(admin_tab):
    t = admin_tab("admin-plans-zh")
    page = t.page
    page.goto("/plans")
    page.click("text=或粘贴内容")
    page.fill("textarea[name=text]", _edited())
    with page.expect_navigation():
        page.click("form.upload button[type=submit]")
    diff = page.locator("#plan-diff")
    assert "修改 2 项" in diff.inner_text() and "账单消费积分" in diff.inner_text()
    assert not page.locator("#apply").is_visible()  # behind the confirmation
    page.click("#apply-confirm summary")
    assert page.locator("#apply").is_visible() and "第 2 版" in page.locator("#apply").inner_text()
    t.shot("confirm")
    with page.expect_navigation():
        page.click("#apply")
    assert "现为第 2 版" in page.locator("#plan-message").inner_text()
    en = admin_tab("admin-plans-en")
    english(en, "/plans/1")
    p = en.page
    assert "Against version 2 in force" in p.locator("#rollback-diff").inner_text()
    p.click("#rollback-confirm summary")
    en.shot("rollback")
    with p.expect_navigation():
        p.click("#confirm-rollback")
    assert "version 3" in p.locator("#plan-message").inner_text()
    assert "roll back to version 1" in p.locator("#versions").inner_text()


def test_close_the_proposed_month_after_a_confirmation(admin_tab):
    t = admin_tab("admin-close-zh")
    page = t.page
    page.goto("/close")
    assert "2026-09 可以结账" in page.locator("#proposal").inner_text()
    t.shot("proposal")
    with page.expect_navigation():
        page.click("#close-proposed")
    assert page.locator("#confirm-month").inner_text() == "2026-09"
    assert (
        "第 1 版" in page.locator("#confirm-plan").inner_text()
        or "第 3 版" in page.locator("#confirm-plan").inner_text()
    )
    t.shot("confirm")
    with page.expect_navigation():
        page.click("#confirm-start")
    page.wait_for_selector("#job[data-status=succeeded]", timeout=90_000)
    t.shot("done")
    en = admin_tab("admin-close-en")
    english(en, "/close")
    assert "2026-10 can be closed" in en.page.locator("#proposal").inner_text()
    with en.page.expect_navigation():
        en.page.click("#close-proposed")
    assert "What the close writes" in en.page.content()
    en.shot("confirm")
