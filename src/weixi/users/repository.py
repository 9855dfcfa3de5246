"""Where users, API tokens, console sessions, login attempts and the audit log are kept: the port the use cases of
:mod:`weixi.users.service` talk to (:class:`UserRepository`) and its SQL implementation (:class:`SqlUsers`).

Secrets never reach a repository: tokens and session ids arrive as their SHA-256 digest, passwords as their hash.
A test of the use cases gives the service an in-memory repository instead (``tests/unit/users/fakes.py``).
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import Engine

from weixi.adapters.sql import as_bool, execute, is_pg


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    member_id: str | None = None
    active: bool = True
    staff_id: str | None = None  # the login's staff id on the roster; None: the username is the staff id

    @property
    def staff(self) -> str:
        """The staff id this login acts as (its statements, its queue, its roster role): ``staff_id``, else the
        username."""
        return self.staff_id or self.username


@dataclass(frozen=True)
class TokenRow:
    user: User
    token_id: int
    last_used_at: datetime | None


class UserRepository(Protocol):
    """What the user use cases need from storage (one call, one transaction)."""

    def find(self, username: str) -> tuple[User, str] | None:
        """The user and their password hash."""

    def add(self, username: str, password_hash: str, role: str, member_id: str | None, at: datetime) -> User | None:
        """A new user, or None when the username is taken (checked in the same transaction)."""

    def all(self) -> list[User]: ...

    def staff_check(self, staff_id: str, username: str) -> tuple[bool, str | None]:
        """Whether ``staff_id`` is on the staff roster, and the username of another login that acts as it (its
        ``staff_id``, or its username when it has none), if any."""

    def set_staff_id(self, username: str, staff_id: str | None) -> bool:
        """False when there is no such user."""

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        """False when there is no such user."""

    def set_active(self, username: str, active: bool) -> bool:
        """False when there is no such user; deactivating ends the user's sessions."""

    def failures(self, username: str, client_ip: str, since: datetime) -> tuple[int, datetime | None]:
        """Failed logins of ``username`` from ``client_ip`` after ``since``, and the oldest of them."""

    def reserve_attempt(self, username: str, client_ip: str, since: datetime, now: datetime, check) -> None:
        """In one write transaction: ``check(*failures)`` (which raises to refuse), then count this attempt as a
        failure, and forget attempts older than twice the window."""

    def clear_failures(self, username: str, client_ip: str) -> None: ...

    def add_token(self, digest: str, user: User, name: str | None, at: datetime) -> None: ...

    def revoke_token(self, digest: str, at: datetime) -> bool:
        """True when a live token was revoked."""

    def token(self, digest: str) -> TokenRow | None:
        """The live token with this digest and its user."""

    def touch_token(self, token_id: int, at: datetime) -> None: ...

    def add_session(self, digest: str, user: User, csrf: str, at: datetime, expires: datetime) -> None:
        """A new session; expired sessions are removed."""

    def session(self, digest: str) -> tuple[User, str, datetime] | None:
        """The user, CSRF token and expiry of a session."""

    def end_session(self, digest: str) -> None: ...

    def audit(self, at: datetime, user: User | None, action: str, subject: str | None, detail: Any) -> None: ...

    def audit_entries(self, limit: int, action: str | None, username: str | None) -> list[dict]: ...


