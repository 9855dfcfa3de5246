"""A campaign's close-out (issue 20 §10): the follow-ups become tasks in the operations queue (not a CSV), and the
close-out has a summary, an incident log and the risk register's follow-up.

Seed 004 (保客活动方案) asks for "活动总结" after the event and lists risks with their responses ("风险预防及应对措施");
the incident log is the table the seed's 现场执行 keeps: time, what happened, who, action taken."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.test_campaigns import at, campaign_text, start
from weixi.adapters.sql import execute
from weixi.campaigns import incidents
from weixi.campaigns import report as reports
from weixi.campaigns import service as cs
from weixi.errors import Invalid, NotFound
from weixi.operations import service as ops

TZ = ZoneInfo("Asia/Shanghai")
MEMBERS = ["a", "b", "c", "d"]
EXTRA = """
risks:
  - {id: crowd, category: safety, description: 抽奖时段现场人流集中, likelihood: 3, impact: 4, response: 分批入场, owner: 营销部}
  - {id: fairness, category: public_opinion, description: 客户质疑抽奖不公, likelihood: 2, impact: 4, owner: 营销部}
follow_ups:
  - {id: thank-sms, who: non_participants, action: sms, due_days: 3, note: "感谢您关注本次活动,欢迎到厅参与下期抽奖。"}
  - {id: visit-call, who: non_participants, action: call, due_days: 7}
