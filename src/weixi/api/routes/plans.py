"""Plans: check a plan file with located errors, apply it as a new version, read the version history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.api.routes.common import engine_of
from weixi.errors import NotFound
from weixi.plans import service as plans
from weixi.plans.loader import load_plan_text
from weixi.users.service import User, audit

router = APIRouter(prefix="/api/plans", tags=["plans"])
MAX_PLAN_CHARS = 500_000


class PlanText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=MAX_PLAN_CHARS, description="The plan file (YAML), as text.")
    filename: str = Field(
        "plan.yaml",
        min_length=1,
        max_length=200,
        pattern=r"^[^/\\\x00]+$",
        description="Name shown in diagnostics and in the version history.",
    )


class Diagnostic(BaseModel):
    file: str
    line: int
    column: int
    severity: str
    code: str = Field(description="The code of the error catalogue (docs/errors.md).")
    params: dict = Field(description="The names and numbers in the message, by name.")
    message: str


class CheckOut(BaseModel):
    ok: bool
    errors: int
    warnings: int
    diagnostics: list[Diagnostic]


class AppliedOut(BaseModel):
    version: int
    plan: str
    sha256: str
    new: bool


@router.post("/check", response_model=CheckOut)
def check(body: PlanText, user: User = Depends(require("plans:check"))):
    """Check a plan: every problem with its line and column. ``ok`` is false when any is an error."""
    _, diags = load_plan_text(body.text, body.filename)
    errors = sum(1 for d in diags if d.is_error)
    return {
        "ok": errors == 0,
        "errors": errors,
        "warnings": len(diags) - errors,
        "diagnostics": [d.to_json() for d in diags],
    }


@router.post(
    "/apply",
    response_model=AppliedOut,
    status_code=201,
    responses={
        200: {"description": "the same content is already the active version"},
        409: {"description": "plan_stock_below_issued: a reward's stock is below the units issued"},
        422: {"description": "plan_invalid: details hold each diagnostic with its code, line and column"},
    },
)
def apply(body: PlanText, request: Request, response: Response, user: User = Depends(require("plans:apply"))):
    """Check and apply a plan as the new active version. Applying the active content again changes nothing."""
    engine = engine_of(request)
    applied = plans.apply_plan_text(engine, body.text, body.filename)  # a PlanError answers its code and details
    if not applied.new:
        response.status_code = 200
    else:
        audit(
            engine,
            user,
            "plan.apply",
            applied.plan_id,
            {"version": applied.version, "sha256": applied.sha256, "filename": body.filename},
        )
    return {"version": applied.version, "plan": applied.plan_id, "sha256": applied.sha256, "new": applied.new}


@router.get("/versions")
def versions(request: Request, user: User = Depends(require("plans:read"))) -> dict:
    """Every applied version, newest first; the active one has ``active: true``."""
    return {"versions": plans.versions(engine_of(request))}


@router.get("/versions/{version}")
def version(
    request: Request, version: int = Path(ge=1, le=2**31 - 1), user: User = Depends(require("plans:read"))
) -> dict:
    """One version with the exact plan text that was applied."""
    found = plans.version(engine_of(request), version)
    if found is None:
        raise NotFound("plan_version_not_found", version=version)
    return found
