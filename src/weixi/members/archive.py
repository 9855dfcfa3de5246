"""Corrections of the member archive made by staff (issue 20 §5; seed 002: "电话拜访…收集客户生日、兴趣爱好、第二联系方式、
QQ及微信等", "客户经理需在关怀过程中对生日日期错误得客户重新进行资料录入"; 003: "顾客的…爱好、性格、…家庭情况").

The CRM's files stay the archive's system of record (:mod:`weixi.adapters.archive`); what staff learn on a call, at
the counter or on the member 360 is kept beside them in ``member_archive_edits``: one row per changed field with
who, when, the old and the new value, where it was entered (``source``) and the task it was learned on. The
member's current archive is the file row with the latest correction of each field laid over it
(:func:`overlay`). Every correction is also written to the audit log (``member.archive``), personal numbers masked.

Fields: :data:`FIELDS` (e-mail, QQ, WeChat, personality, family notes, hobbies, second contact, solar and lunar
birthday). A value is checked before it is stored; a refusal is an :class:`ArchiveInvalid` with its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.errors import Invalid, Where
from weixi.members import pii
from weixi.members.lunar import format_lunar, parse_lunar
from weixi.users.service import User, audit

SOURCES = ("member_360", "task", "counter")
ACTION = "member.archive"


class ArchiveInvalid(Invalid, ValueError):
    """A correction of the archive that cannot be stored (unknown field, malformed value)."""


@dataclass(frozen=True)
class ArchiveField:
    name: str
    kind: str  # text | email | qq | phone | date | lunar
    limit: int


FIELDS: tuple[ArchiveField, ...] = (
    ArchiveField("email", "email", 254),
    ArchiveField("qq", "qq", 12),
    ArchiveField("wechat", "wechat", 64),
    ArchiveField("second_contact", "phone", 20),
    ArchiveField("birthday", "date", 10),
    ArchiveField("lunar_birthday", "lunar", 16),
    ArchiveField("hobbies", "text", 200),
    ArchiveField("personality", "text", 500),
    ArchiveField("family_notes", "text", 1000),
)
BY_NAME = {f.name: f for f in FIELDS}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_QQ = re.compile(r"[1-9]\d{4,11}")
_WECHAT = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_PHONE = re.compile(r"\+?\d{5,20}")


def clean(field: str, value: str | None, today: date) -> str | None:
    """The value as stored (stripped; a date as ``YYYY-MM-DD``; a lunar birthday as ``农历三月初五``), None for an
    empty one (the field is cleared); refused with :class:`ArchiveInvalid` when malformed."""
    spec = BY_NAME.get(field)
    if spec is None:
        raise ArchiveInvalid("archive_field_unknown", Where(field=field), field=field, fields=list(BY_NAME))
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > spec.limit:
        raise ArchiveInvalid("archive_value_too_long", Where(field=field), field=field, limit=spec.limit)
    if spec.kind == "email" and not _EMAIL.fullmatch(text):
        raise ArchiveInvalid("archive_email_invalid", Where(field=field), value=text)
    if spec.kind == "qq" and not _QQ.fullmatch(text):
        raise ArchiveInvalid("archive_qq_invalid", Where(field=field), value=text)
    if spec.kind == "wechat" and not _WECHAT.fullmatch(text):
        raise ArchiveInvalid("archive_wechat_invalid", Where(field=field), value=text)
    if spec.kind == "phone":
        text = text.replace(" ", "").replace("-", "")
        if not _PHONE.fullmatch(text):
            raise ArchiveInvalid("archive_phone_invalid", Where(field=field), field=field)
    if spec.kind == "date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ArchiveInvalid("archive_birthday_invalid", Where(field=field), value=text) from None
        if day > today or day.year < 1900:
            raise ArchiveInvalid("archive_birthday_out_of_range", Where(field=field), day=day, today=today)
        text = day.isoformat()
    if spec.kind == "lunar":
        try:
            text = format_lunar(*parse_lunar(text))
        except ValueError:
            raise ArchiveInvalid("archive_lunar_birthday_invalid", Where(field=field), value=text) from None
    return text


def _text(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def latest(engine: Engine, member_id: str) -> dict[str, dict]:
    """The latest correction of each field of a member: ``{field: {"value", "at", "by", "source"}}``."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT field, new_value, changed_at, changed_by, source FROM member_archive_edits "
            "WHERE member_id = ? ORDER BY id",
            [member_id],
        )
    return {r[0]: {"value": r[1], "at": r[2], "by": r[3], "source": r[4]} for r in rows}


def overlay(profile: dict | None, corrections: dict[str, dict]) -> dict | None:
    """The archive row with the latest corrections laid over it (the row itself when there are none; None when
    there is neither a row nor a correction)."""
    if not corrections:
        return profile
    out = dict(profile or {})
    for field, c in corrections.items():
        out[field] = c["value"]
    return out


def history(engine: Engine, member_id: str, limit: int = 50) -> list[dict]:
    """The member's corrections, newest first: field, old and new value, who, when, where, the task."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT field, old_value, new_value, changed_by, changed_at, source, task_id FROM member_archive_edits "
            "WHERE member_id = ? ORDER BY id DESC LIMIT ?",
            [member_id, int(limit)],
        )
    keys = ("field", "old", "new", "by", "at", "source", "task_id")
    return [dict(zip(keys, r)) for r in rows]


def correct(
    engine: Engine,
    user: User | None,
    member_id: str,
    current: dict | None,
    changes: dict[str, str | None],
    today: date,
    source: str = "member_360",
    task_id: str | None = None,
    now: datetime | None = None,
) -> list[dict]:
    """Store the fields of ``changes`` whose value differs from ``current`` (the member's archive as shown, with
    its corrections: :func:`overlay`); returns the changes made (``field``, ``old``, ``new``), each one row in
    ``member_archive_edits`` and all of them one ``member.archive`` row in the audit log. Every value is checked
    first (:func:`clean`): one malformed value stores nothing."""
    if source not in SOURCES:
        raise ArchiveInvalid("archive_source_unknown", source=source, sources=list(SOURCES))
    cleaned = {field: clean(field, value, today) for field, value in changes.items()}
    current = current or {}
    made = []
    for field, new in cleaned.items():
        old = _text(current.get(field))
        if (old or None) != new:
            made.append({"field": field, "old": old, "new": new})
    if not made:
        return []
    at = now or datetime.now(timezone.utc)
    by = user.username if user is not None else None
    with engine.begin() as conn:
        for m in made:
            execute(
                conn,
                "INSERT INTO member_archive_edits (member_id, field, old_value, new_value, source, task_id, "
                "changed_by, changed_at) VALUES (?,?,?,?,?,?,?,?)",
                [member_id, m["field"], m["old"], m["new"], source, task_id, by, at],
            )
    shown = [
        {"field": m["field"], "old": pii.mask_value(m["field"], m["old"]), "new": pii.mask_value(m["field"], m["new"])}
        for m in made
    ]
    audit(engine, user, ACTION, member_id, {"source": source, "task_id": task_id, "changes": shown})
    return made
