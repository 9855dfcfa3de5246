"""Retention pages: the month's risk distribution and reasons breakdown with the forms that train a churn model and
score a month (:mod:`weixi.console.analyst_jobs` runs them), churn models with their report (metrics and the
calibration, lift and importance charts, drawn in the reader's language), and the treated-versus-control lift.
The target lists are in :mod:`weixi.console.targets_pages`. Thin over :mod:`weixi.targets.reports`."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from weixi import i18n
from weixi.churn import service as churn_service
from weixi.console.analyst_jobs import STATUS_NAMES, STEP_NAMES, recent_jobs
from weixi.console.guard import may, page_user
from weixi.console.render import page, translator
from weixi.names import display
from weixi.operations.clock import local
from weixi.plans.service import plan_zone
from weixi.targets import jobs, reports
from weixi.users.service import User

router = APIRouter()
MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
MONTH_Q = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
Band = Literal["high", "medium", "low"]
DECILE_BAND = {d: "high" if d <= 2 else "medium" if d <= 5 else "low" for d in range(1, 11)}
NO_STORE = {"Cache-Control": "no-store"}


def _data(request: Request):
    return request.app.state.data_dir


def _local(request: Request, moment: str | None) -> str:
    """A recorded moment (ISO 8601, UTC) in the operator's timezone, to the minute."""
    if not moment:
        return ""
    return local(moment, plan_zone(request.app.state.engine)).strftime("%Y-%m-%d %H:%M")


def members_link(**filters) -> str:
    """The member list filtered as a chart's figure (the list's filters: tier, star, value, activity, band, …)."""
    return "/members?" + urlencode({k: v for k, v in filters.items() if v not in (None, "")})


@router.get("/retention")
def risk(
    request: Request,
    month: str | None = MONTH_Q,
    band: Band | Literal[""] | None = None,
    user: User = Depends(page_user("churn:read")),
):
    band = band or None  # the form's "every member"
    months = reports.scored_months(_data(request))
    month = month or (months[0] if months else None)
    dist = reasons = None
    if month is not None:
        dist = reports.distribution(_data(request), month)
        reasons = reports.reasons(_data(request), month, band)
    models = [
        {**m, "trained_local": _local(request, m.get("trained_at"))} for m in churn_service.list_models(_data(request))
    ]
    may_train = may(user, "churn:train")
    recent = recent_jobs(request) if may_train else []
    return page(
        request,
        "retention.html",
        user,
        months=months,
        month=month,
        band=band,
        dist=dist,
        reasons=reasons,
        models=models,
        operator_models=[m for m in models if (m.get("source") or "").startswith("operator")],
        may_train=may_train,
        job_months=jobs.months(_data(request)) if may_train else None,
        jobs=recent,
        running=next((j for j in recent if j["status"] == "running"), None),
        statuses=STATUS_NAMES,
        step_labels={k: translator(request)(v) for k, v in STEP_NAMES.items()},
        timezone=str(plan_zone(request.app.state.engine)),
    )


@router.get("/retention/{month}/data.json")
def risk_data(
    request: Request, month: str = MONTH, band: Band | None = None, user: User = Depends(page_user("churn:read"))
):
    """The page's charts: members by probability, mean probability by decile (a bar opens the members of its risk
    band), the reasons (feature names in the reader's language). One unit per axis."""
    _ = translator(request)
    locale = i18n.locale_of(request)
    dist = reports.distribution(_data(request), month)
    found = reports.reasons(_data(request), month, band)["reasons"][:12]
    data = {
        "bins": {
            "title": _("Members by churn probability"),
            "labels": [f"{b['from_pct']:g}–{b['to_pct']:g}%" for b in dist["bins"]],
            "x_name": _("churn probability"),
            "y_name": _("members"),
            "series": [{"name": _("members"), "values": [b["members"] for b in dist["bins"]]}],
        },
        "deciles": {
            "title": _("Mean churn probability by risk decile (%)"),
            "labels": [_("decile %(d)s") % {"d": d["decile"]} for d in dist["deciles"]],
            "x_name": _("risk decile (1 = highest risk)"),
            "y_name": _("mean probability (%)"),
            "series": [
                {
                    "name": _("mean probability (%)"),
                    "values": [round(d["mean_probability"] * 100, 2) for d in dist["deciles"]],
                }
            ],
            "links": [members_link(band=DECILE_BAND.get(d["decile"])) for d in dist["deciles"]],
            "hint": _("Click a bar to open the members of its risk band."),
        },
        "reasons": {
            "title": _("Reasons"),
            "labels": [display("churn_feature", r["feature"], locale) for r in found],
            "horizontal": True,
            "x_name": _("members"),
            "series": [
                {"name": _("among the three reasons"), "values": [r["members"] for r in found]},
                {"name": _("first reason"), "values": [r["first"] for r in found]},
            ],
        },
    }
    return JSONResponse(data, headers=NO_STORE)


@router.get("/retention/models/{version}")
def model(request: Request, version: int = Path(ge=1, le=99_999), user: User = Depends(page_user("churn:read"))):
    meta = reports.model(_data(request), version)
    locale = i18n.locale_of(request)
    return page(
        request,
        "churn_model.html",
        user,
        version=version,
        meta=meta,
        m=meta["metrics"],
        features=[display("churn_feature", f, locale) for f in meta.get("features", [])],
        trained_local=_local(request, meta.get("trained_at")),
        timezone=str(plan_zone(request.app.state.engine)),
    )


@router.get("/retention/models/{version}/data.json")
def model_data(request: Request, version: int = Path(ge=1, le=99_999), user: User = Depends(page_user("churn:read"))):
    """The model report's charts in the reader's language: calibration (predicted against observed, in percent),
    lift by risk decile (lift on one axis, cumulative capture in percent on the other), feature importance."""
    _ = translator(request)
    locale = i18n.locale_of(request)
    meta = reports.model(_data(request), version)
    cal = meta.get("calibration") or []
    lift = meta.get("lift") or []
    imp = (meta.get("importance") or [])[:15]
    return JSONResponse(
        {
            "calibration": {
                "title": _("Calibration: observed churn rate against predicted probability"),
                "x_name": _("mean predicted probability (%)"),
                "y_name": _("observed churn rate (%)"),
                "diagonal_name": _("perfect calibration"),
                "points_name": _("groups of members"),
                "points": [[round(b["predicted"] * 100, 2), round(b["observed"] * 100, 2), b["rows"]] for b in cal],
                "rows_name": _("members"),
            },
            "lift": {
                "title": _("Lift and capture by risk decile"),
                "labels": [str(d["decile"]) for d in lift],
                "x_name": _("risk decile (1 = highest risk)"),
                "lift_name": _("lift over the base rate (times)"),
                "lift": [round(d["lift"], 2) for d in lift],
                "capture_name": _("cumulative capture of leavers (%)"),
                "capture": [round(d["capture"] * 100, 1) for d in lift],
            },
            "importance": {
                "title": _("Feature importance (drop in ROC-AUC when shuffled)"),
                "labels": [display("churn_feature", r["feature"], locale) for r in imp],
                "horizontal": True,
                "x_name": _("drop in ROC-AUC"),
                "series": [{"name": _("drop in ROC-AUC"), "values": [round(r["importance"], 4) for r in imp]}],
            },
        },
        headers=NO_STORE,
    )