def ts(value: Any) -> datetime | None:
    """A stored moment as an aware datetime (SQLite gives text or naive values, read as UTC)."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso_text(value: Any) -> str | None:
    moment = ts(value)
    return moment.isoformat() if moment else None


USER_COLS = "id, username, role, member_id, active, staff_id"
_JOINED = "u.id, u.username, u.role, u.member_id, u.active, u.staff_id"
_N = 6  # the columns of a user


def _user(row) -> User:
    return User(int(row[0]), row[1], row[2], row[3], as_bool(row[4]), row[5])


class SqlUsers:
    """:class:`UserRepository` on the Weixi database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def _ro(self):
        return self.engine.connect().execution_options(readonly=True)

    def find(self, username: str) -> tuple[User, str] | None:
        with self._ro() as conn, conn.begin():
            rows = execute(conn, f"SELECT {USER_COLS}, password_hash FROM users WHERE username = ?", [username])
        return (_user(rows[0]), rows[0][_N]) if rows else None

    def add(self, username: str, password_hash: str, role: str, member_id: str | None, at: datetime) -> User | None:
        with self.engine.begin() as conn:
            if execute(conn, "SELECT 1 FROM users WHERE username = ?", [username]):
                return None
            execute(
                conn,
                "INSERT INTO users (username, password_hash, role, member_id, active, created_at) VALUES (?,?,?,?,?,?)",
                [username, password_hash, role, member_id, True, at],
            )
            return _user(execute(conn, f"SELECT {USER_COLS} FROM users WHERE username = ?", [username])[0])

    def all(self) -> list[User]:
        with self._ro() as conn, conn.begin():
            return [_user(r) for r in execute(conn, f"SELECT {USER_COLS} FROM users ORDER BY username")]

    def staff_check(self, staff_id: str, username: str) -> tuple[bool, str | None]:
        """On the operations roster (``ops_staff``, the one roster: ``weixi staff load``)?"""
        with self._ro() as conn, conn.begin():
            on = bool(execute(conn, "SELECT 1 FROM ops_staff WHERE staff_id = ?", [staff_id]))
            holder = execute(
                conn,
                "SELECT username FROM users WHERE (staff_id = ? OR (username = ? AND staff_id IS NULL))"
                " AND username <> ? ORDER BY username",
                [staff_id, staff_id, username],
            )
        return on, holder[0][0] if holder else None

    def set_staff_id(self, username: str, staff_id: str | None) -> bool:
        with self.engine.begin() as conn:
            if not execute(conn, "SELECT 1 FROM users WHERE username = ?", [username]):
                return False
            execute(conn, "UPDATE users SET staff_id = ? WHERE username = ?", [staff_id, username])
        return True

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        with self.engine.begin() as conn:
            if not execute(conn, "SELECT 1 FROM users WHERE username = ?", [username]):
                return False
            execute(conn, "UPDATE users SET password_hash = ? WHERE username = ?", [password_hash, username])
        return True

    def set_active(self, username: str, active: bool) -> bool:
        with self.engine.begin() as conn:
            rows = execute(conn, "SELECT id FROM users WHERE username = ?", [username])
            if not rows:
                return False
            execute(conn, "UPDATE users SET active = ? WHERE id = ?", [active, rows[0][0]])
            if not active:
                execute(conn, "DELETE FROM sessions WHERE user_id = ?", [rows[0][0]])
        return True

    # -- login attempts ------------------------------------------------------------------------------------

    @staticmethod
    def _failures(conn, username: str, client_ip: str, since: datetime) -> tuple[int, datetime | None]:
        n, oldest = execute(
            conn,
            "SELECT count(*), min(at) FROM login_attempts WHERE username = ? AND client_ip = ? AND ok = ? AND at > ?",
            [username, client_ip, False, since],
        )[0]
        return int(n), ts(oldest)

    def failures(self, username: str, client_ip: str, since: datetime) -> tuple[int, datetime | None]:
        with self._ro() as conn, conn.begin():
            return self._failures(conn, username, client_ip, since)

    def reserve_attempt(self, username: str, client_ip: str, since: datetime, now: datetime, check) -> None:
        """SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock on the username and address, so N concurrent
        attempts cannot all pass ``check``."""
        with self.engine.begin() as conn:
            if is_pg(conn):
                key = hashlib.sha256(f"weixi.login\0{username}\0{client_ip}".encode()).digest()[:8]
                execute(conn, "SELECT pg_advisory_xact_lock(?)", [struct.unpack(">q", key)[0]])
            check(*self._failures(conn, username, client_ip, since))
            execute(
                conn,
                "INSERT INTO login_attempts (username, client_ip, at, ok) VALUES (?,?,?,?)",
                [username, client_ip, now, False],
            )
            execute(conn, "DELETE FROM login_attempts WHERE at < ?", [since - (now - since)])

    def clear_failures(self, username: str, client_ip: str) -> None:
        with self.engine.begin() as conn:
            execute(conn, "DELETE FROM login_attempts WHERE username = ? AND client_ip = ?", [username, client_ip])

    # -- API tokens ----------------------------------------------------------------------------------------

    def add_token(self, digest: str, user: User, name: str | None, at: datetime) -> None:
        with self.engine.begin() as conn:
            execute(
                conn,
                "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES (?,?,?,?)",
                [digest, user.id, name, at],
            )

    def revoke_token(self, digest: str, at: datetime) -> bool:
        with self.engine.begin() as conn:
            rows = execute(conn, "SELECT id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL", [digest])
            if rows:
                execute(conn, "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [at, rows[0][0]])
        return bool(rows)

    def token(self, digest: str) -> TokenRow | None:
        with self._ro() as conn, conn.begin():
            rows = execute(
                conn,
                f"SELECT {_JOINED}, t.id, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id "
                "WHERE t.token_hash = ? AND t.revoked_at IS NULL",
                [digest],
            )
        return TokenRow(_user(rows[0]), int(rows[0][_N]), ts(rows[0][_N + 1])) if rows else None

    def touch_token(self, token_id: int, at: datetime) -> None:
        with self.engine.begin() as conn:
            execute(conn, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [at, token_id])

    # -- console sessions ----------------------------------------------------------------------------------

    def add_session(self, digest: str, user: User, csrf: str, at: datetime, expires: datetime) -> None:
        with self.engine.begin() as conn:
            execute(
                conn,
                "INSERT INTO sessions (session_hash, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
                [digest, user.id, csrf, at, expires],
            )
            execute(conn, "DELETE FROM sessions WHERE expires_at < ?", [at])

    def session(self, digest: str) -> tuple[User, str, datetime] | None:
        with self._ro() as conn, conn.begin():
            rows = execute(
                conn,
                f"SELECT {_JOINED}, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.session_hash = ?",
                [digest],
            )
        return (_user(rows[0]), rows[0][_N], ts(rows[0][_N + 1])) if rows else None

    def end_session(self, digest: str) -> None:
        with self.engine.begin() as conn:
            execute(conn, "DELETE FROM sessions WHERE session_hash = ?", [digest])

    # -- audit log -----------------------------------------------------------------------------------------

    def audit(self, at: datetime, user: User | None, action: str, subject: str | None, detail: Any) -> None:
        text = json.dumps(detail, ensure_ascii=False, default=str) if detail is not None else None
        with self.engine.begin() as conn:
            execute(
                conn,
                "INSERT INTO audit_log (at, username, role, action, subject, detail) VALUES (?,?,?,?,?,?)",
                [at, user.username if user else None, user.role if user else None, action, subject, text],
            )

    def audit_entries(self, limit: int, action: str | None, username: str | None) -> list[dict]:
        sql, params = "SELECT id, at, username, role, action, subject, detail FROM audit_log WHERE 1 = 1", []
        if action:
            sql += " AND action = ?"
            params.append(action)
        if username:
            sql += " AND username = ?"
            params.append(username)
        with self._ro() as conn, conn.begin():
            rows = execute(conn, sql + " ORDER BY id DESC LIMIT ?", [*params, int(limit)])
        return [
            {
                "id": int(r[0]),
                "at": iso_text(r[1]),
                "username": r[2],
                "role": r[3],
                "action": r[4],
                "subject": r[5],
                "detail": json.loads(r[6]) if r[6] else None,
            }
            for r in rows
        ]
