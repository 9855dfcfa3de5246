"""Staff notes on a member (issue 18 §3, member 360: "add a note"): free text, who and when, newest first. A note
is never edited or deleted (a correction is a new note); adding one is written to the audit log (``member.note``)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.errors import Invalid, Where
from weixi.users.service import User, audit

MAX_LENGTH = 2000
ACTION = "member.note"


class NoteInvalid(Invalid, ValueError):
    """A note that cannot be kept (empty, too long)."""


def add(engine: Engine, user: User | None, member_id: str, body: str, now: datetime | None = None) -> dict:
    text = (body or "").strip()
    if not text:
        raise NoteInvalid("member_note_empty", Where(field="body"))
    if len(text) > MAX_LENGTH:
        raise NoteInvalid("member_note_too_long", Where(field="body"), limit=MAX_LENGTH, length=len(text))
    at = now or datetime.now(timezone.utc)
    by = user.username if user is not None else None
    with engine.begin() as conn:
        execute(
            conn,
            "INSERT INTO member_notes (member_id, body, created_by, created_at) VALUES (?,?,?,?)",
            [member_id, text, by, at],
        )
    audit(engine, user, ACTION, member_id, {"length": len(text)})
    return {"member_id": member_id, "body": text, "by": by, "at": at}


def of_member(engine: Engine, member_id: str, limit: int = 50) -> list[dict]:
    """The member's notes, newest first."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT body, created_by, created_at FROM member_notes WHERE member_id = ? ORDER BY id DESC LIMIT ?",
            [member_id, int(limit)],
        )
    return [{"body": r[0], "by": r[1], "at": r[2]} for r in rows]
