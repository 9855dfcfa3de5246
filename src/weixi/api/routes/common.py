"""Small helpers shared by the API routers."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import Path, Request
from sqlalchemy import Engine

from weixi.plans.service import plan_zone

ID = Path(min_length=1, max_length=128, description="Member id, e.g. M0000000002.")


def engine_of(request: Request) -> Engine:
    return request.app.state.engine


def plan_today(engine: Engine) -> date:
    """Today in the active plan's timezone (the default timezone when no plan is active yet)."""
    return datetime.now(plan_zone(engine)).date()


def redemption_out(r: dict) -> dict:
    keys = ("redemption_id", "member_id", "reward_id", "qty", "points", "day", "status", "details", "request_id")
    return {k: r.get(k) for k in keys}
