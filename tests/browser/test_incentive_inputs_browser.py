"""Upload a month's incentive orders in a real browser, in Chinese and English (issue 18 §1: "compute, diff and
publish an incentive month" with no step in a shell): a file with a bad row is installed with the row listed by
row, field and reason; a file the compute cannot use is refused beside the form and changes nothing.
Screenshots: ``test-artifacts/screenshots/incentive-inputs-*.png``."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Server, Tab
from tests.console import operator as op
from tests.console import staff_data as sd
from tests.console.test_incentive_inputs import LATE, orders_with


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from weixi.api.app import create_app

    target = op.shared(tmp_path_factory).copy_to(tmp_path_factory.mktemp("browser-incentive-inputs"))
    month_dir = sd.incentives(target.data)
    app = create_app(str(target.db), str(target.data), secure_cookies=False)
    with Server(app) as running:
        running.month_dir = month_dir
        yield running
    app.state.engine.dispose()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_admin_uploads_the_months_orders(browser, served, tmp_path, lang):
    t = Tab(browser, served, f"incentive-inputs-{lang}")
    try:
        if lang == "en":
            t.page.goto("/lang/en")
        t.login("admin")
        t.page.goto("/incentives/publish")
        t.shot("form")
        good = tmp_path / "orders.csv"
        good.write_bytes(orders_with(served.month_dir, [LATE, {**LATE, "order_id": "BAD1", "network": "9G"}]))
        t.page.fill("#upload-month", "2016-01")
        t.page.select_option("#upload-kind", "orders")
        t.page.set_input_files("#upload-file", str(good))
        with t.page.expect_navigation():
            t.page.click("#upload-button")
        message = t.page.inner_text("#upload-message")
        assert ("1 行未计入" in message) if lang == "zh" else ("1 rows are not counted" in message)
        row = t.page.inner_text("#upload-rows tbody tr")
        assert "network" in row and "BAD1" in row and "9G" in row
        assert served.month_dir.joinpath("orders.csv").read_bytes() == good.read_bytes()
        t.shot("installed")

        bad = tmp_path / "orders-bad.csv"
        bad.write_text("order_id,staff_id\nO1,S000001\n", encoding="utf-8")
        t.refusals.add(served.url + "/incentives/inputs")  # the refusal's 422 is expected
        t.page.fill("#upload-month", "2016-01")
        t.page.set_input_files("#upload-file", str(bad))
        with t.page.expect_navigation():
            t.page.click("#upload-button")
        said = t.page.inner_text("#upload-inputs")
        assert ("本月原有的文件保持不变" in said) if lang == "zh" else ("the month keeps the file it had" in said)
        assert served.month_dir.joinpath("orders.csv").read_bytes() == good.read_bytes()
        t.shot("refused")
        assert not t.errors and not t.left_machine, (t.errors, t.left_machine)
    finally:
        t.close()
