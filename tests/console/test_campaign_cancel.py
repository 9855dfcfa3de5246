"""Cancel a campaign in the console, the API and the CLI (issue 18 §3: an irreversible step asks to confirm and
shows what will change): the confirmation of a running draw says that everything stops and what was given stays
given (the service's figures), asks for the reason; the cancelled campaign and its report say cancelled, by whom
and why, in Chinese and English; audited."""

from __future__ import annotations

import json

from tests.console import operator as op
from tests.console.test_campaign_actions import text_of
from tests.console.test_campaign_pages import running
from weixi.adapters.sql import execute
from weixi.campaigns import lottery_service, service
from weixi.campaigns import report as reports


def test_a_running_draw_is_cancelled_after_its_confirmation(console, app):
    cid = running(app)
    engine = app.state.engine
    lottery_service.draw(engine, cid, op.MEMBER)
    admin = console("admin")
    page = admin.get(f"/campaigns/{cid}").text
    assert f'href="/campaigns/{cid}/confirm/cancel" data-action="cancel"' in page and "取消活动" in page

    page = admin.get(f"/campaigns/{cid}/confirm/cancel").text
    live = reports.live(engine, cid)
    assert text_of(page, "to-status") == "已取消"
    assert "活动立即永久停止" in text_of(page, "stop-note")
    given = text_of(page, "given-note")
    assert f"抽奖 {live['draws']['total']} 次" in given and f"发放积分 {live['points']['issued']}" in given
    assert f"参与 {live['participants']} 人" in given
    assert "今天剩余 1 个" in text_of(page, "prizes-left")
    assert 'id="cancel-reason"' in page and "required" in page[page.index('id="cancel-reason"') - 200 :]

    refused = admin.post_form(f"/campaigns/{cid}/confirm/cancel", f"/campaigns/{cid}/act", {"action": "cancel"})
    assert refused.status_code == 422 and "请说明取消活动的原因" in refused.text
    assert service.summary(engine, cid)["status"] == "running"

    r = admin.post_form(
        f"/campaigns/{cid}/confirm/cancel", f"/campaigns/{cid}/act", {"action": "cancel", "note": "门店装修"}
    )
    assert r.status_code == 303 and service.summary(engine, cid)["status"] == "cancelled"
    page = admin.get(f"/campaigns/{cid}").text
    assert "已取消" in text_of(page, "status") and "门店装修" in text_of(page, "cancelled")
    assert "活动已取消：不能再进行任何操作。" in page and 'data-action="close"' not in page
    report = admin.get(f"/campaigns/{cid}/report").text
    assert "取消了活动，原因：门店装修" in text_of(report, "cancelled") and "取消前已发放的数据" in report
    with engine.connect() as conn:
        (detail,) = execute(conn, "SELECT detail FROM audit_log WHERE action = 'campaign.cancel'")[0]
    assert json.loads(detail)["note"] == "门店装修"

    admin.get("/lang/en")
    page = admin.get(f"/campaigns/{cid}").text
    assert "Cancelled" in text_of(page, "status") or "cancelled" in text_of(page, "status")
    assert "Cancelled by admin at" in text_of(page, "cancelled")
    assert "what it gave until it was cancelled" in admin.get(f"/campaigns/{cid}/report").text


def test_who_may_cancel_and_a_draft_cancelled_has_nothing_to_give(console, app):
    engine = app.state.engine
    from tests.console.test_campaign_pages import campaign_file

    service.create(engine, campaign_file("spare"), "spare.yaml", "analyst")
    assert 'data-action="cancel"' not in console("manager").get("/campaigns/spare").text  # reads, does not run
    assert console("manager").get("/campaigns/spare/confirm/cancel").status_code == 403
    analyst = console("analyst")
    page = analyst.get("/campaigns/spare/confirm/cancel").text
    assert "活动尚未开始：没有发放任何东西" in text_of(page, "given-note")
    r = analyst.post_form(
        "/campaigns/spare/confirm/cancel", "/campaigns/spare/act", {"action": "cancel", "note": "重复"}
    )
    assert r.status_code == 303 and service.summary(engine, "spare")["status"] == "cancelled"
    page = analyst.get("/campaigns/spare").text
    assert 'id="report-link"' not in page  # it never ran: no figures to show
    report = analyst.get("/campaigns/spare/report")  # from the list's link: the report of nothing given
    assert report.status_code == 200 and "重复" in text_of(report.text, "cancelled")


def test_the_api_and_the_cli_cancel_with_a_reason(app):
    from fastapi.testclient import TestClient

    from tests.e2e.cli_helpers import weixi
    from weixi.users import service as users

    engine = app.state.engine
    cid = running(app, "api-draw")
    token = users.issue_token(engine, users.get_user(engine, op.LOGINS["admin"]), "tests")
    http = TestClient(app, headers={"Authorization": f"Bearer {token}"}, raise_server_exceptions=False)
    r = http.post(f"/api/campaigns/{cid}/cancel", json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "campaign_cancel_reason_missing"
    r = http.post(f"/api/campaigns/{cid}/cancel", json={"note": "预算调整"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["seed"]
    assert http.post(f"/api/campaigns/{cid}/cancel", json={"note": "again"}).status_code == 409
    http.close()

    other = running(app, "cli-draw")
    db = engine.url.database
    out = weixi("campaign", "cancel", other, "--by", "admin", "--db", db, "--json", expect=1)
    assert "campaign_cancel_reason_missing" in out.stdout
    out = weixi("campaign", "cancel", other, "--by", "admin", "--note", "门店装修", "--db", db, "--json")
    assert json.loads(out.stdout)["status"] == "cancelled"
