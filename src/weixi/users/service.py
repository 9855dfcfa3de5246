"""Users, roles, passwords, API tokens, console sessions, login rate limiting and the audit log.

Passwords are hashed with argon2id (argon2-cffi); a new password needs ``MIN_PASSWORD`` characters and a
zxcvbn score of ``MIN_SCORE`` (which refuses its 30,000 common passwords, repeats, sequences and the username).
API tokens and session ids are random 256-bit secrets of which only the SHA-256 is stored, so a copy of the
database does not let anyone log in. The login rate limit counts an attempt before its password is checked,
in one write transaction, so concurrent guesses cannot overtake it (several server processes included).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine

from weixi.adapters.sql import as_bool, execute, is_pg

ROLES = ("admin", "analyst", "manager", "agent", "clerk", "member")
ROLE_NAMES = {
    "admin": ("系统管理员", "administrator"),
    "analyst": ("会员价值分析师", "analyst"),
    "manager": ("客户经理", "customer manager"),
    "agent": ("外呼坐席", "outbound agent"),
    "clerk": ("营业员", "store clerk"),
    "member": ("会员", "member"),
}
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 10
MIN_SCORE = 2  # zxcvbn: at least ~10^6 guesses; every entry of its common-passwords list scores lower
SCORED_CHARS = 72  # zxcvbn refuses longer input; the first 72 characters are scored

LOGIN_WINDOW = timedelta(minutes=5)
LOGIN_MAX_FAILURES = 5
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "wx_"

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against for unknown usernames (made on first use: hashing costs ~50 ms)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("weixi-no-such-user")
    return _dummy_hash


class UserError(ValueError):
    """A user cannot be created or changed as asked (bad role, taken username, weak password...)."""


class WeakPassword(UserError):
    """The password is too short or too easy to guess (API code ``weak_password``)."""


class LoginRateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins: try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    member_id: str | None = None
    active: bool = True


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _ts(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


USER_COLS = "id, username, role, member_id, active"


def _user(row) -> User:
    return User(int(row[0]), row[1], row[2], row[3], as_bool(row[4]))


def _ro(engine: Engine):
    return engine.connect().execution_options(readonly=True)


def check_role(role: str, member_id: str | None) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "member" and not member_id:
        raise UserError("a member login needs --member-id: the member whose points it sees")
    if role != "member" and member_id:
        raise UserError(f"only member logins carry a member id, not role {role}")


def check_password(password: str, username: str | None = None) -> None:
    """Raise :class:`WeakPassword` unless ``password`` is long enough and not guessable (zxcvbn's estimate, which
    knows common passwords, words, names, keyboard patterns, repeats, sequences and ``username``)."""
    if len(password or "") < MIN_PASSWORD:
        raise WeakPassword(f"password too short: at least {MIN_PASSWORD} characters")
    from zxcvbn import zxcvbn  # loads its word lists on first use

    if zxcvbn(password[:SCORED_CHARS], user_inputs=[username] if username else [])["score"] < MIN_SCORE:
        raise WeakPassword("password too easy to guess (a common password, word, name or pattern): choose another")


def create_user(engine: Engine, username: str, password: str, role: str, member_id: str | None = None) -> User:
    if not USERNAME.match(username or ""):
        raise UserError(f"username {username!r} is not allowed: 2-64 letters, digits or _ . @ -")
    check_password(password, username)
    check_role(role, member_id)
    hashed = _hasher.hash(password)
    with engine.begin() as conn:
        if execute(conn, "SELECT 1 FROM users WHERE username = ?", [username]):
            raise UserError(f"username {username!r} is taken")
        execute(conn, "INSERT INTO users (username, password_hash, role, member_id, active, created_at) "
                      "VALUES (?,?,?,?,?,?)", [username, hashed, role, member_id, True, _now()])
        row = execute(conn, f"SELECT {USER_COLS} FROM users WHERE username = ?", [username])[0]
    return _user(row)


def get_user(engine: Engine, username: str) -> User | None:
    with _ro(engine) as conn, conn.begin():
        rows = execute(conn, f"SELECT {USER_COLS} FROM users WHERE username = ?", [username])
    return _user(rows[0]) if rows else None


def list_users(engine: Engine) -> list[User]:
    with _ro(engine) as conn, conn.begin():
        return [_user(r) for r in execute(conn, f"SELECT {USER_COLS} FROM users ORDER BY username")]


def set_password(engine: Engine, username: str, password: str) -> None:
    check_password(password, username)
    with engine.begin() as conn:
        if not execute(conn, "SELECT 1 FROM users WHERE username = ?", [username]):
            raise UserError(f"unknown user {username!r}")
        execute(conn, "UPDATE users SET password_hash = ? WHERE username = ?", [_hasher.hash(password), username])


def set_active(engine: Engine, username: str, active: bool) -> None:
    """Deactivate (or reactivate) a login; a deactivated user's sessions end at once."""
    with engine.begin() as conn:
        rows = execute(conn, "SELECT id FROM users WHERE username = ?", [username])
        if not rows:
            raise UserError(f"unknown user {username!r}")
        execute(conn, "UPDATE users SET active = ? WHERE id = ?", [active, rows[0][0]])
        if not active:
            execute(conn, "DELETE FROM sessions WHERE user_id = ?", [rows[0][0]])


