"""Questionnaires (调研): create a survey from its file, send it through the outbox, collect answers, read the
satisfaction figures. Thin adapters over :mod:`weixi.operations.surveys`; who acts is the logged-in user."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from weixi.api.auth import require
from weixi.api.routes.common import engine_of
from weixi.operations import surveys
from weixi.users.service import User, audit

router = APIRouter(prefix="/api/surveys", tags=["surveys"])
SURVEY = Path(min_length=1, max_length=64, description="Survey id (the file's `survey:` key).")
REFUSED = {404: {"description": "unknown survey"}, 409: {"description": "refused: the code and params say why"}}


class SurveyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=100_000, description="The survey file (YAML, `kind: survey`).")
    filename: str = Field("survey.yaml", min_length=1, max_length=200, pattern=r"^[^/\\\x00]+$")


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    day: date | None = Field(None, description="The day of the invitation (default today).")
    members: list[str] | None = Field(None, max_length=100_000, description="These members instead of the audience.")


class AnswersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: str = Field(min_length=1, max_length=128)
    answers: dict[str, int | str] = Field(description="Question id -> a rating's score, a choice's option or text.")


@router.post("", status_code=201, responses=REFUSED)
def create(body: SurveyFile, request: Request, user: User = Depends(require("surveys:send"))) -> dict:
    """Keep a checked survey; the same id again with other content is refused (409)."""
    engine = engine_of(request)
    out = surveys.save_survey(engine, body.text, body.filename, user.username)
    audit(engine, user, "survey.create", out["survey_id"], {"filename": body.filename})
    return out


@router.post("/{survey_id}/send", responses=REFUSED)
def send(
    request: Request, body: SendIn | None = None, survey_id: str = SURVEY, user: User = Depends(require("surveys:send"))
) -> dict:
    """Queue the invitation through the outbox for the survey's audience (or ``members``), once per member,
    within each member's consents."""
    from weixi.operations.clock import today

    engine = engine_of(request)
    body = body or SendIn()
    out = surveys.send_survey(engine, request.app.state.data_dir, survey_id, body.day or today(engine), body.members)
    audit(engine, user, "survey.send", survey_id, {k: v for k, v in out.items() if k != "survey_id"})
    return out


@router.post("/{survey_id}/answers", responses=REFUSED)
def answer(
    body: AnswersIn, request: Request, survey_id: str = SURVEY, user: User = Depends(require("surveys:answer"))
) -> dict:
    """Record a member's answers (all checked before any is kept); a complete questionnaire posts the member's
    ``survey`` event to the ledger once."""
    engine = engine_of(request)
    out = surveys.record_answers(engine, survey_id, body.member_id, body.answers, user.username)
    audit(engine, user, "survey.answer", survey_id, {"member": body.member_id, "questions": sorted(body.answers)})
    return out


@router.get("/{survey_id}/satisfaction", responses=REFUSED)
def satisfaction(
    request: Request,
    survey_id: str = SURVEY,
    month: str | None = Query(
        None, pattern=r"^(20\d{2}|2100)-(0[1-9]|1[0-2])$", description="Per manager of this month's assignment."
    ),
    user: User = Depends(require("surveys:read")),
) -> dict:
    """Responses, average score, share satisfied and the distribution of the survey's satisfaction question;
    with ``month``, per customer manager (what a staff scorecard reads)."""
    return surveys.satisfaction(engine_of(request), survey_id, request.app.state.data_dir, month)
