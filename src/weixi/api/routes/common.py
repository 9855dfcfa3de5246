"""Small helpers shared by the API routers."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import Path, Request
from sqlalchemy import Engine

from weixi.plans.service import NoActivePlan, active_plan

ID = Path(min_length=1, max_length=128, description="Member id, e.g. M0000000002.")
DEFAULT_TZ = "Asia/Shanghai"


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def plan_today(engine: Engine) -> date:
    """Today in the active plan's timezone (Asia/Shanghai when no plan is active yet)."""
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            tz = active_plan(conn)[1].timezone
    except NoActivePlan:
        tz = DEFAULT_TZ
    return datetime.now(ZoneInfo(tz)).date()


def redemption_out(r: dict) -> dict:
    keys = ("redemption_id", "member_id", "reward_id", "qty", "points", "day", "status", "details", "request_id")
    return {k: r.get(k) for k in keys}