# -- logging in ---------------------------------------------------------------------------------------------

def failures(engine: Engine, username: str, client_ip: str, now: datetime | None = None) -> tuple[int, datetime | None]:
    """Failed logins of ``username`` from ``client_ip`` inside the window, and the oldest of them."""
    with _ro(engine) as conn, conn.begin():
        return _failures(conn, username, client_ip, now or _now())


def _failures(conn, username: str, client_ip: str, now: datetime) -> tuple[int, datetime | None]:
    n, oldest = execute(conn, "SELECT count(*), min(at) FROM login_attempts WHERE username = ? AND client_ip = ? "
                              "AND ok = ? AND at > ?", [username, client_ip, False, now - LOGIN_WINDOW])[0]
    return int(n), _ts(oldest)


def _limited(count: int, oldest: datetime | None, now: datetime) -> None:
    if count >= LOGIN_MAX_FAILURES:
        retry = int((oldest + LOGIN_WINDOW - now).total_seconds()) + 1 if oldest else int(LOGIN_WINDOW.total_seconds())
        raise LoginRateLimited(max(retry, 1))


def _reserve_attempt(engine: Engine, username: str, client_ip: str, now: datetime) -> None:
    """Count this attempt as a failure before its password is checked, or raise :class:`LoginRateLimited`: the
    count and the insert are one write transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock
    on the username and address), so N concurrent attempts check at most ``LOGIN_MAX_FAILURES`` passwords."""
    with engine.begin() as conn:
        if is_pg(conn):
            key = hashlib.sha256(f"weixi.login\0{username}\0{client_ip}".encode()).digest()[:8]
            execute(conn, "SELECT pg_advisory_xact_lock(?)", [struct.unpack(">q", key)[0]])
        _limited(*_failures(conn, username, client_ip, now), now)
        execute(conn, "INSERT INTO login_attempts (username, client_ip, at, ok) VALUES (?,?,?,?)",
                [username, client_ip, now, False])
        execute(conn, "DELETE FROM login_attempts WHERE at < ?", [now - 2 * LOGIN_WINDOW])


