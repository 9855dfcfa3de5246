"""Churn early warning and retention target lists: risk distribution, reasons, scored members, churn models
and their reports, target lists with filters and their CSV/XLSX export, building a month's lists, and the
treated-versus-control evaluation with the lift and its confidence interval. Refusals propagate as coded errors
(:mod:`weixi.churn.errors`): a month not scored or without lists, or an unknown model version, is a 404; data not
ready yet (outcomes still to come, no labels) a 409; bad input a 422."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from weixi.api.auth import require
from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import engine_of
from weixi.errors import Forbidden
from weixi.targets import reports
from weixi.targets import service as targets_service
from weixi.users.service import User, audit

router = APIRouter(prefix="/api", tags=["retention"])

MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="The month, YYYY-MM.", examples=["2026-08"])
VERSION = Path(ge=1, le=99_999, description="Model version, as in `weixi churn models`.")
Band = Literal["high", "medium", "low"]
BAND = Query(None, description="Risk band: high = deciles 1-2, medium = 3-5, low = 6-10.")
LIST = Query(None, description="Only these lists (repeat): expiring, high_risk, silent, winback.")
SEGMENT = Query(
    None, min_length=1, max_length=64, description="Segment: the stratum after the list, e.g. A or risk_q2."
)
MANAGER = Query(None, min_length=1, max_length=128, description="Only the members of this customer manager.")
GROUP = Query("treatment", description="treatment (to be called), control (not called) or all.")
ListName = Literal["expiring", "high_risk", "silent", "winback"]
Group = Literal["treatment", "control", "all"]


def _data(request: Request):
    return request.app.state.data_dir


# --- churn ----------------------------------------------------------------------------------------------------


@router.get("/churn/months", tags=["retention"])
def churn_months(request: Request, user: User = Depends(require("churn:read"))) -> dict:
    """Months with churn scores, newest first."""
    return {"months": reports.scored_months(_data(request))}


@router.get("/churn/{month}/distribution")
def distribution(request: Request, month: str = MONTH, user: User = Depends(require("churn:read"))) -> dict:
    """Risk distribution of the month: members by probability bin and by risk decile; expected leavers."""
    return reports.distribution(_data(request), month)


@router.get("/churn/{month}/reasons")
def reasons(
    request: Request, month: str = MONTH, band: Band | None = BAND, user: User = Depends(require("churn:read"))
) -> dict:
    """Reasons breakdown: per reason, members who have it among their three and as their first, with an
    example wording (English and Chinese)."""
    return reports.reasons(_data(request), month, band)


@router.get("/churn/{month}/scores")
def scores(
    request: Request,
    month: str = MONTH,
    band: Band | None = BAND,
    reason: str | None = Query(None, min_length=1, max_length=64, description="A reason feature, e.g. portout_30d."),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=100_000_000),
    user: User = Depends(require("churn:read")),
) -> dict:
    """Scored members, riskiest first: calibrated probability, risk decile and three reasons."""
    return reports.scored_members(_data(request), month, band, reason, limit, offset)


@router.get("/churn/models")
def models(request: Request, user: User = Depends(require("churn:read"))) -> dict:
    """Stored churn model versions with their cross-validated metrics."""
    from weixi.churn import service as churn

    return {"models": churn.list_models(_data(request))}


@router.get("/churn/models/{version}")
def model(request: Request, version: int = VERSION, user: User = Depends(require("churn:read"))) -> dict:
    """One model version: what it was trained on, metrics, candidates, calibration bins, lift table, importance."""
    return reports.model(_data(request), version)


@router.get("/churn/models/{version}/report", response_class=HTMLResponse)
def model_report(request: Request, version: int = VERSION, user: User = Depends(require("churn:read"))):
    """The model's standalone HTML report (metrics and the calibration, lift and importance charts), as a download."""
    html = reports.model_report(_data(request), version)
    return HTMLResponse(
        html, headers={"Content-Disposition": f'attachment; filename="churn-model-v{version:04d}.html"'}
    )


# --- target lists ---------------------------------------------------------------------------------------------


@router.get("/targets/months")
def target_months(request: Request, user: User = Depends(require("targets:read"))) -> dict:
    """Months with built target lists, newest first."""
    return {"months": reports.built_months(_data(request))}


@router.get("/targets/{month}")
def target_lists(
    request: Request,
    month: str = MONTH,
    list: list[ListName] | None = LIST,
    segment: str | None = SEGMENT,
    band: Band | None = BAND,
    manager: str | None = MANAGER,
    group: Group = GROUP,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=100_000_000),
    user: User = Depends(require("targets:read")),
) -> dict:
    """The month's target lists filtered by list, segment, risk band, manager and group, in priority order
    (phone numbers are in the export only), with counts per list and the values each filter can take."""
    return reports.target_rows(_data(request), month, list, segment, band, manager, group, limit, offset)


@router.get(
    "/targets/{month}/export",
    responses={
        200: {"content": {"text/csv": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    },
)
def target_export(
    request: Request,
    month: str = MONTH,
    format: Literal["csv", "xlsx"] = Query("csv"),
    list: list[ListName] | None = LIST,
    segment: str | None = SEGMENT,
    band: Band | None = BAND,
    manager: str | None = MANAGER,
    group: Group = GROUP,
    reveal: bool = Query(False, description="Phone numbers in clear: roles admin, manager and agent only; audited."),
    user: User = Depends(require("targets:export")),
) -> Response:
    """The filtered lists for the outbound centre as CSV (UTF-8 with BOM) or XLSX: priority, member, masked
    phone, list, status, probability, value, offer, reasons in both languages, manager."""
    if reveal and not pii_unmasked(user.role):
        raise Forbidden("pii_forbidden", role=user.role)
    data, _ = reports.export_targets_audited(
        engine_of(request), _data(request), user, month, format, list, segment, band, manager, group, reveal
    )
    media = (
        "text/csv; charset=utf-8"
        if format == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="targets-{month}.{format}"'}
    )


class BuildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: Literal["risk", "uplift"] = "risk"


@router.post("/targets/{month}/build")
def build(
    request: Request, month: str = MONTH, body: BuildIn | None = None, user: User = Depends(require("targets:build"))
) -> dict:
    """Build the month's target lists from its churn scores with the packaged retention plan (as `weixi targets
    build --month M`); a rebuild gives the same lists and control group."""
    order = (body or BuildIn()).order
    out = targets_service.build(_data(request), month, None, order)
    audit(engine_of(request), user, "targets.build", month, {"order": order, "members": out["members"]})
    return out


@router.get("/targets/{month}/evaluation")
def evaluation(request: Request, month: str = MONTH, user: User = Depends(require("targets:read"))) -> dict:
    """Treated against control over the two months after the list (intent to treat): churn rates, lift with
    its 95% interval, revenue, per list and overall. Reads only (the uplift model is fitted by the CLI)."""
    return targets_service.evaluate(_data(request), month, fit_uplift=False)
