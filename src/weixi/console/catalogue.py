"""Catalogue and stock: the active plan's rewards with cost, limits and the units left; a reward's type by its
name (``reward_type`` in :mod:`weixi.names`)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from weixi.api.routes.common import plan_today
from weixi.console.guard import page_user
from weixi.console.render import page
from weixi.ledger import catalogue as service
from weixi.plans.service import NoActivePlan, active_plan
from weixi.users.service import User

router = APIRouter()


def rewards(request: Request) -> dict | None:
    """The catalogue for today in the plan's timezone, or None when no plan is active."""
    try:
        return service.catalogue(request.app.state.engine, plan_today(request.app.state.engine))
    except NoActivePlan:
        return None


def plan_title(request: Request) -> str | None:
    """The active plan's name (its ``name`` in the plan file), or None before any plan."""
    try:
        with request.app.state.engine.connect().execution_options(readonly=True) as conn, conn.begin():
            return active_plan(conn)[1].name
    except NoActivePlan:
        return None


@router.get("/catalogue")
def catalogue_page(request: Request, user: User = Depends(page_user("catalogue:read"))):
    if user.role == "member":
        return RedirectResponse("/me#catalogue", status_code=303)
    return page(request, "catalogue.html", user, catalogue=rewards(request), plan_title=plan_title(request))
