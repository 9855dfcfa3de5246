"""Points per month and the liability trend from the journal, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BACKENDS
from tests.console import operator as op
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.ledger.redemption import redeem
from weixi.members import overview as dashboard
from weixi.plans import service as plans

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day + "T10:00:00").replace(tzinfo=TZ)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_points_per_month_and_the_liability_at_each_month_end(engine):
    plans.apply_plan(engine, op.PLAN)
    events = [
        Event("b1", "M1", "bill", at("2026-01-05"), at("2026-01-05").date(), amount_fen=59_900),  # 59 points
        Event("a1", "M1", "adjust", at("2026-03-02"), at("2026-03-02").date(), points=300),
        Event("a2", "M2", "adjust", at("2026-03-09"), at("2026-03-09").date(), points=41),
    ]
    assert post_events(engine, events).posted == 3
    redeem(engine, "M1", "bill-credit", 2, request_id="r1", at=at("2026-03-20"))  # 200 points
    months = dashboard.points_by_month(engine)["months"]
    assert [m["month"] for m in months] == ["2026-01", "2026-02", "2026-03"]  # February filled in
    jan, feb, mar = months
    assert (jan["issued"], jan["redeemed"], jan["outstanding"], jan["liability_yuan"]) == (59, 0, 59, "0.59")
    assert (feb["issued"], feb["outstanding"]) == (0, 59)
    assert (mar["issued"], mar["redeemed"], mar["outstanding"], mar["liability_yuan"]) == (341, 200, 200, "2.00")
    assert dashboard.points_by_month(engine, months=2)["months"] == [feb, mar]
