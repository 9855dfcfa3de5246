"""The target-list pages: the month's lists filtered (list kind, risk band, manager, tier, segment, group), paged
with a total, exported with the reader's headers (yuan, names beside ids), the form that builds a month's lists
(a job of :mod:`weixi.console.analyst_jobs`) and the treated-versus-control evaluation. Thin over
:mod:`weixi.targets.listing` and :mod:`weixi.targets.service`."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from weixi import i18n
from weixi.api.permissions import pii_unmasked
from weixi.churn.errors import ChurnError
from weixi.console.analyst_jobs import STATUS_NAMES, recent_jobs
from weixi.console.guard import may, page_user
from weixi.console.render import active_plan_names, fragment, page, translator
from weixi.members.listing import manager_names
from weixi.names import names as code_names
from weixi.targets import listing, reports
from weixi.targets import service as targets_service
from weixi.users.service import User

router = APIRouter()
MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
MONTH_Q = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
Band = Literal["high", "medium", "low"]
Group = Literal["treatment", "control", "all"]


def _data(request: Request):
    return request.app.state.data_dir


class TargetParams:
    """The list's filters and page, all from the URL (so a filtered list is bookmarkable)."""

    def __init__(
        self,
        list: list[str] | None = Query(None, max_length=32),  # the list kinds; an empty one is "every list"
        band: Band | Literal[""] | None = None,
        manager: str | None = Query(None, max_length=128),
        tier: str | None = Query(None, max_length=64),
        segment: str | None = Query(None, max_length=64),
        group: Group = "treatment",
        page: int = Query(1, ge=1, le=1_000_000),
    ):
        self.filters = listing.Filters(
            tuple(x for x in (list or []) if x), band or None, manager or None, tier or None, segment or None, group
        )
        self.page = page

    def query(self, **extra) -> str:
        f = self.filters
        pairs = [("list", x) for x in f.lists]
        pairs += [(k, v) for k, v in (("band", f.band), ("manager", f.manager), ("tier", f.tier)) if v]
        pairs += [(k, v) for k, v in (("segment", f.segment), ("group", f.group)) if v]
        pairs += [(k, v) for k, v in extra.items() if v not in (None, "")]
        return urlencode(pairs)


@router.get("/targets")
def targets(
    request: Request,
    month: str | None = MONTH_Q,
    p: TargetParams = Depends(),
    user: User = Depends(page_user("targets:read")),
):
    months = reports.built_months(_data(request))
    scored = reports.scored_months(_data(request))
    month = month or (months[0] if months else None)
    found = None
    if month in months:
        found = listing.rows(_data(request), month, p.filters, p.page)
    may_build = may(user, "targets:build") and may(user, "churn:train")
    recent = recent_jobs(request) if may_build else []
    return page(
        request,
        "targets.html",
        user,
        months=months,
        scored=scored,
        month=month,
        p=p,
        filters=p.filters,
        found=found,
        managers=manager_names(request.app.state.engine),
        may_export=may(user, "targets:export"),
        may_build=may_build,
        running=next((j for j in recent if j["status"] == "running"), None),
        statuses=STATUS_NAMES,
        jobs=recent,
    )


def _headers(_) -> dict[str, str]:
    return {
        "priority_rank": _("Priority"),
        "member_id": _("Member"),
        "name": _("Name"),
        "phone": _("Phone"),
        "list": _("List"),
        "group": _("Group"),
        "tier": _("Tier"),
        "churn_probability": _("Churn probability"),
        "risk_decile": _("Risk decile"),
        "value_yuan": _("Value (yuan)"),
        "offer_name": _("Offer"),
        "reasons": _("Reasons"),
        "manager_id": _("Manager"),
        "city": _("City"),
        "plan_name": _("Plan"),
    }


@router.get("/targets/{month}/export")
def export(
    request: Request,
    month: str = MONTH,
    format: Literal["csv", "xlsx"] = "csv",
    p: TargetParams = Depends(),
    user: User = Depends(page_user("targets:export")),
):
    """The filtered lists (every page, in priority order) as CSV or XLSX with headers, names and reasons in the
    page's language, value in yuan; phone numbers in clear only for the roles that see them, and audited."""
    _ = translator(request)
    locale = i18n.locale_of(request)
    labels = {
        "list": code_names("list_kind", locale),
        "group": {"treatment": _("to call"), "control": _("control (not called)")},
        "tier": active_plan_names(request).get("tier") or {},
        "manager_id": manager_names(request.app.state.engine),
    }
    data = listing.export(
        request.app.state.engine,
        _data(request),
        user,
        month,
        p.filters,
        format,
        _headers(_),
        labels,
        locale,
        pii_unmasked(user.role),
    )
    media = (
        "text/csv; charset=utf-8"
        if format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="targets-{month}.{format}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/targets/{month}/data.json")
def chart_data(
    request: Request, month: str = MONTH, p: TargetParams = Depends(), user: User = Depends(page_user("targets:read"))
):
    """The page's charts of the filtered lists: members per list (to call and control; a bar opens that list's
    members) and their value in yuan (a chart of its own: one unit per axis)."""
    _ = translator(request)
    locale = i18n.locale_of(request)
    counts = listing.rows(_data(request), month, p.filters, 1, size=1)["by_list"]
    kinds = sorted(counts)
    names = code_names("list_kind", locale)
    links = [f"/targets?{urlencode({'month': month, 'list': k, 'group': 'all'})}" for k in kinds]
    labels = [names.get(k, k) for k in kinds]
    return JSONResponse(
        {
            "members": {
                "title": _("Members per list"),
                "labels": labels,
                "y_name": _("members"),
                "series": [
                    {"name": _("to call"), "values": [counts[k]["treatment"] for k in kinds]},
                    {"name": _("control (not called)"), "values": [counts[k]["control"] for k in kinds]},
                ],
                "links": links,
                "hint": _("Click a bar to list its members."),
            },
            "value": {
                "title": _("Value of the listed members (yuan)"),
                "labels": labels,
                "y_name": _("yuan"),
                "series": [{"name": _("value (yuan)"), "values": [counts[k]["value_fen"] / 100 for k in kinds]}],
                "links": links,
            },
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/targets/{month}/evaluation")
def evaluation(request: Request, month: str = MONTH, user: User = Depends(page_user("targets:read"))):
    """The lift section of the target page (an htmx fragment): treated against control with the interval."""
    try:
        result, error = targets_service.evaluate(_data(request), month, fit_uplift=False), None
    except ChurnError as exc:  # rendered in the page's language by the template
        result, error = None, exc
    return fragment(request, "_target_evaluation.html", month=month, result=result, error=error)
