"""What an administrator reads and does beyond :mod:`weixi.users.service`: a login's API tokens (listed and revoked by
id, the token itself never being stored), each login's last login, and the audit log searched by who, action,
member and period with a total for pagination.

Read and written in SQL on the Weixi database (SQLite or PostgreSQL); the console's users and audit pages use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.users.repository import iso_text, ts
from weixi.users.service import UnknownUser

PAGE_SIZE = 50


def _ro(engine: Engine):
    return engine.connect().execution_options(readonly=True)


def _user_id(conn, username: str) -> int:
    rows = execute(conn, "SELECT id FROM users WHERE username = ?", [username])
    if not rows:
        raise UnknownUser("unknown_user", username=username)
    return int(rows[0][0])


def tokens(engine: Engine, username: str) -> list[dict]:
    """The API tokens of ``username``, newest first: id, name, created, last used, revoked (None while live)."""
    with _ro(engine) as conn, conn.begin():
        uid = _user_id(conn, username)
        rows = execute(
            conn,
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY id DESC",
            [uid],
        )
    return [
        {"id": int(r[0]), "name": r[1], "created_at": ts(r[2]), "last_used_at": ts(r[3]), "revoked_at": ts(r[4])}
        for r in rows
    ]


def revoke_token_id(engine: Engine, username: str, token_id: int) -> bool:
    """Revoke the live token ``token_id`` of ``username``; False when it is not a live token of theirs."""
    with engine.begin() as conn:
        uid = _user_id(conn, username)
        rows = execute(
            conn, "SELECT id FROM api_tokens WHERE id = ? AND user_id = ? AND revoked_at IS NULL", [token_id, uid]
        )
        if rows:
            execute(conn, "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [datetime.now(timezone.utc), token_id])
    return bool(rows)


def last_logins(engine: Engine) -> dict[str, datetime]:
    """Each login's last successful login (from the audit log's ``login`` entries)."""
    with _ro(engine) as conn, conn.begin():
        rows = execute(
            conn, "SELECT username, MAX(at) FROM audit_log WHERE action = 'login' AND username IS NOT NULL GROUP BY 1"
        )
    return {r[0]: ts(r[1]) for r in rows}


@dataclass(frozen=True)
class AuditFilter:
    """Who (a username), what (an action code), which member (an id in the entry's subject or detail) and when
    (``since`` inclusive, ``until`` exclusive, both aware)."""

    who: str = ""
    action: str = ""
    member: str = ""
    since: datetime | None = None
    until: datetime | None = None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(f: AuditFilter) -> tuple[str, list]:
    sql, params = " WHERE 1 = 1", []
    if f.who:
        sql += " AND username = ?"
        params.append(f.who)
    if f.action:
        sql += " AND action = ?"
        params.append(f.action)
    if f.member:
        sql += " AND (subject = ? OR subject LIKE ? ESCAPE '\\' OR detail LIKE ? ESCAPE '\\')"
        params += [f.member, _like(f.member), _like(json.dumps(f.member))]
    if f.since is not None:
        sql += " AND at >= ?"
        params.append(f.since.astimezone(timezone.utc))
    if f.until is not None:
        sql += " AND at < ?"
        params.append(f.until.astimezone(timezone.utc))
    return sql, params


def search_audit(engine: Engine, f: AuditFilter, page: int = 1, size: int = PAGE_SIZE) -> tuple[int, list[dict]]:
    """The total of entries matching ``f`` and the ``page``-th ``size`` of them, newest first."""
    where, params = _where(f)
    offset = (max(page, 1) - 1) * size
    with _ro(engine) as conn, conn.begin():
        total = int(execute(conn, "SELECT COUNT(*) FROM audit_log" + where, params)[0][0])
        rows = execute(
            conn,
            "SELECT id, at, username, role, action, subject, detail FROM audit_log"
            + where
            + " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
            [*params, int(size), int(offset)],
        )
    return total, [
        {
            "id": int(r[0]),
            "at": ts(r[1]),
            "at_iso": iso_text(r[1]),
            "username": r[2],
            "role": r[3],
            "action": r[4],
            "subject": r[5],
            "detail": json.loads(r[6]) if r[6] else None,
        }
        for r in rows
    ]


def audit_actions(engine: Engine) -> list[str]:
    """The actions the audit log holds, for the filter's choices."""
    with _ro(engine) as conn, conn.begin():
        return [r[0] for r in execute(conn, "SELECT DISTINCT action FROM audit_log ORDER BY 1")]


def audit_usernames(engine: Engine) -> list[str]:
    """The usernames that appear in the audit log (deleted or renamed logins included)."""
    with _ro(engine) as conn, conn.begin():
        return [
            r[0] for r in execute(conn, "SELECT DISTINCT username FROM audit_log WHERE username IS NOT NULL ORDER BY 1")
        ]
