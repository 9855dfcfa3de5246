"""Retention pages: the month's risk distribution and reasons breakdown, churn models with their report (metrics
and the calibration, lift and importance charts), target lists with filters and export links, and the
treated-versus-control lift with its confidence interval. Thin over
:mod:`weixi.targets.reports` and :mod:`weixi.targets.service`."""

from __future__ import annotations

import base64
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from weixi.churn import service as churn_service
from weixi.churn.errors import ChurnError
from weixi.console.guard import may, page_user
from weixi.console.render import fragment, page, translator
from weixi.operations.clock import local
from weixi.plans.service import plan_zone
from weixi.targets import reports
from weixi.targets import service as targets_service
from weixi.users.service import User

router = APIRouter()
MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
MONTH_Q = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
Band = Literal["high", "medium", "low"]
ListName = Literal["expiring", "high_risk", "silent", "winback"]
ROWS = 200  # list rows shown on the page; the export has them all


def _data(request: Request):
    return request.app.state.data_dir


def _local(request: Request, moment: str | None) -> str:
    """A recorded moment (ISO 8601, UTC) in the operator's timezone, to the minute."""
    if not moment:
        return ""
    return local(moment, plan_zone(request.app.state.engine)).strftime("%Y-%m-%d %H:%M")


@router.get("/retention")
def risk(
    request: Request,
    month: str | None = MONTH_Q,
    band: Band | None = None,
    user: User = Depends(page_user("churn:read")),
):
    months = reports.scored_months(_data(request))
    month = month or (months[0] if months else None)
    dist = reasons = None
    if month is not None:
        dist = reports.distribution(_data(request), month)
        reasons = reports.reasons(_data(request), month, band)
    return page(
        request,
        "retention.html",
        user,
        months=months,
        month=month,
        band=band,
        dist=dist,
        reasons=reasons,
        models=[
            {**m, "trained_local": _local(request, m.get("trained_at"))}
            for m in churn_service.list_models(_data(request))
        ],
        timezone=str(plan_zone(request.app.state.engine)),
    )


@router.get("/retention/{month}/data.json")
def risk_data(
    request: Request, month: str = MONTH, band: Band | None = None, user: User = Depends(page_user("churn:read"))
):
    _ = translator(request)
    dist = reports.distribution(_data(request), month)
    found = reports.reasons(_data(request), month, band)["reasons"][:12]
    data = {
        "bins": {
            "title": _("Members by churn probability"),
            "labels": [f"{b['from_pct']:g}–{b['to_pct']:g}%" for b in dist["bins"]],
            "series": [{"name": _("members"), "values": [b["members"] for b in dist["bins"]]}],
        },
        "deciles": {
            "title": _("Mean churn probability by risk decile (%)"),
            "labels": [str(d["decile"]) for d in dist["deciles"]],
            "series": [
                {
                    "name": _("mean probability (%)"),
                    "values": [round(d["mean_probability"] * 100, 2) for d in dist["deciles"]],
                }
            ],
        },
        "reasons": {
            "title": _("Reasons"),
            "labels": [r["feature"] for r in found],
            "horizontal": True,
            "series": [
                {"name": _("among the three reasons"), "values": [r["members"] for r in found]},
                {"name": _("first reason"), "values": [r["first"] for r in found]},
            ],
        },
    }
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/retention/models/{version}")
def model(request: Request, version: int = Path(ge=1, le=99_999), user: User = Depends(page_user("churn:read"))):
    meta = reports.model(_data(request), version)
    charts = {
        k: "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
        for k, svg in reports.model_charts(meta).items()
    }
    return page(
        request,
        "churn_model.html",
        user,
        version=version,
        meta=meta,
        m=meta["metrics"],
        charts=charts,
        trained_local=_local(request, meta.get("trained_at")),
        timezone=str(plan_zone(request.app.state.engine)),
    )


def _filters(lists, segment, band, manager, group) -> dict:
    return {"list": lists or [], "segment": segment, "band": band, "manager": manager, "group": group}


def _query(filters: dict, **extra) -> str:
    pairs = [("list", x) for x in filters["list"]]
    pairs += [(k, v) for k, v in filters.items() if k != "list" and v]
    pairs += [(k, v) for k, v in extra.items() if v]
    return urlencode(pairs)


@router.get("/targets")
def targets(
    request: Request,
    month: str | None = MONTH_Q,
    list: list[ListName] | None = Query(None),
    segment: str | None = Query(None, max_length=64),
    band: Band | None = None,
    manager: str | None = Query(None, max_length=128),
    group: Literal["treatment", "control", "all"] = "treatment",
    user: User = Depends(page_user("targets:read")),
):
    months = reports.built_months(_data(request))
    month = month or (months[0] if months else None)
    filters = _filters(list, segment or None, band, manager or None, group)
    found = None
    if month is not None:
        found = reports.target_rows(
            _data(request), month, filters["list"] or None, filters["segment"], band, filters["manager"], group, ROWS
        )
    return page(
        request,
        "targets.html",
        user,
        months=months,
        month=month,
        filters=filters,
        found=found,
        rows_shown=ROWS,
        may_export=may(user, "targets:export"),
        csv_query=_query(filters, format="csv"),
        xlsx_query=_query(filters, format="xlsx"),
    )


@router.get("/targets/{month}/evaluation")
def evaluation(request: Request, month: str = MONTH, user: User = Depends(page_user("targets:read"))):
    """The lift section of the target page (an htmx fragment): treated against control with the interval."""
    try:
        result, error = targets_service.evaluate(_data(request), month, fit_uplift=False), None
    except ChurnError as exc:  # rendered in the page's language by the template
        result, error = None, exc
    return fragment(request, "_target_evaluation.html", month=month, result=result, error=error)
