"""The member archive collected by staff and their notes over the API (issue 20 §5; issue 18 §3), the same services
and checks as the member 360 (docs/console.md, *Counter and member 360*; docs/member-intake.md, *Archive
corrections*): read a member's archive fields with the history of their corrections, correct fields (only what
changed is stored, each change with who, when, old and new, audited), read and add notes. The second contact is
masked unless the role sees numbers (``PII_ROLES``); such a view is written to the audit log."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from weixi.adapters import archive as archive_files
from weixi.api.auth import require
from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import plan_today
from weixi.errors import NotFound
from weixi.ledger import queries
from weixi.members import archive, notes, pii, pii_audit
from weixi.users.service import User

router = APIRouter(prefix="/api", tags=["members"])
MEMBER = Path(min_length=1, max_length=128)


class ArchiveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fields: dict[str, str | None] = Field(
        min_length=1,
        max_length=len(archive.FIELDS),
        description="Field -> new value (an empty value clears it): email, qq, wechat, second_contact, birthday "
        "(YYYY-MM-DD), lunar_birthday (农历三月初五), hobbies, personality, family_notes.",
    )
    source: Literal["member_360", "task", "counter"] = "member_360"
    task_id: str | None = Field(None, max_length=200, description="The task the facts were learned on.")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=notes.MAX_LENGTH)


def _profile(request: Request, member_id: str) -> dict:
    """The member's archive row ({} for a member known only to the ledger); 404 for an unknown member."""
    state = request.app.state
    row = archive_files.members_lookup(state.data_dir, member_id)
    if row is None and queries.balance(state.engine, member_id, plan_today(state.engine)) is None:
        raise NotFound("unknown_member", member=member_id)
    return row or {}


def _view(request: Request, user: User, member_id: str, profile: dict) -> dict:
    engine = request.app.state.engine
    reveal = pii_unmasked(user.role)
    current = archive.overlay(profile, archive.latest(engine, member_id)) or {}
    values = {f.name: current.get(f.name) for f in archive.FIELDS}
    values = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in values.items()}
    history = [
        {
            **h,
            "old": pii.mask_value(h["field"], h["old"], reveal),
            "new": pii.mask_value(h["field"], h["new"], reveal),
            "at": h["at"].isoformat() if hasattr(h["at"], "isoformat") else str(h["at"]),
        }
        for h in archive.history(engine, member_id)
    ]
    if reveal and values.get("second_contact"):
        pii_audit.record(engine, user, "member_archive", [member_id], fields=["second_contact"])
    return {"member_id": member_id, "fields": pii.mask_row(values, reveal), "history": history}


@router.get("/members/{member_id}/archive")
def read_archive(request: Request, member_id: str = MEMBER, user: User = Depends(require("members:search"))) -> dict:
    """The archive fields staff collect (the CRM's file with the latest corrections laid over it) and the history
    of the corrections, newest first."""
    return _view(request, user, member_id, _profile(request, member_id))


@router.patch("/members/{member_id}/archive")
def correct_archive(
    request: Request, body: ArchiveIn, member_id: str = MEMBER, user: User = Depends(require("members:archive"))
) -> dict:
    """Correct archive fields: each value is checked (422 with its code: ``archive_email_invalid``,
    ``archive_birthday_out_of_range``, ...; one bad value stores nothing); only what changed is stored and audited
    (``member.archive``). Answers ``changed`` (the fields stored) and the archive as it now is."""
    engine = request.app.state.engine
    profile = _profile(request, member_id)
    current = archive.overlay(profile, archive.latest(engine, member_id)) or {}
    made = archive.correct(engine, user, member_id, current, body.fields, plan_today(engine), body.source, body.task_id)
    return {"changed": [m["field"] for m in made], **_view(request, user, member_id, profile)}


@router.get("/members/{member_id}/notes")
def read_notes(request: Request, member_id: str = MEMBER, user: User = Depends(require("members:search"))) -> dict:
    """Staff notes on the member, newest first."""
    _profile(request, member_id)
    rows = notes.of_member(request.app.state.engine, member_id)
    return {"member_id": member_id, "notes": [{**n, "at": str(n["at"])} for n in rows]}


@router.post("/members/{member_id}/notes", status_code=201)
def add_note(
    request: Request, body: NoteIn, member_id: str = MEMBER, user: User = Depends(require("members:note"))
) -> dict:
    """Add a note (never edited afterwards; audited as ``member.note``)."""
    _profile(request, member_id)
    done = notes.add(request.app.state.engine, user, member_id, body.body)
    return {**done, "at": done["at"].isoformat()}
