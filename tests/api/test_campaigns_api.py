"""The campaign API in-process: a file with errors refused at its lines, the lifecycle with who and when (an
approver who created the campaign is refused), draws (a member login only for itself, refusals with their
reason), live figures equal to the service's, the referral review queue, the report as JSON/HTML/PDF and the
draws verified after close."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.api.conftest import MEMBER, OTHER, ROOT, assert_envelope
from weixi.campaigns import referral_service as referrals
from weixi.campaigns import report as reports

SEED_AS_WRITTEN = ROOT / "plans" / "examples" / "seed-as-written" / "anniversary-draw.yaml"


def campaign_file(cid: str = "live-draw", members=(MEMBER, OTHER), extra: str = "") -> str:
    """A two-prize draw over yesterday, today and tomorrow (Beijing time), one chance each."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    return f"""kind: campaign
campaign: {cid}
name: 周年抽奖
window: {{from: {today - timedelta(days=1)}, to: {today + timedelta(days=1)}}}
objectives:
  - {{id: people, metric: participants, target: 2}}
audience:
  source: list
  members: [{", ".join(members)}]
budget:
  - {{line: gifts, yuan: 500}}
  - {{line: points, points: 1000}}
lottery:
  chances: {{grant: 1}}
  prizes:
    - {{id: gold, name: 金条, per_day: 1, value_yuan: 100}}
    - {{id: pts, name: 50积分, per_day: 1, points: 50}}
{extra}"""


def running(api, text: str | None = None) -> str:
    """Created and submitted by the analyst, approved and started by the admin."""
    analyst, admin = api.client("analyst"), api.client("admin")
    r = analyst.post("/api/campaigns", json={"text": text or campaign_file(), "filename": "draw.yaml"})
    assert r.status_code == 201, r.text
    cid = r.json()["campaign_id"]
    assert analyst.post(f"/api/campaigns/{cid}/submit").status_code == 200
    assert admin.post(f"/api/campaigns/{cid}/approve").status_code == 200
    assert admin.post(f"/api/campaigns/{cid}/start").status_code == 200
    return cid


def test_a_file_with_errors_is_refused_with_each_error_at_its_line(api):
    r = api.client("analyst").post(
        "/api/campaigns",
        json={"text": SEED_AS_WRITTEN.read_text(encoding="utf-8"), "filename": "anniversary-draw.yaml"},
    )
    err = assert_envelope(r, 422, "campaign_file_invalid", source="anniversary-draw.yaml", errors=1)
    [d] = [d for d in err["details"] if d["severity"] == "error"]
    assert (d["file"], d["line"], d["column"]) == ("anniversary-draw.yaml", 50, 16)
    assert "daily_total says 200 prizes a day but the 11 prize levels add up to 198" in d["message"]
    assert "2 missing" in d["message"]
    assert_envelope(api.client("admin").get("/api/campaigns/anniversary-draw-seed"), 404)  # nothing saved


def test_lifecycle_with_who_and_when_and_an_approver_who_created_it_is_refused(api):
    admin, analyst, manager = api.client("admin"), api.client("analyst"), api.client("manager")
    assert admin.post("/api/campaigns", json={"text": campaign_file("by-admin")}).status_code == 201
    assert admin.post("/api/campaigns/by-admin/submit").status_code == 200
    err = assert_envelope(
        admin.post("/api/campaigns/by-admin/approve"),
        409,
        "campaign_four_eyes",
        actor="admin",
        campaign_action="approve",
    )
    assert "admin created or submitted this campaign: another person must approve it" in err["message"]
    zh = admin.post("/api/campaigns/by-admin/approve", headers={"Accept-Language": "zh-CN"})
    err = assert_envelope(zh, 409, "campaign_four_eyes", actor="admin", campaign_action="approve")
    assert err["message"] == "admin 创建或提交了该活动：须由另一人审批。"
    assert_envelope(analyst.post("/api/campaigns/by-admin/approve"), 403, "forbidden")  # analysts do not approve

    assert analyst.post("/api/campaigns", json={"text": campaign_file()}).status_code == 201
    assert_envelope(analyst.post("/api/campaigns", json={"text": campaign_file()}), 409, "campaign_exists")
    assert analyst.post("/api/campaigns/live-draw/submit").status_code == 200
    assert_envelope(admin.post("/api/campaigns/live-draw/reject", json={}), 422, "campaign_reject_reason_missing")
    assert admin.post("/api/campaigns/live-draw/reject", json={"note": "预算太高"}).json()["status"] == "draft"
    edited = campaign_file().replace("yuan: 500", "yuan: 400")
    assert analyst.put("/api/campaigns/live-draw", json={"text": edited}).status_code == 200
    assert api.client("analyst").get("/api/campaigns/live-draw/file").json()["text"] == edited
    analyst.post("/api/campaigns/live-draw/submit")
    approved = admin.post("/api/campaigns/live-draw/approve").json()
    assert approved["status"] == "approved" and len(approved["commitment"]) == 64 and approved["seed"] is None
    err = assert_envelope(
        analyst.put("/api/campaigns/live-draw", json={"text": edited}),
        409,
        "campaign_not_draft",
        campaign="live-draw",
        campaign_status="approved",
    )
    assert "only a draft can be edited" in err["message"]

    shown = manager.get("/api/campaigns/live-draw").json()
    assert [(s["action"], s["by"], s["to"]) for s in shown["steps"]] == [
        ("create", "analyst", "draft"),
        ("submit", "analyst", "submitted"),
        ("reject", "admin", "draft"),
        ("update", "analyst", "draft"),
        ("submit", "analyst", "submitted"),
        ("approve", "admin", "approved"),
    ]
    assert shown["steps"][2]["note"] == "预算太高" and all(s["at"] for s in shown["steps"])
    listed = manager.get("/api/campaigns").json()["campaigns"]
    assert {c["campaign_id"]: c["status"] for c in listed} == {"by-admin": "submitted", "live-draw": "approved"}
    assert_envelope(api.client("clerk").get("/api/campaigns"), 403, "forbidden")


def test_a_member_draws_only_for_itself_and_is_told_why_a_draw_is_refused(api):
    cid = running(api)
    member = api.client("member")
    err = assert_envelope(member.post(f"/api/campaigns/{cid}/draws", json={"member_id": OTHER}), 403, "not_own_member")
    assert_envelope(member.get(f"/api/campaigns/{cid}/chances/{OTHER}"), 403, "not_own_member")
    assert member.get(f"/api/campaigns/{cid}/chances/{MEMBER}").json()["left"] == 1
    r = member.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER, "request_id": "tap-1"})
    assert r.status_code == 201, r.text
    won = r.json()
    assert won["member_id"] == MEMBER and won["prize_id"] in ("gold", "pts") and won["chances_left"] == 0
    again = member.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER, "request_id": "tap-1"})
    assert again.status_code == 200 and again.json()["seq"] == won["seq"]  # a retried tap draws once
    err = assert_envelope(
        member.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER}),
        409,
        "campaign_no_chances_left",
        member=MEMBER,
        held=1,
        used=1,
    )
    assert err["message"] == f"no chances left: member {MEMBER} holds 1 (1 granted), used 1"
    zh = member.post(
        f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER}, headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    )
    err = assert_envelope(zh, 409, "campaign_no_chances_left", member=MEMBER)
    assert err["message"] == f"会员 {MEMBER} 已没有抽奖机会。"
    clerk = api.client("clerk")
    err = assert_envelope(
        clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": "M9999999999"}),
        404,
        "campaign_unknown_member",
        member="M9999999999",
    )
    assert "unknown member M9999999999" in err["message"]
    assert clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": OTHER}).status_code == 201
    err = assert_envelope(clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": OTHER}), 409)
    assert "no chances left" in err["message"]


def test_live_figures_report_and_draws_verified_after_close(api):
    cid = running(api)
    clerk, manager, admin = api.client("clerk"), api.client("manager"), api.client("admin")
    drawn = [clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": m}).json() for m in (MEMBER, OTHER)]
    live = manager.get(f"/api/campaigns/{cid}/live").json()
    assert live == reports.live(api.engine, cid)
    assert live["participants"] == 2 and live["draws"]["today"] == live["draws"]["total"] == 2
    assert {p["id"]: (p["quantity"], p["issued"]) for p in live["draws"]["prizes"]} == {
        "gold": (1, 1),
        "pts": (1, 1),
        None: (0, 0),
    }  # the day's two tickets are both out
    assert live["points"]["issued"] == 50  # the points prize, credited through the ledger
    gifts_line = next(l for l in live["budget"]["lines"] if l["line"] == "gifts")
    assert (gifts_line["planned_yuan"], gifts_line["actual_yuan"]) == ("500.00", "100.00")  # the gold bar's value
    stock = manager.get(f"/api/campaigns/{cid}/stock", params={"day": live["day"]}).json()["stock"]
    assert sum(s["issued"] for s in stock) == 2
    report = manager.get(f"/api/campaigns/{cid}/report").json()
    assert report["participants"] == 2 and report["frozen"] is False
    assert report["objectives"][0]["achievement"] == "1.0000"
    html = manager.get(f"/api/campaigns/{cid}/report.html")
    assert html.status_code == 200 and "周年抽奖" in html.text and "attachment" in html.headers["content-disposition"]
    pdf = manager.get(f"/api/campaigns/{cid}/report.pdf")
    assert (
        pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    )

    err = assert_envelope(
        manager.get(f"/api/campaigns/{cid}/draws/verify"), 409, "draw_export_seed_secret", campaign=cid
    )
    assert "not revealed yet" in err["message"]
    closed = admin.post(f"/api/campaigns/{cid}/close").json()
    assert closed["status"] == "closed" and len(closed["seed"]) == 64
    checked = manager.get(f"/api/campaigns/{cid}/draws/verify").json()
    assert checked == {"campaign_id": cid, "ok": True, "draws": 2, "commitment": closed["commitment"], "problems": []}
    export = manager.get(f"/api/campaigns/{cid}/draws/export").json()
    assert [d["prize_id"] for d in export["draws"]] == [d["prize_id"] for d in drawn]
    err = assert_envelope(
        clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER}),
        409,
        "campaign_not_running",
        campaign_attempt="draw",
        campaign=cid,
        campaign_state="closed",
    )
    assert err["message"] == "draw refused: campaign live-draw is not running (it is closed)"
    zh = clerk.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER}, headers={"Accept-Language": "zh-CN"})
    err = assert_envelope(zh, 409, "campaign_not_running")
    assert err["message"] == "抽奖未能进行：活动 live-draw 不在进行中（已结束）。"
    assert admin.post(f"/api/campaigns/{cid}/evaluate").json()["status"] == "evaluated"
    assert manager.get(f"/api/campaigns/{cid}/report").json()["frozen"] is True


def test_the_referral_review_queue_and_decisions(api):
    text = campaign_file("refer", extra="referral: {referrer_points: 100, requires: [registration]}\n")
    cid = running(api, text)
    code = referrals.code(api.engine, cid, MEMBER, phone="13800000000")["code"]
    flagged = referrals.refer(api.engine, cid, code, "M0000000009", phone="13800000000")
    assert flagged["flags"] == ["same phone as the referrer"]
    analyst, manager = api.client("analyst"), api.client("manager")
    queue = analyst.get(f"/api/campaigns/{cid}/referrals", params={"status": "review"}).json()["referrals"]
    assert [(q["referee_id"], q["referrer_id"], q["flags"]) for q in queue] == [
        ("M0000000009", MEMBER, ["same phone as the referrer"])
    ]
    assert_envelope(manager.get(f"/api/campaigns/{cid}/referrals"), 403, "forbidden")
    decided = analyst.post(
        f"/api/campaigns/{cid}/referrals/M0000000009/decision", json={"approve": False, "note": "同一手机号"}
    ).json()
    assert (decided["status"], decided["reviewed_by"], decided["review_note"]) == ("rejected", "analyst", "同一手机号")
    err = assert_envelope(
        analyst.post(f"/api/campaigns/{cid}/referrals/M0000000009/decision", json={"approve": True}),
        409,
        "campaign_referral_not_in_review",
        referee="M0000000009",
        campaign_referral_status="rejected",
    )
    assert "only one in review can be decided" in err["message"]
    assert_envelope(
        analyst.post(f"/api/campaigns/{cid}/referrals/NOBODY/decision", json={"approve": True}),
        404,
        "campaign_unknown_referral",
        referee="NOBODY",
    )


def test_an_unknown_campaign_is_404_in_the_envelope(api):
    admin = api.client("admin")
    for path in ("", "/live", "/report", "/report.pdf", "/draws/verify", "/leaderboard", "/file"):
        err = assert_envelope(admin.get(f"/api/campaigns/nope{path}"), 404, "unknown_campaign", campaign="nope")
        assert "nope" in err["message"], path


def test_a_draw_outside_the_draw_hours_is_refused_naming_them(api):
    """Seed 000, 3.3.2 "抽奖时间:6月21日-6月22日,每天下午3点30分-5点": hours the clock (Beijing time) is outside of."""
    hour = datetime.now(ZoneInfo("Asia/Shanghai")).hour
    start, end = (f"{hour + 1:02d}:00", f"{hour + 2:02d}:00") if hour <= 21 else ("00:00", "01:00")
    cid = running(api, campaign_file(extra=f'  hours: {{from: "{start}", to: "{end}"}}\n'))
    member = api.client("member")
    err = assert_envelope(
        member.post(f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER}),
        409,
        "campaign_draw_outside_hours",
        campaign=cid,
        start=start,
        end=end,
        timezone="Asia/Shanghai",
    )
    assert f"draws only from {start} to {end} (Asia/Shanghai)" in err["message"]
    zh = member.post(
        f"/api/campaigns/{cid}/draws", json={"member_id": MEMBER}, headers={"Accept-Language": "zh-CN,zh;q=0.9"}
    ).json()["error"]["message"]
    assert f"抽奖时间为 {start} 至 {end}" in zh
    assert member.get(f"/api/campaigns/{cid}/chances/{MEMBER}").json()["left"] == 1  # nothing was used
