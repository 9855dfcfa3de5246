"""Questionnaires (调研, issue 20 §7): designed in a plan file, sent through the outbox, answers collected, the
satisfaction figures they feed. Seed 000: "通过客户调研了解客户对积分活动的满意度和建议" and "参与调查问卷或反馈:每参与
一次可获得50积分"."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import text

from tests.integration.ops_fixtures import MONTH, ROOT, write_members, write_snapshot
from weixi.adapters.db import make_engine
from weixi.errors import Conflict, Invalid, NotFound
from weixi.ledger import queries
from weixi.operations import service as ops
from weixi.operations import surveys
from weixi.plans.loader import load_plan_text
from weixi.plans.service import apply_plan

TZ = ZoneInfo("Asia/Shanghai")
SURVEY = ROOT / "plans" / "examples" / "satisfaction-survey.yaml"


@pytest.fixture
def world(db_url, tmp_path):
    engine = make_engine(db_url)
    apply_plan(engine, ROOT / "plans" / "examples" / "service-points.yaml")  # survey: 50 points
    data = tmp_path / "data"
    ids = write_snapshot(data, MONTH, {"standard": 5})
    snap = data / "snapshots" / f"month={MONTH}" / "part-0.parquet"
    t = pq.read_table(snap)
    pq.write_table(
        t.set_column(t.schema.get_field_index("star_level"), "star_level", pa.array([6, 5, 7, 3, 5], pa.int8())), snap
    )
    write_members(
        data,
        [
            {"member_id": ids[0], "name": "张三", "gender": "M", "phone": "13800000001"},
            {"member_id": ids[1], "name": "李四", "gender": "F", "phone": "13800000002"},
            {"member_id": ids[2], "name": "王五", "gender": "M", "phone": None},  # no address
            {"member_id": ids[3], "name": "赵六", "gender": "F", "phone": "13800000004"},  # 3★: not in the audience
            {"member_id": ids[4], "name": "钱七", "gender": "F", "phone": "13800000005"},
        ],
    )
    ops.record_consent(engine, ids[4], "dnd", "all", "all", "hotline request")
    surveys.save_survey(engine, SURVEY.read_text(encoding="utf-8"), str(SURVEY), "analyst")
    return engine, data, ids


def test_the_example_survey_is_checked_like_a_plan():
    plan, diagnostics = load_plan_text(SURVEY.read_text(encoding="utf-8"), "s.yaml")
    assert plan.id == "satisfaction-2026q4" and plan.satisfaction == "overall" and plan.star_levels == (5, 6, 7)
    bad = SURVEY.read_text(encoding="utf-8").replace("satisfaction: overall", "satisfaction: channel")
    bad = bad.replace("options: [营业厅, 网上营业厅, 客户经理上门]", "options: [营业厅]")
    plan, diagnostics = load_plan_text(bad, "s.yaml")
    assert plan is None
    assert sorted(d.code for d in diagnostics if d.is_error) == [
        "survey_choice_needs_options",
        "survey_satisfaction_not_rating",
    ]


def test_the_invitation_goes_through_the_outbox_to_the_audience_once(world):
    engine, data, ids = world
    out = surveys.send_survey(engine, data, "satisfaction-2026q4", date(2026, 10, 8))
    assert (out["queued"], out["blocked"], out["no_address"]) == (2, 1, 1)  # 3★ not asked, 钱七 do-not-disturb
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT recipient, body FROM msg_outbox ORDER BY recipient")).fetchall()
    assert [r[0] for r in rows] == ["13800000001", "13800000002"]
    assert rows[0][1].startswith("尊敬的张先生:诚邀您参加2026年四季度客户满意度调研")
    again = surveys.send_survey(engine, data, "satisfaction-2026q4", date(2026, 10, 9))
    assert again["queued"] == 0 and again["already_queued"] == 2
    with pytest.raises(Conflict) as e:
        surveys.save_survey(engine, SURVEY.read_text(encoding="utf-8").replace("四季度", "三季度"), "x.yaml", "analyst")
    assert e.value.code == "survey_exists"


def test_answers_are_checked_complete_ones_earn_50_points_once_and_feed_satisfaction(world, tmp_path):
    engine, data, ids = world
    at = datetime(2026, 10, 10, 11, tzinfo=TZ)
    for answers, code in (
        ({"overall": "6"}, "survey_bad_rating"),
        ({"overall": 5, "channel": "电话"}, "survey_bad_choice"),
        ({"price": 3}, "survey_unknown_question"),
    ):
        with pytest.raises(Invalid) as e:
            surveys.record_answers(engine, "satisfaction-2026q4", ids[0], answers, "agent", at)
        assert e.value.code == code
    part = surveys.record_answers(engine, "satisfaction-2026q4", ids[0], {"overall": 5}, "agent", at)
    assert not part["complete"] and not part["points_event"]
    done = surveys.record_answers(
        engine, "satisfaction-2026q4", ids[0], {"manager": 4, "channel": "营业厅"}, "agent", at
    )
    assert done["complete"] and done["points_event"]  # the advice is optional
    assert queries.balance(engine, ids[0], date(2026, 10, 10))["balance"] == 50  # 每参与一次可获得50积分
    again = surveys.record_answers(engine, "satisfaction-2026q4", ids[0], {"overall": 4}, "agent", at)
    assert again["complete"] and not again["points_event"]  # once per member
    assert queries.balance(engine, ids[0], date(2026, 10, 10))["balance"] == 50
    for member, score in ((ids[1], 2), (ids[3], 5)):
        surveys.record_answers(engine, "satisfaction-2026q4", member, {"overall": score}, "agent", at)
    path = data / "operations" / "assignments" / "month=2026-10" / "part-0.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"member_id": [ids[0], ids[1], ids[3]], "staff_id": ["K1", "K1", "K2"]}), path)
    figures = surveys.satisfaction(engine, "satisfaction-2026q4", data, "2026-10")
    assert (figures["responses"], figures["average"], figures["satisfied_share"]) == (3, "3.67", "0.6667")
    assert figures["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    assert (
        figures["by_manager"]["K1"]["average"] == "3.00" and figures["by_manager"]["K2"]["satisfied_share"] == "1.0000"
    )
    with pytest.raises(NotFound):
        surveys.satisfaction(engine, "no-such-survey")


def test_the_cli_creates_answers_and_reads_satisfaction(db_url, tmp_path):
    import json

    from typer.testing import CliRunner

    from weixi.cli.app import app
    from weixi.users import service as users

    engine = make_engine(db_url)
    db = ["--db", str(engine.url).removeprefix("sqlite:///")]
    run = CliRunner().invoke
    made = run(app, ["survey", "create", str(SURVEY), "--by", "analyst", *db, "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output) == {"survey_id": "satisfaction-2026q4", "name": "2026年四季度客户满意度调研",
                                       "questions": 4, "new": True}  # fmt: skip
    bad = run(app, ["survey", "answer", "satisfaction-2026q4", "M1", "overall=9", *db, "--json"])
    assert bad.exit_code != 0 and json.loads(bad.output)["error"]["code"] == "survey_bad_rating"
    ok = run(app, ["survey", "answer", "satisfaction-2026q4", "M1", "overall=4", "channel=营业厅", *db, "--json"])
    assert ok.exit_code == 0, ok.output
    figures = run(app, ["survey", "satisfaction", "satisfaction-2026q4", *db, "--json"])
    assert json.loads(figures.output)["average"] == "4.00"
    assert [e["action"] for e in users.audit_entries(engine)][:2] == ["survey.answer", "survey.create"]
