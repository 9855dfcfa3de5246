"""``POST /api/events``: a birthday event on a day that is not the member's birthday in the archive is rejected with
its code, the other events post. Seed 000 (积分活动方案): "会员生日活动:会员生日当天获得额外积分奖励"."""

from __future__ import annotations

from datetime import date

from tests.api.conftest import ROOT
from tests.integration.ops_fixtures import write_members
from weixi.ledger import birthday_check
from weixi.plans import service as plans

SCHEME = ROOT / "plans" / "examples" / "points-activity-scheme.yaml"  # 生日积分: 100 points once a year


def test_the_api_rejects_a_birthday_event_off_the_birthday(api, monkeypatch):
    write_members(api.data_dir, [{"member_id": "B1", "name": "王芳", "birthday": date(1990, 11, 3)}])
    monkeypatch.setenv("WEIXI_DATA", str(api.data_dir))  # as `weixi serve --data` sets it
    monkeypatch.delenv("WEIXI_OPS_PLAN", raising=False)
    birthday_check.register(None)
    plans.apply_plan(api.engine, SCHEME)
    events = [
        {"event_id": "bd-1", "member_id": "B1", "type": "birthday", "occurred_at": "2026-11-02"},
        {"event_id": "bd-2", "member_id": "B1", "type": "birthday", "occurred_at": "2026-11-03T09:00:00+08:00"},
    ]
    out = api.client("admin").post("/api/events", json={"events": events}).json()
    assert out["posted"] == 1
    assert [(r["index"], r["event_id"], r["field"], r["code"], r["params"]) for r in out["rejected"]] == [
        (0, "bd-1", "occurred_at", "not_birthday", {"day": "2026-11-02"})
    ]
    assert out["rejected"][0]["reason"].startswith("occurred_at: 2026-11-02 is not the member's birthday")
