"""Compute and publish a month's incentives in the console (issue 18 §1: the analyst "compute, diff and publish an
incentive month"; §3: publishing asks to confirm and shows what will change)."""

from __future__ import annotations

import re

from tests.console import staff_data as sd
from weixi.adapters.sql import execute
from weixi.incentives import publication


def test_an_analyst_computes_and_an_admin_publishes_then_corrects_with_a_reason(console, operator, app):
    sd.incentives(operator.data)
    analyst = console("analyst")
    page = analyst.get("/incentives/publish").text
    assert 'id="computed-staff">20<' in page and "尚未发布：发布后为第 1 版。" in page
    assert 'id="publish-button"' not in page  # publishing is the admin's (incentives:publish)

    admin = console("admin")
    page = admin.get("/incentives/publish?month=2016-01").text
    bonus = re.search(r'id="computed-bonus">([\d.,]+)<', page).group(1)
    assert "发布第 1 版" in page
    r = admin.post_form("/incentives/publish?month=2016-01", "/incentives/2016-01/publish", {})
    assert r.status_code == 303 and r.headers["location"] == "/incentives?month=2016-01&published=1"
    assert "2016-01 第 1 版已发布。" in admin.get(r.headers["location"]).text
    engine = app.state.engine
    pub = publication.published(engine, "2016-01")
    assert pub["version"] == 1 and pub["published_by"] == "admin"
    total = sum(float(s["bonus_yuan"]) for s in pub["statements"]["staff"].values())
    assert f"{total:.2f}" == bonus.replace(",", "")
    with engine.connect() as conn:
        assert execute(conn, "SELECT subject FROM audit_log WHERE action = 'incentives.publish'") == [("2016-01",)]

    page = admin.get("/incentives/publish?month=2016-01").text
    assert "与已发布的第 1 版相同。" in page and 'id="publish-button"' not in page  # nothing to publish

    sd.add_late_order(operator.data / "incentives" / "2016-01", sd.CLERK)
    page = admin.get("/incentives/publish?month=2016-01").text
    assert "与第 1 版相比：1 人有变化" in page and "发布第 2 版" in page
    refused = admin.post_form("/incentives/publish?month=2016-01", "/incentives/2016-01/publish", {"reason": " "})
    assert refused.status_code == 409 and 'id="publish-error"' in refused.text
    assert publication.published(engine, "2016-01")["version"] == 1
    ok = admin.post_form("/incentives/publish?month=2016-01", "/incentives/2016-01/publish", {"reason": "补录迟到订单"})
    assert ok.status_code == 303
    pub = publication.published(engine, "2016-01")
    assert (pub["version"], pub["reason"]) == (2, "补录迟到订单")


def test_the_page_speaks_english_and_refuses_other_roles(console, operator):
    sd.incentives(operator.data)
    analyst = console("analyst")
    analyst.get("/lang/en")
    page = analyst.get("/incentives/publish").text
    assert "Computed now" in page and "Not published yet: publishing makes version 1." in page
    assert console("clerk").get("/incentives/publish").status_code == 403
    assert console("admin").post_form("/incentives", "/incentives/2016-01/publish", {}).status_code == 303
    clerk = console("clerk")
    assert clerk.post_form("/incentives", "/incentives/2016-01/publish", {}).status_code == 403
