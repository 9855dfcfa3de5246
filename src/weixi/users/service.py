"""Users, roles, passwords, API tokens, console sessions, login rate limiting and the audit log: the use cases.

Passwords are hashed with argon2id (argon2-cffi); a new password needs ``MIN_PASSWORD`` characters and a
zxcvbn score of ``MIN_SCORE`` (which refuses its 30,000 common passwords, repeats, sequences and the username).
API tokens and session ids are random 256-bit secrets of which only the SHA-256 is stored, so a copy of the
database does not let anyone log in. The login rate limit counts an attempt before its password is checked,
in one write transaction, so concurrent guesses cannot overtake it (several server processes included).

Every use case takes ``users``: a database engine (the usual case: :class:`weixi.users.repository.SqlUsers` is
made for it) or any :class:`weixi.users.repository.UserRepository` (an in-memory one in the unit tests).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Union

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine

from weixi.errors import Conflict, Invalid, NotFound
from weixi.users.repository import SqlUsers, User, UserRepository

__all__ = ["User", "UserRepository", "SqlUsers"]

ROLES = ("admin", "analyst", "manager", "agent", "clerk", "member")  # their names: weixi.names, kind "role"
USERNAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-")
MIN_PASSWORD = 10
MIN_SCORE = 2  # zxcvbn: at least ~10^6 guesses; every entry of its common-passwords list scores lower
SCORED_CHARS = 72  # zxcvbn refuses longer input; the first 72 characters are scored

LOGIN_WINDOW = timedelta(minutes=5)
LOGIN_MAX_FAILURES = 5
SESSION_LIFETIME = timedelta(hours=12)
TOKEN_PREFIX = "wx_"

Users = Union[Engine, UserRepository]

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against for unknown usernames (made on first use: hashing costs ~50 ms)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash("weixi-no-such-user")
    return _dummy_hash


class UserError(Invalid, ValueError):
    """A user cannot be created or changed as asked (bad role, bad username, weak password...)."""


class WeakPassword(UserError):
    """The password is too short (``password_too_short``) or too easy to guess (``weak_password``)."""


class UsernameTaken(Conflict, UserError):
    """Another login has this username (``username_taken``)."""


class UnknownUser(NotFound, UserError):
    """No login has this username (``unknown_user``)."""


class StaffIdTaken(Conflict, UserError):
    """Another login has this staff id (``user_staff_id_taken``): a person has one staff id and one login."""


class LoginRateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"too many failed logins: try again in {retry_after} seconds")
        self.retry_after = retry_after


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def repository(users: Users) -> UserRepository:
    """The repository of ``users``: itself, or the SQL one of an engine."""
    return SqlUsers(users) if isinstance(users, Engine) else users


def check_role(role: str, member_id: str | None) -> None:
    if role not in ROLES:
        raise UserError("unknown_role", role=role, roles=list(ROLES))
    if role == "member" and not member_id:
        raise UserError("member_login_needs_member_id")
    if role != "member" and member_id:
        raise UserError("member_id_on_staff_login", role=role)


def check_password(password: str, username: str | None = None) -> None:
    """Raise :class:`WeakPassword` unless ``password`` is long enough and not guessable (zxcvbn's estimate, which
    knows common passwords, words, names, keyboard patterns, repeats, sequences and ``username``)."""
    if len(password or "") < MIN_PASSWORD:
        raise WeakPassword("password_too_short", min_length=MIN_PASSWORD)
    from zxcvbn import zxcvbn  # loads its word lists on first use

    if zxcvbn(password[:SCORED_CHARS], user_inputs=[username] if username else [])["score"] < MIN_SCORE:
        raise WeakPassword("weak_password")


def check_username(username: str) -> None:
    if not (2 <= len(username or "") <= 64) or not set(username) <= USERNAME_CHARS:
        raise UserError("username_not_allowed", username=username)


def _staff_id(text: str | None) -> str | None:
    return (text or "").strip() or None


def check_staff_id(repo: UserRepository, username: str, role: str, staff_id: str | None) -> None:
    """A login's staff id (issue 19 §12: one staff id for a login) is on the staff roster (``weixi staff load``),
    no other login has it, and a member login has none."""
    if staff_id is None:
        return
    if role == "member":
        raise UserError("user_staff_id_on_member_login", staff=staff_id)
    if len(staff_id) > 128:
        raise UserError("user_staff_not_on_roster", staff=staff_id[:128])
    on_roster, holder = repo.staff_check(staff_id, username)
    if not on_roster:
        raise UserError("user_staff_not_on_roster", staff=staff_id)
    if holder is not None:
        raise StaffIdTaken("user_staff_id_taken", staff=staff_id, username=holder)


def create_user(
    users: Users,
    username: str,
    password: str,
    role: str,
    member_id: str | None = None,
    staff_id: str | None = None,
) -> User:
    """A new login; ``staff_id``: who it is on the staff roster (default: the username is the staff id)."""
    check_username(username)
    check_password(password, username)
    check_role(role, member_id)
    repo, staff_id = repository(users), _staff_id(staff_id)
    check_staff_id(repo, username, role, staff_id)
    if staff_id is None and role != "member":  # the username is the staff id: no other login may act as it
        holder = repo.staff_check(username, username)[1]
        if holder is not None and holder != username:
            raise StaffIdTaken("user_staff_id_taken", staff=username, username=holder)
    created = repo.add(username, _hasher.hash(password), role, member_id, _now())
    if created is None:
        raise UsernameTaken("username_taken", username=username)
    if staff_id is not None:
        repo.set_staff_id(username, staff_id)
        created = replace(created, staff_id=staff_id)
    return created


def set_staff_id(users: Users, username: str, staff_id: str | None) -> User:
    """Link a login to its staff id on the roster, or (``None`` / empty) unlink it: the username is then the staff
    id. Returns the changed login."""
    repo, staff_id = repository(users), _staff_id(staff_id)
    found = repo.find(username)
    if found is None:
        raise UnknownUser("unknown_user", username=username)
    check_staff_id(repo, username, found[0].role, staff_id)
    repo.set_staff_id(username, staff_id)
    return replace(found[0], staff_id=staff_id)


def get_user(users: Users, username: str) -> User | None:
    found = repository(users).find(username)
    return found[0] if found else None


def list_users(users: Users) -> list[User]:
    return repository(users).all()


def set_password(users: Users, username: str, password: str) -> None:
    check_password(password, username)
    if not repository(users).set_password_hash(username, _hasher.hash(password)):
        raise UnknownUser("unknown_user", username=username)


def set_active(users: Users, username: str, active: bool) -> None:
    """Deactivate (or reactivate) a login; a deactivated user's sessions end at once."""
    if not repository(users).set_active(username, active):
        raise UnknownUser("unknown_user", username=username)


