"""The operations CLI end to end: roster, tasks, queue, outcome, SLA, consent, care, outbox; JSON output and exit
statuses for bad input."""

from __future__ import annotations

import re
from datetime import date

from tests.e2e.cli_helpers import runner, weixi, weixi_json
from tests.integration.ops_fixtures import MONTH, PLAN, write_members, write_roster, write_snapshot, write_tier_events
from weixi.cli.app import app


def test_operations_cli_flow(tmp_path, monkeypatch):
    db, data = tmp_path / "ops.db", tmp_path / "data"
    monkeypatch.setenv("WEIXI_DATA", str(data))
    monkeypatch.setenv("WEIXI_OPS_PLAN", str(PLAN))
    weixi("init", db=db)
    ids = write_snapshot(data, MONTH, {"diamond": 20, "gold": 20, "standard": 10})
    write_tier_events(data, MONTH, [(ids[20], "will_downgrade", "gold", "silver", date(2026, 12, 31))])
    write_members(
        data,
        [
            {
                "member_id": ids[0],
                "name": "王芳",
                "gender": "F",
                "birthday": date(1990, 10, 1),
                "phone": "13800000001",
                "city": "广州",
            }
        ],
    )
    roster = write_roster(
        tmp_path / "roster.csv",
        [
            ("K1", "张经理", "manager", "T1", "L1", ""),
            ("A1", "坐席", "agent", "OB", "L1", ""),
            ("L1", "组长", "lead", "T1", "", ""),
        ],
    )
    assert weixi_json("staff", "load", roster, db=db)["loaded"] == 3
    targets = tmp_path / "targets.csv"
    targets.write_text(
        f"member_id,priority,reason,offer_id\n{ids[1]},900,合约30天后到期,phone_for_credit\n", encoding="utf-8"
    )
    created = weixi_json("tasks", "create", "--month", MONTH, "--date", "2026-09-30", "--targets", targets, db=db)
    assert created["tasks"]["by_kind"]["retention_call"] == 1
    queue = weixi_json("tasks", "queue", "K1", "--on", "2026-10-08", db=db)
    task = next(t for t in queue if t["member_id"] == ids[1])
    assert task["offer_id"] == "phone_for_credit" and queue[0]["priority"] >= queue[-1]["priority"]
    bad = weixi_json("tasks", "outcome", "no-such-task", "reached", "--by", "K1", db=db, expect=2)
    assert bad["error"]["code"] == "unknown_task" and "no task 'no-such-task'" in bad["error"]["message"]
    done = weixi_json("tasks", "outcome", task["task_id"], "accepted", "--by", "K1", db=db)
    assert done["order"]["staff_id"] == "K1"
    month = done["order"]["created_at"][:7]
    orders = weixi_json("tasks", "orders", "--month", month, "--out", tmp_path / "orders.csv", db=db)
    assert orders["orders"] == 1
    report = weixi_json("sla", "report", "--month", MONTH, "--as-of", "2026-10-20", db=db)
    assert report["target_percent"] == "100%"
    weixi(
        "consent",
        "record",
        ids[2],
        "opt_out",
        "--channel",
        "call",
        "--purpose",
        "marketing",
        "--source",
        "SMS reply TD",
        db=db,
    )
    refused = weixi_json("tasks", "add", ids[2], "--kind", "retention_call", "--due", "2026-10-09", db=db, expect=2)
    assert refused["error"]["code"] == "task_blocked_by_policy" and refused["error"]["params"]["rule"] == "opt_out"
    assert "rule: opt_out" in refused["error"]["message"] and "SMS reply TD" in refused["error"]["message"]
    care = weixi_json("care", "run", "--date", "2026-10-01", db=db)
    assert care["by_occasion"]["生日"] == 1
    sent = weixi_json("outbox", "send", "--ignore-quiet-hours", db=db)
    assert sent["sent"] >= 1
    assert weixi_json("outbox", "send", "--ignore-quiet-hours", db=db)["sent"] == 0
    listed = weixi_json("outbox", "list", "--member", ids[0], db=db)
    assert listed[0]["status"] == "sent"