def authenticate(engine: Engine, username: str, password: str, client_ip: str) -> User | None:
    """The active user with this password, or None. Raises :class:`LoginRateLimited` after
    ``LOGIN_MAX_FAILURES`` failures of the same username from the same address within ``LOGIN_WINDOW``
    (the password is then not even checked). The attempt is counted as a failure before the password is
    checked (:func:`_reserve_attempt`); a success then clears the failures of that username and address."""
    username = (username or "")[:64]
    client_ip = (client_ip or "unknown")[:64]
    now = _now()
    _limited(*failures(engine, username, client_ip, now), now)  # a flood is refused without the write lock
    _reserve_attempt(engine, username, client_ip, now)
    with _ro(engine) as conn, conn.begin():
        rows = execute(conn, f"SELECT {USER_COLS}, password_hash FROM users WHERE username = ?", [username])
    user, ok = None, False
    if rows:
        user = _user(rows[0])
        try:
            ok = _hasher.verify(rows[0][5], password or "") and user.active
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    else:
        try:  # same work for unknown usernames, so timing does not tell which usernames exist
            _hasher.verify(_dummy(), password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            pass
    if ok:
        with engine.begin() as conn:
            execute(conn, "DELETE FROM login_attempts WHERE username = ? AND client_ip = ?", [username, client_ip])
    return user if ok else None


# -- API tokens ---------------------------------------------------------------------------------------------

def issue_token(engine: Engine, user: User, name: str | None = None) -> str:
    """A new API token for ``user``; the token is shown once, only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        execute(conn, "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES (?,?,?,?)",
                [_digest(token), user.id, name, _now()])
    return token


def revoke_token(engine: Engine, token: str) -> bool:
    """Revoke a token given in full; True when a live token was revoked."""
    with engine.begin() as conn:
        rows = execute(conn, "SELECT id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL", [_digest(token)])
        if rows:
            execute(conn, "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [_now(), rows[0][0]])
    return bool(rows)


def user_for_token(engine: Engine, token: str, touch_after: timedelta = timedelta(minutes=1)) -> User | None:
    """The active user a live token belongs to; ``last_used_at`` is refreshed at most once per ``touch_after``."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _digest(token)
    with _ro(engine) as conn, conn.begin():
        rows = execute(conn, "SELECT u.id, u.username, u.role, u.member_id, u.active, t.id, t.last_used_at "
                             "FROM api_tokens t JOIN users u ON u.id = t.user_id "
                             "WHERE t.token_hash = ? AND t.revoked_at IS NULL", [digest])
    if not rows:
        return None
    user = _user(rows[0])
    if not user.active:
        return None
    now = _now()
    last = _ts(rows[0][6])
    if last is None or now - last > touch_after:
        with engine.begin() as conn:
            execute(conn, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", [now, rows[0][5]])
    return user


def _iso(value: Any) -> str | None:
    moment = _ts(value)
    return moment.isoformat() if moment else None


# -- console sessions ---------------------------------------------------------------------------------------

def create_session(engine: Engine, user: User) -> tuple[str, str]:
    """A new console session: returns (session id for the cookie, CSRF token). Only the id's hash is stored."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with engine.begin() as conn:
        execute(conn, "INSERT INTO sessions (session_hash, user_id, csrf, created_at, expires_at) VALUES (?,?,?,?,?)",
                [_digest(sid), user.id, csrf, now, now + SESSION_LIFETIME])
        execute(conn, "DELETE FROM sessions WHERE expires_at < ?", [now])
    return sid, csrf


def session_user(engine: Engine, sid: str) -> tuple[User, str] | None:
    """The active user and CSRF token of a live session, or None."""
    if not sid or len(sid) > 200:
        return None
    with _ro(engine) as conn, conn.begin():
        rows = execute(conn, "SELECT u.id, u.username, u.role, u.member_id, u.active, s.csrf, s.expires_at "
                             "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.session_hash = ?", [_digest(sid)])
    if not rows:
        return None
    user = _user(rows[0])
    if not user.active or _ts(rows[0][6]) < _now():
        return None
    return user, rows[0][5]


def end_session(engine: Engine, sid: str) -> None:
    with engine.begin() as conn:
        execute(conn, "DELETE FROM sessions WHERE session_hash = ?", [_digest(sid)])


# -- audit log ----------------------------------------------------------------------------------------------

def audit(engine: Engine, user: User | None, action: str, subject: str | None = None, detail: Any = None) -> None:
    """Write who did what to whom, and when. ``detail`` is stored as JSON."""
    with engine.begin() as conn:
        execute(conn, "INSERT INTO audit_log (at, username, role, action, subject, detail) VALUES (?,?,?,?,?,?)",
                [_now(), user.username if user else None, user.role if user else None, action, subject,
                 json.dumps(detail, ensure_ascii=False, default=str) if detail is not None else None])


def audit_entries(engine: Engine, limit: int = 100, action: str | None = None, username: str | None = None) -> list[dict]:
    sql, params = "SELECT id, at, username, role, action, subject, detail FROM audit_log WHERE 1 = 1", []
    if action:
        sql += " AND action = ?"
        params.append(action)
    if username:
        sql += " AND username = ?"
        params.append(username)
    with _ro(engine) as conn, conn.begin():
        rows = execute(conn, sql + " ORDER BY id DESC LIMIT ?", [*params, int(limit)])
    return [{"id": int(r[0]), "at": _iso(r[1]), "username": r[2], "role": r[3], "action": r[4], "subject": r[5],
             "detail": json.loads(r[6]) if r[6] else None} for r in rows]


# -- demo logins --------------------------------------------------------------------------------------------

DEMO_PASSWORD = "weixi-demo"


def demo_logins(member_id: str) -> list[tuple[str, str, str | None]]:
    """(username, role, member id) of the demo operator's logins, one per role; all use ``DEMO_PASSWORD``."""
    return [(role if role != "member" else "member", role, member_id if role == "member" else None) for role in ROLES]


def ensure_demo_users(engine: Engine, member_id: str) -> list[dict]:
    """Create the demo logins that do not exist yet (safe to run again)."""
    out = []
    for username, role, member in demo_logins(member_id):
        existing = get_user(engine, username)
        if existing is None:
            create_user(engine, username, DEMO_PASSWORD, role, member)
        out.append({"username": username, "password": DEMO_PASSWORD, "role": role, "member_id": member,
                    "created": existing is None})
    return out