"""


@pytest.fixture
def closed(engine, tmp_path):
    from tests.integration.test_campaigns import EXAMPLES
    from weixi.plans.service import apply_plan

    apply_plan(engine, EXAMPLES / "telecom-points.yaml")
    c = start(engine, campaign_text(MEMBERS, extra=EXTRA))
    cs.act(engine, c, "close", "bob", now=at("2026-07-03T09:00"))
    data = tmp_path / "data"
    path = data / "operations" / "assignments" / "month=2026-06" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "member_id": ["a", "b", "c"],
                "tier": ["gold", "gold", None],
                "staff_id": ["K1", "K2", None],
                "team": ["T1", "T1", None],
            }
        ),
        path,
    )
    ops.record_consent(engine, "d", "dnd", "all", "all", "hotline request")
    return engine, c, data


def test_follow_ups_become_tasks_of_the_members_managers_once(closed):
    engine, c, data = closed
    out = reports.follow_up_tasks(engine, c, data, now=at("2026-07-03T10:00"))
    assert out["by_follow_up"] == {"thank-sms": 3, "visit-call": 3}  # d asked not to be disturbed
    assert out["blocked"] == 2 and out["without_manager"] == 2 and out["new_in_queue"] == 6
    sms = ops.get_task(engine, f"campaign/{c}/thank-sms/a")
    assert (sms["kind"], sms["assignee"], sms["source"], sms["status"]) == ("sms", "K1", "campaign", "open")
    assert sms["template_id"] == "campaign-follow-up" and sms["reason"].startswith("感谢您关注本次活动")
    assert (sms["not_before"], sms["due_on"]) == ("2026-07-03", "2026-07-05")  # the window ended 2026-07-02
    call = ops.get_task(engine, f"campaign/{c}/visit-call/b")
    assert (call["kind"], call["assignee"], call["due_on"]) == ("care_call", "K2", "2026-07-09")
    assert "测试活动" in call["reason"]
    again = reports.follow_up_tasks(engine, c, data, now=at("2026-07-04T10:00"))
    assert again["new_in_queue"] == 0 and again["tasks"] == 6


def test_the_close_out_has_a_summary_an_incident_log_and_each_risks_outcome(closed):
    engine, c, data = closed
    reports.follow_up_tasks(engine, c, data, now=at("2026-07-03T10:00"))
    second = incidents.record_incident(
        engine, c, at("2026-07-02T15:40"), "奖品柜台排队过长", "营业厅王经理", "增开一个兑奖窗口", "bob"
    )
    first = incidents.record_incident(
        engine,
        c,
        at("2026-07-01T10:05"),
        "短信链接打不开",
        "客服",
        "改发营业厅地址",
        "alice",
        now=at("2026-07-01T11:00"),
    )
    assert second["occurred_at"] == "2026-07-02T15:40+08:00"
    incidents.record_risk_outcome(engine, c, "crowd", "mitigated", "分两批入场,无拥挤", "bob")
    out = reports.report(engine, c)["close_out"]
    assert [i["id"] for i in out["incidents"]] == [first["id"], second["id"]]  # in the order they happened
    assert [(i["what"], i["who"], i["action"]) for i in out["incidents"]][0] == (
        "短信链接打不开",
        "客服",
        "改发营业厅地址",
    )
    assert [(r["id"], r["outcome"]) for r in out["risks"]] == [("crowd", "mitigated"), ("fairness", None)]
    s = out["summary"]
    assert (s["incidents"], s["risks"], s["risks_occurred"], s["risks_not_followed_up"]) == (2, 2, 0, 1)
    assert (s["follow_up_tasks"], s["follow_up_tasks_closed"]) == (6, 0)
    assert s["objectives"] == 2 and s["objectives_met"] == 0 and s["participants"] == 0
    # recording the outcome again replaces it; the evaluated (frozen) report still reads the close-out live
    cs.act(engine, c, "evaluate", "carol", now=at("2026-07-04T09:00"))
    incidents.record_risk_outcome(engine, c, "fairness", "did_not_occur", None, "bob")
    incidents.record_risk_outcome(engine, c, "crowd", "occurred", "15:40 排队", "bob")
    rep = reports.report(engine, c)
    assert rep["frozen"] and rep["close_out"]["summary"]["risks_occurred"] == 1
    assert rep["close_out"]["summary"]["risks_not_followed_up"] == 0


def test_bad_close_out_entries_are_refused_and_nothing_is_recorded(closed):
    engine, c, _ = closed
    soon = datetime.now(TZ) + timedelta(hours=1)
    cases = [
        (lambda: incidents.record_incident(engine, c, soon, "x", "y", "z", "bob"), "campaign_incident_in_future"),
        (lambda: incidents.record_incident(engine, c, at("2026-07-01T10:00"), " ", "y", "z", "bob"),
         "campaign_close_out_field_missing"),
        (lambda: incidents.record_incident(engine, c, datetime(2026, 7, 1, 10), "x", "y", "z", "bob"),
         "campaign_incident_time_without_zone"),
        (lambda: incidents.record_risk_outcome(engine, c, "crowd", "maybe", None, "bob"),
         "campaign_risk_outcome_unknown"),
    ]  # fmt: skip
    for call, code in cases:
        with pytest.raises(Invalid) as e:
            call()
        assert e.value.code == code
    with pytest.raises(NotFound) as e:
        incidents.record_risk_outcome(engine, c, "flood", "occurred", None, "bob")
    assert e.value.code == "campaign_unknown_risk" and e.value.params["risks"] == ["crowd", "fairness"]
    with engine.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM campaign_incidents")[0][0] == 0
        assert execute(conn, "SELECT count(*) FROM campaign_risk_outcomes")[0][0] == 0


def test_the_cli_records_an_incident_and_a_risk_outcome_and_prints_the_close_out(closed):
    import json

    from typer.testing import CliRunner

    from weixi.cli.app import app
    from weixi.users import service as users

    engine, c, data = closed
    db = ["--db", str(engine.url).removeprefix("sqlite:///")]
    run = CliRunner().invoke
    got = run(app, ["campaign", "incident", c, "--at", "2026-07-02T15:40:00+08:00", "--what", "奖品柜台排队过长",
                    "--who", "王经理", "--action", "增开窗口", "--by", "bob", *db, "--json"])  # fmt: skip
    assert got.exit_code == 0, got.output
    got = run(app, ["campaign", "risk-outcome", c, "crowd", "--outcome", "occurred", "--note", "排队", "--by", "bob",
                    *db, "--json"])  # fmt: skip
    assert got.exit_code == 0, got.output
    bad = run(app, ["campaign", "risk-outcome", c, "flood", "--outcome", "occurred", "--by", "bob", *db, "--json"])
    assert bad.exit_code != 0 and json.loads(bad.output)["error"]["code"] == "campaign_unknown_risk"
    tasks = run(app, ["campaign", "follow-ups", c, "--data", str(data), *db, "--json"])
    assert tasks.exit_code == 0 and json.loads(tasks.output)["new_in_queue"] == 6, tasks.output
    out = json.loads(run(app, ["campaign", "close-out", c, *db, "--json"]).output)
    assert out["summary"]["incidents"] == 1 and out["summary"]["risks_occurred"] == 1
    assert out["summary"]["follow_up_tasks"] == 6
    text = run(app, ["campaign", "close-out", c, *db]).output
    assert "奖品柜台排队过长" in text and "risk crowd" in text
    actions = [e["action"] for e in users.audit_entries(engine)]
    assert {"campaign.incident", "campaign.risk_outcome", "campaign.follow_ups"} <= set(actions)