def test_plan_check_and_bad_month_errors(tmp_path):
    bad = tmp_path / "ops.yaml"
    bad.write_text(PLAN.read_text(encoding="utf-8").replace("ratio: 200", "ratio: zero"), encoding="utf-8")
    result = runner.invoke(app, ["plan", "check", str(bad)])
    assert result.exit_code == 1 and f"{bad}:" in result.output and "ratio" in result.output
    db = tmp_path / "x.db"
    weixi("init", db=db)
    out = weixi_json("tasks", "create", "--month", "2026-13", "--plan", PLAN, "--data-dir", tmp_path, db=db, expect=2)
    assert out["error"]["code"] == "ops_month_invalid" and out["error"]["params"] == {"month": "2026-13"}
    cal = weixi_json("care", "calendar", "--month", "2026-10", "--plan", PLAN)
    assert cal[9]["date"] == "2026-10-10" and cal[9]["working_day"] is True
    assert any(o["name"] == "国庆节" for o in cal[0]["occasions"])
    assert [d["date"] for d in cal for o in d["occasions"] if o["name"] == "寒露"] == ["2026-10-08"]


def test_care_calendar_2027_is_provisional_until_the_notice_is_declared(tmp_path, monkeypatch):
    """Issue 20 §2: `weixi care calendar --month 2027-02` answers today, provisional; `weixi care declare FILE`
    checks the notice like a plan (file:line:col) and, without errors, replaces the provisional calendar."""
    monkeypatch.setenv("WEIXI_DATA", str(tmp_path / "data"))
    cal = weixi_json("care", "calendar", "--month", "2027-02", "--plan", PLAN)
    assert len(cal) == 28 and all(d["provisional"] for d in cal)
    assert cal[4]["date"] == "2027-02-05" and [o["name"] for o in cal[4]["occasions"]] == ["春节"]
    text = runner.invoke(app, ["care", "calendar", "--month", "2027-02", "--plan", str(PLAN)])
    assert text.exit_code == 0 and "2027: provisional calendar" in text.output
    assert re.search(r"2027-02-08\s+rest \(provisional\)", text.output)
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kind: calendar\nyear: 2027\nholidays:\n  - {holiday: spring_festival, from: 2027-02-13, to: 2027-02-05}\n",
        encoding="utf-8",
    )
    refused = runner.invoke(app, ["care", "declare", str(bad)])
    assert refused.exit_code == 2 and f"{bad}:4:" in refused.output and "ends (2027-02-05) before" in refused.output
    good = tmp_path / "notice-2027.yaml"
    good.write_text(
        "kind: calendar\nyear: 2027\nholidays:\n"
        "  - {holiday: new_year, from: 2027-01-01, to: 2027-01-03}\n"
        "  - {holiday: spring_festival, from: 2027-02-05, to: 2027-02-13}\n"
        "  - {holiday: qingming, from: 2027-04-03, to: 2027-04-05}\n"
        "  - {holiday: labour_day, from: 2027-05-01, to: 2027-05-05}\n"
        "  - {holiday: dragon_boat, from: 2027-06-09, to: 2027-06-11}\n"
        "  - {holiday: mid_autumn, from: 2027-09-15, to: 2027-09-17}\n"
        "  - {holiday: national_day, from: 2027-10-01, to: 2027-10-07}\n"
        "working_days: [2027-02-20]\n",
        encoding="utf-8",
    )
    declared = weixi_json("care", "declare", good)
    assert declared["year"] == 2027 and declared["working_days"] == ["2027-02-20"] and declared["warnings"] == []
    cal = weixi_json("care", "calendar", "--month", "2027-02", "--plan", PLAN)
    assert not any(d["provisional"] for d in cal) and cal[19]["date"] == "2027-02-20" and cal[19]["working_day"]
    years = weixi_json("care", "years", "--from", "2026", "--to", "2028")
    assert years == [
        {"year": 2026, "calendar": "package"},
        {"year": 2027, "calendar": "declared"},
        {"year": 2028, "calendar": "provisional"},
    ]
