"""Dashboard: members by tier and segment at the latest close; points issued, redeemed and expired per month and
the liability trend from the ledger. The page draws its ECharts charts from ``/dashboard/data.json``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from weixi.console.guard import page_user
from weixi.console.render import page, translator
from weixi.i18n import N_
from weixi.members import overview as service
from weixi.users.service import User

router = APIRouter()
MONTHS = 12

SEGMENT_TITLES = {
    "by_tier": N_("Members by tier"),
    "by_star_level": N_("Members by star level"),
    "by_value_grade": N_("Members by value grade"),
    "by_activity": N_("Members by activity"),
    "by_key_account": N_("Members by key-account level"),
}
ACTIVITY = {"active": N_("active"), "normal": N_("normal"), "silent": N_("silent")}
VALUE = {"A": N_("A platinum"), "B": N_("B gold"), "C": N_("C steel"), "D": N_("D lead")}


def _labels(key: str, values: dict, names: dict, _) -> list[str]:
    if key == "by_tier":
        return [names["tier"].get(k, k) for k in values]
    if key == "by_key_account":
        return [names["key_account"].get(k, k) for k in values]
    if key == "by_activity":
        return [_(ACTIVITY[k]) if k in ACTIVITY else k for k in values]
    if key == "by_value_grade":
        return [_(VALUE[k]) if k in VALUE else k for k in values]
    if key == "by_star_level":
        return [_("%(n)s stars") % {"n": k} for k in values]
    return list(values)


def chart_data(request: Request) -> dict:
    """Everything the dashboard's charts draw, labels translated for the request's language."""
    _ = translator(request)
    state = request.app.state
    overview = service.members_overview(state.engine, state.data_dir)
    points = service.points_by_month(state.engine, MONTHS)
    segments = []
    if overview:
        for key, title in SEGMENT_TITLES.items():
            values = overview.get(key) or {}
            segments.append(
                {
                    "key": key,
                    "title": _(title),
                    "labels": _labels(key, values, overview["names"], _),
                    "values": list(values.values()),
                }
            )
    months = [m["month"] for m in points["months"]]
    return {
        "close_month": overview["month"] if overview else None,
        "segments": segments,
        "points": {
            "title": _("Points per month"),
            "months": months,
            "series": [
                {"name": _("issued"), "values": [m["issued"] for m in points["months"]]},
                {"name": _("redeemed"), "values": [m["redeemed"] for m in points["months"]]},
                {"name": _("expired"), "values": [m["expired"] for m in points["months"]]},
            ],
        },
        "liability": {
            "title": _("Outstanding points and liability"),
            "months": months,
            "points_name": _("outstanding points"),
            "points": [m["outstanding"] for m in points["months"]],
            "yuan_name": _("liability (yuan)"),
            "yuan": [m["liability_yuan"] for m in points["months"]],
        },
    }


@router.get("/dashboard")
def dashboard_page(request: Request, user: User = Depends(page_user("dashboard:read"))):
    state = request.app.state
    overview = service.members_overview(state.engine, state.data_dir)
    points = service.points_by_month(state.engine, MONTHS)
    return page(request, "dashboard.html", user, overview=overview, points=points)


@router.get("/dashboard/data.json")
def dashboard_data(request: Request, user: User = Depends(page_user("dashboard:read"))):
    return JSONResponse(chart_data(request), headers={"Cache-Control": "no-store"})
