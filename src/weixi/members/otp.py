"""A member logs in with their phone number and a one-time code sent by SMS through the messaging outbox.

- :func:`request_code` — a 6-digit code, valid :data:`CODE_LIFETIME`, queued as an SMS to the number when a member
  has it. The answer is the same whether or not the number is a member's (nothing is sent then), and the same
  throttle applies: one code per number per :data:`RESEND_AFTER`, at most :data:`MAX_CODES_PER_HOUR` per number and
  :data:`MAX_CODES_PER_IP` per address an hour. Only an argon2 hash of the code is stored, beside the SHA-256 of the
  number (``login_codes``, migration 0019).
- :func:`log_in` — the number's latest live code: each try is counted before the code is checked (in one write
  transaction, so concurrent guesses cannot overtake the count); at most :data:`MAX_ATTEMPTS` tries, then the code
  is spent and a new one must be asked for. A right code is used once (a conditional UPDATE) and gives the member's
  login — the member's existing member login, or one made now without a password (password login stays optional:
  an admin can set one). A deactivated login stays out.
Every request and every login is written to the audit log (``login.sms_code``, ``login`` with ``via: sms``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine

from weixi.adapters.sql import as_bool, execute, is_pg
from weixi.errors import Invalid, TooManyRequests, Unauthenticated
from weixi.members import pii
from weixi.members.search import search
from weixi.messaging import service as outbox
from weixi.users import service as users
from weixi.users.service import USERNAME_CHARS, User

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=5)
MAX_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
MAX_CODES_PER_HOUR = 5
MAX_CODES_PER_IP = 20
NO_PASSWORD = "!sms-login-only"  # not an argon2 hash: no password ever matches it
SMS = {
    "zh_CN": "【维系】您的登录验证码为 {code}，{minutes} 分钟内有效。请勿将验证码告诉他人。",
    "en": "[Weixi] Your login code is {code}. It is valid for {minutes} minutes. Never share it with anyone.",
}

_hasher = PasswordHasher()


class PhoneInvalid(Invalid):
    """Not a mainland mobile number (``sms_login_phone_invalid``)."""


class CodeThrottled(TooManyRequests):
    """Too soon for another code (``sms_code_wait``) or too many (``sms_code_too_many``); ``retry_after`` seconds."""


class CodeRefused(Unauthenticated):
    """The code is wrong, expired or used (``sms_code_wrong``), or its tries are spent (``sms_code_attempts_spent``)."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def normalize_phone(phone: str) -> str:
    """``+86 138-1234-5678`` -> ``13812345678``; :class:`PhoneInvalid` unless a mainland mobile number."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
    if not re.fullmatch(r"1[3-9]\d{9}", digits):
        raise PhoneInvalid("sms_login_phone_invalid")
    return digits


def _digest(phone: str) -> str:
    return hashlib.sha256(f"weixi.login\0{phone}".encode()).hexdigest()


def _lock(conn: Connection, key: str) -> None:
    """Serialise writers of one key: SQLite's write transaction already does (``BEGIN IMMEDIATE``); PostgreSQL
    takes an advisory lock for the transaction."""
    if is_pg(conn):
        value = struct.unpack(">q", hashlib.sha256(f"weixi.otp\0{key}".encode()).digest()[:8])[0]
        execute(conn, "SELECT pg_advisory_xact_lock(?)", [value])


def _ts(value) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def member_of_phone(data_dir: Path, engine: Engine, phone: str) -> str | None:
    """The one member whose phone number is ``phone`` (the archive's current rows); None for none or several."""
    rows = search(data_dir, phone, engine, limit=5, reveal=True)
    found = sorted({r["member_id"] for r in rows if r.get("phone") == phone})
    return found[0] if len(found) == 1 else None


def _throttle(conn: Connection, digest: str, client_ip: str, now: datetime) -> None:
    last = execute(
        conn,
        "SELECT max(created_at), count(*) FROM login_codes WHERE phone_digest = ? AND created_at > ?",
        [digest, now - timedelta(hours=1)],
    )[0]
    if last[0] is not None and _ts(last[0]) > now - RESEND_AFTER:
        wait = int((_ts(last[0]) + RESEND_AFTER - now).total_seconds()) + 1
        raise CodeThrottled("sms_code_wait", retry_after=max(wait, 1))
    by_ip = execute(
        conn,
        "SELECT count(*) FROM login_codes WHERE client_ip = ? AND created_at > ?",
        [client_ip, now - timedelta(hours=1)],
    )[0][0]
    if int(last[1]) >= MAX_CODES_PER_HOUR or int(by_ip) >= MAX_CODES_PER_IP:
        raise CodeThrottled("sms_code_too_many", retry_after=3600, limit=MAX_CODES_PER_HOUR)


def request_code(
    engine: Engine, data_dir: Path, phone: str, client_ip: str, locale: str = "zh_CN", now: datetime | None = None
) -> None:
    """Send a login code to ``phone`` if a member has it (see the module doc). Raises :class:`PhoneInvalid` or
    :class:`CodeThrottled`, the same for known and unknown numbers; returns nothing either way."""
    phone = normalize_phone(phone)
    now = now or _now()
    client_ip = (client_ip or "unknown")[:64]
    digest = _digest(phone)
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _throttle(conn, digest, client_ip, now)  # a flood is refused before any lookup or hashing
    member_id = member_of_phone(data_dir, engine, phone)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    hashed = _hasher.hash(code)  # hashed for unknown numbers too: the same work, the same time
    with engine.begin() as conn:
        _lock(conn, digest)
        _throttle(conn, digest, client_ip, now)
        execute(
            conn,
            "INSERT INTO login_codes (phone_digest, member_id, code_hash, client_ip, created_at, expires_at, attempts)"
            " VALUES (?, ?, ?, ?, ?, ?, 0)",
            [digest, member_id, hashed, client_ip, now, now + CODE_LIFETIME],
        )
        row_id = int(
            execute(conn, "SELECT max(id) FROM login_codes WHERE phone_digest = ? AND created_at = ?", [digest, now])[
                0
            ][0]
        )
        if member_id is not None:
            body = SMS.get(locale, SMS["zh_CN"]).format(code=code, minutes=int(CODE_LIFETIME.total_seconds() // 60))
            # no member id on the message: a login code is not a contact with the member (ops_contacts)
            message_id, _ = outbox.enqueue(
                conn, f"login-code/{row_id}", "sms", phone, body, purpose="login", source="login_code", at=now
            )
            execute(conn, "UPDATE login_codes SET message_id = ? WHERE id = ?", [message_id, row_id])
    users.audit(
        engine,
        None,
        "login.sms_code",
        member_id,
        {"ip": client_ip, "phone": pii.mask_phone(phone), "member": member_id is not None},
    )


def _verified(hashed: str, code: str) -> bool:
    try:
        return _hasher.verify(hashed, code)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def log_in(engine: Engine, phone: str, code: str, client_ip: str, now: datetime | None = None) -> User:
    """The member login of the member whose live code for ``phone`` is ``code`` (see the module doc); raises
    :class:`PhoneInvalid` or :class:`CodeRefused` (the same for unknown numbers)."""
    phone = normalize_phone(phone)
    now = now or _now()
    client_ip = (client_ip or "unknown")[:64]
    digest = _digest(phone)
    code = (code or "").strip()
    with engine.begin() as conn:
        _lock(conn, digest)
        rows = execute(
            conn,
            "SELECT id, member_id, code_hash, attempts FROM login_codes WHERE phone_digest = ? AND used_at IS NULL "
            "AND expires_at > ? ORDER BY id DESC LIMIT 1",
            [digest, now],
        )
        if rows and int(rows[0][3]) < MAX_ATTEMPTS:
            execute(conn, "UPDATE login_codes SET attempts = attempts + 1 WHERE id = ?", [rows[0][0]])
    if not rows:
        _refuse(engine, None, client_ip, phone, "sms_code_wrong")
    row_id, member_id, hashed, tried = rows[0][0], rows[0][1], rows[0][2], int(rows[0][3]) + 1
    if tried > MAX_ATTEMPTS:
        _refuse(engine, member_id, client_ip, phone, "sms_code_attempts_spent")
    right = bool(re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code)) and _verified(hashed, code)
    if not right or member_id is None:
        spent = tried >= MAX_ATTEMPTS
        _refuse(engine, member_id, client_ip, phone, "sms_code_attempts_spent" if spent else "sms_code_wrong")
    with engine.begin() as conn:
        used = conn.exec_driver_sql(
            ("UPDATE login_codes SET used_at = %s WHERE id = %s AND used_at IS NULL")
            if is_pg(conn)
            else "UPDATE login_codes SET used_at = ? WHERE id = ? AND used_at IS NULL",
            (now, row_id),
        ).rowcount
        execute(
            conn, "UPDATE login_codes SET used_at = ? WHERE phone_digest = ? AND used_at IS NULL", [now, digest]
        )  # any older live code of the number goes too
    if used != 1:  # a concurrent login took this code first
        _refuse(engine, member_id, client_ip, phone, "sms_code_wrong")
    user = member_login(engine, member_id)
    if user is None:
        _refuse(engine, member_id, client_ip, phone, "sms_code_wrong", deactivated=True)
    users.audit(engine, user, "login", user.username, {"ip": client_ip, "via": "sms"})
    return user


def _refuse(engine: Engine, member_id: str | None, client_ip: str, phone: str, code: str, **detail) -> None:
    users.audit(
        engine,
        None,
        "login.sms_failed",
        member_id,
        {"ip": client_ip, "phone": pii.mask_phone(phone), "reason": code, **detail},
    )
    raise CodeRefused(code, attempts=MAX_ATTEMPTS)


def _username(member_id: str) -> str:
    base = f"m-{member_id}"
    if len(base) <= 64 and set(base) <= USERNAME_CHARS:
        return base
    return "m-" + hashlib.sha256(member_id.encode()).hexdigest()[:16]


def member_login(engine: Engine, member_id: str) -> User | None:
    """The member's login: its active member login (the oldest), else a new one without a password when it has
    none at all; None when its only logins are deactivated."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(
            conn,
            "SELECT id, username, role, member_id, active FROM users WHERE role = 'member' AND member_id = ? "
            "ORDER BY id",
            [member_id],
        )
    logins = [User(int(r[0]), r[1], r[2], r[3], as_bool(r[4])) for r in rows]
    active = [u for u in logins if u.active]
    if active:
        return active[0]
    if logins:
        return None
    repo = users.repository(engine)
    made = repo.add(_username(member_id), NO_PASSWORD, "member", member_id, _now())
    if made is None:  # made by a concurrent login a moment ago
        made = users.get_user(engine, _username(member_id))
    users.audit(engine, made, "user.create", made.username, {"role": "member", "member_id": member_id, "via": "sms"})
    return made