# -- logging in ---------------------------------------------------------------------------------------------


def failures(users: Users, username: str, client_ip: str, now: datetime | None = None) -> tuple[int, datetime | None]:
    """Failed logins of ``username`` from ``client_ip`` inside the window, and the oldest of them."""
    return repository(users).failures(username, client_ip, (now or _now()) - LOGIN_WINDOW)


def _limited(count: int, oldest: datetime | None, now: datetime) -> None:
    if count >= LOGIN_MAX_FAILURES:
        window = int(LOGIN_WINDOW.total_seconds())
        retry = int((oldest + LOGIN_WINDOW - now).total_seconds()) + 1 if oldest else window
        raise LoginRateLimited(max(retry, 1))


def _verified(found: tuple[User, str] | None, password: str) -> bool:
    """Whether ``password`` is the found active user's; the same work for unknown usernames, so timing does not
    tell which usernames exist."""
    try:
        if found is None:
            _hasher.verify(_dummy(), password or "")
            return False
        return _hasher.verify(found[1], password or "") and found[0].active
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(users: Users, username: str, password: str, client_ip: str) -> User | None:
    """The active user with this password, or None. Raises :class:`LoginRateLimited` after
    ``LOGIN_MAX_FAILURES`` failures of the same username from the same address within ``LOGIN_WINDOW``
    (the password is then not even checked). The attempt is counted as a failure before the password is
    checked (in one write transaction with the check); a success then clears the failures of that username and
    address."""
    repo = repository(users)
    username = (username or "")[:64]
    client_ip = (client_ip or "unknown")[:64]
    now = _now()
    since = now - LOGIN_WINDOW
    _limited(*repo.failures(username, client_ip, since), now)  # a flood is refused without the write lock
    repo.reserve_attempt(username, client_ip, since, now, lambda count, oldest: _limited(count, oldest, now))
    found = repo.find(username)
    if not _verified(found, password):
        return None
    repo.clear_failures(username, client_ip)
    return found[0]


# -- API tokens ---------------------------------------------------------------------------------------------


def issue_token(users: Users, user: User, name: str | None = None) -> str:
    """A new API token for ``user``; the token is shown once, only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    repository(users).add_token(_digest(token), user, name, _now())
    return token


def revoke_token(users: Users, token: str) -> bool:
    """Revoke a token given in full; True when a live token was revoked."""
    return repository(users).revoke_token(_digest(token), _now())


def user_for_token(users: Users, token: str, touch_after: timedelta = timedelta(minutes=1)) -> User | None:
    """The active user a live token belongs to; ``last_used_at`` is refreshed at most once per ``touch_after``."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    repo = repository(users)
    row = repo.token(_digest(token))
    if row is None or not row.user.active:
        return None
    now = _now()
    if row.last_used_at is None or now - row.last_used_at > touch_after:
        repo.touch_token(row.token_id, now)
    return row.user


# -- console sessions ---------------------------------------------------------------------------------------


def create_session(users: Users, user: User) -> tuple[str, str]:
    """A new console session: returns (session id for the cookie, CSRF token). Only the id's hash is stored."""
    sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    repository(users).add_session(_digest(sid), user, csrf, now, now + SESSION_LIFETIME)
    return sid, csrf


def session_user(users: Users, sid: str) -> tuple[User, str] | None:
    """The active user and CSRF token of a live session, or None."""
    if not sid or len(sid) > 200:
        return None
    found = repository(users).session(_digest(sid))
    if found is None:
        return None
    user, csrf, expires = found
    if not user.active or expires < _now():
        return None
    return user, csrf


def end_session(users: Users, sid: str) -> None:
    repository(users).end_session(_digest(sid))


# -- audit log ----------------------------------------------------------------------------------------------


def audit(users: Users, user: User | None, action: str, subject: str | None = None, detail: Any = None) -> None:
    """Write who did what to whom, and when. ``detail`` is stored as JSON."""
    repository(users).audit(_now(), user, action, subject, detail)


def audit_entries(users: Users, limit: int = 100, action: str | None = None, username: str | None = None) -> list[dict]:
    return repository(users).audit_entries(limit, action, username)


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
        out.append(
            {
                "username": username,
                "password": DEMO_PASSWORD,
                "role": role,
                "member_id": member,
                "created": existing is None,
            }
        )
    return out
