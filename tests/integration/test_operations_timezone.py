"""Operations and the outbox keep the active plan's clock: "today", quiet hours, due dates and shown times follow the
plan's ``timezone`` (here Europe/London), not a hard-coded Asia/Shanghai; before any plan, Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.integration.ops_fixtures import PLAN, write_roster
from weixi.adapters.db import make_engine
from weixi.messaging import service as messaging
from weixi.operations import clock, sla, task_outcomes
from weixi.operations import service as ops
from weixi.operations import staff as ops_staff
from weixi.plans.service import apply_plan_text

LONDON = ZoneInfo("Europe/London")
POINTS_PLAN = """\
plan: london
name: London
timezone: Europe/London
expiry: {end_of_month_after: 2}
tiers:
  - {id: standard, name: S, rank: 0}
earning:
  - {id: bill, type: spend, points: 1, per_yuan: 10}
rewards:
  - {id: gift, type: gift, name: cup, cost: 50}
"""


@pytest.fixture
def world(db_url, tmp_path):
    engine = make_engine(db_url)
    write_roster(
        tmp_path / "roster.csv", [("K1", "张经理", "manager", "T1", "L1", ""), ("L1", "组长", "lead", "T1", "", "")]
    )
    ops_staff.load_staff(engine, tmp_path / "roster.csv")
    return engine, tmp_path / "data", ops.plan_or_fail(str(PLAN))


def _task(engine, plan, member: str) -> str:
    return ops.add_task(engine, plan, member, "retention_call", date(2026, 10, 20), "K1", on=date(2026, 10, 8))[
        "task_id"
    ]


def test_before_any_plan_the_clock_is_asia_shanghai(world):
    engine, data, plan = world
    assert clock.zone(engine) == ZoneInfo("Asia/Shanghai")
    # 14:30 UTC is 22:30 in Shanghai: inside the quiet hours (21:00-08:00)
    with pytest.raises(ops.OperationsError, match="quiet hours 21:00-08:00") as refused:
        task_outcomes.record_outcome(
            engine,
            plan,
            data,
            _task(engine, plan, "M1"),
            "callback",
            "K1",
            callback_at=datetime(2026, 10, 9, 14, 30, tzinfo=timezone.utc),
            at=datetime(2026, 10, 8, 2, tzinfo=timezone.utc),
        )
    assert refused.value.code == "callback_in_quiet_hours"


def test_today_quiet_hours_and_due_dates_follow_the_plans_timezone(world):
    engine, data, plan = world
    apply_plan_text(engine, POINTS_PLAN, "london.yaml")
    assert clock.zone(engine) == LONDON
    assert ops.today(engine) == datetime.now(LONDON).date()
    assert sla.sla_report(engine, plan)["as_of"] == datetime.now(LONDON).date().isoformat()
    # 14:30 UTC is 15:30 in London (summer time until 25 October): outside the quiet hours, so the call back is
    # booked for that London day.
    callback = task_outcomes.record_outcome(
        engine,
        plan,
        data,
        _task(engine, plan, "M1"),
        "callback",
        "K1",
        callback_at=datetime(2026, 10, 9, 14, 30, tzinfo=timezone.utc),
        at=datetime(2026, 10, 8, 2, tzinfo=timezone.utc),
    )
    assert callback["follow_ups"][0]["due_on"] == "2026-10-09"
    # A call back without a zone is London time: 22:00 in London is quiet.
    with pytest.raises(ops.OperationsError, match="quiet hours") as refused:
        task_outcomes.record_outcome(
            engine,
            plan,
            data,
            _task(engine, plan, "M2"),
            "callback",
            "K1",
            callback_at=datetime(2026, 10, 9, 22, 0).replace(tzinfo=clock.zone(engine)),
            at=datetime(2026, 10, 8, 2, tzinfo=timezone.utc),
        )
    assert refused.value.code == "callback_in_quiet_hours"
    # Accepted at 17:00 UTC on 8 October: 18:00 on the 8th in London (it would be the 9th in Shanghai), so the
    # follow-up starts on the 8th; the closing time is shown in London time.
    accepted = _task(engine, plan, "M3")
    out = task_outcomes.record_outcome(
        engine,
        plan,
        data,
        accepted,
        "accepted",
        "K1",
        offer_id="phone_for_credit",
        at=datetime(2026, 10, 8, 17, tzinfo=timezone.utc),
    )
    assert out["follow_ups"][0]["not_before"] == "2026-10-08"
    assert ops.get_task(engine, accepted)["closed_at"] == "2026-10-08T18:00:00+01:00"


def test_the_outbox_shows_times_in_the_plans_timezone(world):
    engine, data, plan = world
    apply_plan_text(engine, POINTS_PLAN, "london.yaml")
    queued = messaging.queue_message(
        engine, "tz/1", "sms", "13800000000", "你好", purpose="care", at=datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    )
    assert queued["created_at"] == "2026-12-01T09:00:00+00:00"  # GMT in winter
    assert messaging.now(engine).tzinfo == LONDON
