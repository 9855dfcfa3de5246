"""An in-memory :class:`weixi.users.repository.UserRepository`: the use cases of :mod:`weixi.users.service`
run against it without a database (cosmicpython's fake repository)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from weixi.users.repository import TokenRow, User


class FakeUsers:
    def __init__(self) -> None:
        self.users: dict[str, tuple[User, str]] = {}
        self.attempts: list[tuple[str, str, datetime]] = []  # failed (or not yet checked) logins
        self.tokens: dict[str, dict] = {}
        self.sessions: dict[str, tuple[int, str, datetime]] = {}
        self.log: list[dict] = []

    def _by_id(self, user_id: int) -> User:
        return next(u for u, _ in self.users.values() if u.id == user_id)

    def find(self, username: str) -> tuple[User, str] | None:
        return self.users.get(username)

    def add(self, username: str, password_hash: str, role: str, member_id: str | None, at: datetime) -> User | None:
        if username in self.users:
            return None
        user = User(len(self.users) + 1, username, role, member_id, True)
        self.users[username] = (user, password_hash)
        return user

    def all(self) -> list[User]:
        return [u for _, (u, _) in sorted(self.users.items())]

    roster: frozenset[str] = frozenset()  # the staff ids of the staff roster (a test sets it)

    def staff_check(self, staff_id: str, username: str) -> tuple[bool, str | None]:
        others = sorted(u.username for u, _ in self.users.values() if u.username != username and u.staff == staff_id)
        return staff_id in self.roster, others[0] if others else None

    def set_staff_id(self, username: str, staff_id: str | None) -> bool:
        if username not in self.users:
            return False
        user, hashed = self.users[username]
        self.users[username] = (replace(user, staff_id=staff_id), hashed)
        return True

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        if username not in self.users:
            return False
        self.users[username] = (self.users[username][0], password_hash)
        return True

    def set_active(self, username: str, active: bool) -> bool:
        if username not in self.users:
            return False
        user, hashed = self.users[username]
        self.users[username] = (replace(user, active=active), hashed)
        if not active:
            self.sessions = {k: v for k, v in self.sessions.items() if v[0] != user.id}
        return True

    def failures(self, username: str, client_ip: str, since: datetime) -> tuple[int, datetime | None]:
        times = [at for u, ip, at in self.attempts if (u, ip) == (username, client_ip) and at > since]
        return len(times), min(times, default=None)

    def reserve_attempt(self, username: str, client_ip: str, since: datetime, now: datetime, check) -> None:
        check(*self.failures(username, client_ip, since))
        self.attempts.append((username, client_ip, now))

    def clear_failures(self, username: str, client_ip: str) -> None:
        self.attempts = [a for a in self.attempts if (a[0], a[1]) != (username, client_ip)]

    def add_token(self, digest: str, user: User, name: str | None, at: datetime) -> None:
        self.tokens[digest] = {
            "id": len(self.tokens) + 1,
            "user_id": user.id,
            "name": name,
            "last": None,
            "revoked": None,
        }

    def revoke_token(self, digest: str, at: datetime) -> bool:
        row = self.tokens.get(digest)
        if row is None or row["revoked"] is not None:
            return False
        row["revoked"] = at
        return True

    def token(self, digest: str) -> TokenRow | None:
        row = self.tokens.get(digest)
        if row is None or row["revoked"] is not None:
            return None
        return TokenRow(self._by_id(row["user_id"]), row["id"], row["last"])

    def touch_token(self, token_id: int, at: datetime) -> None:
        next(r for r in self.tokens.values() if r["id"] == token_id)["last"] = at

    def add_session(self, digest: str, user: User, csrf: str, at: datetime, expires: datetime) -> None:
        self.sessions = {k: v for k, v in self.sessions.items() if v[2] >= at}
        self.sessions[digest] = (user.id, csrf, expires)

    def session(self, digest: str) -> tuple[User, str, datetime] | None:
        found = self.sessions.get(digest)
        return (self._by_id(found[0]), found[1], found[2]) if found else None

    def end_session(self, digest: str) -> None:
        self.sessions.pop(digest, None)

    def audit(self, at: datetime, user: User | None, action: str, subject: str | None, detail: Any) -> None:
        self.log.append(
            {
                "id": len(self.log) + 1,
                "at": at.isoformat(),
                "username": user.username if user else None,
                "role": user.role if user else None,
                "action": action,
                "subject": subject,
                "detail": detail,
            }
        )

    def audit_entries(self, limit: int, action: str | None, username: str | None) -> list[dict]:
        rows = [
            e
            for e in reversed(self.log)
            if (not action or e["action"] == action) and (not username or e["username"] == username)
        ]
        return rows[:limit]
