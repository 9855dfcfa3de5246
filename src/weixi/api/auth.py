"""Who is calling: a console session cookie or an ``Authorization: Bearer <token>`` header.

- :func:`current_user` — FastAPI dependency; 401 (in the error envelope) when neither identifies an active user.
  A request authenticated by the session cookie that changes something (POST, PUT, PATCH, DELETE) must carry
  the session's CSRF token in the ``X-CSRF-Token`` header (htmx, fetch) or a ``csrf_token`` form field;
  otherwise 403 ``csrf_failed``. Bearer-token requests need no CSRF token (browsers never send them on their own).
- :func:`require` — ``Depends(require("points:redeem"))`` gives the user or 403 per :mod:`weixi.api.permissions`.
- :func:`own_member` — a member login may only touch its own member id.
- :func:`login_session` / :func:`logout_session` — set or clear the cookie (HttpOnly, SameSite=Lax, Secure
  unless the app was created with ``secure_cookies=False``).
- :func:`csrf_token` / :func:`verify_csrf` — for console forms. Before login (the login form) the token is bound
  to the visitor: :func:`login_form` sets a random ``weixi_login`` cookie and the token is its HMAC.
- :func:`check_origin` — 403 ``cross_origin`` when the browser says a login comes from another site's page.
- :func:`client_ip` — the peer's address; ``weixi serve`` lets uvicorn replace it with ``X-Forwarded-For`` only
  for the proxies of ``--trusted-proxies`` / ``WEIXI_TRUSTED_PROXIES`` (none by default).

Looked-up tokens and sessions are cached in the process for ``CACHE_SECONDS``; logging out and revoking
through this app drop the entry at once.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import secrets
import time
from typing import Callable
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from weixi.api.permissions import PERMISSIONS, allowed
from weixi.errors import Forbidden, Unauthenticated
from weixi.users import service as users_service
from weixi.users.service import User

SESSION_COOKIE = "weixi_session"
LOGIN_COOKIE = "weixi_login"  # the visitor's random nonce that the login form's CSRF token is bound to
LOGIN_COOKIE_SECONDS = 3600
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CACHE_SECONDS = 5.0
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The app state of the request being served (set by the app's middleware), so that helpers called with only a
# response (login_session) find the database.
current_state: contextvars.ContextVar = contextvars.ContextVar("weixi_app_state")


def _state(request: Request | None):
    if request is not None:
        return request.app.state
    try:
        return current_state.get()
    except LookupError:
        raise RuntimeError("no Weixi app is serving this request: pass request=") from None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def client_ip(request: Request) -> str:
    """The connecting peer (or, behind a proxy named in ``WEIXI_TRUSTED_PROXIES``, the address it forwarded)."""
    return request.client.host if request.client else "unknown"


def _cached(state, key: str, load: Callable[[], object]):
    cache: dict = state.auth_cache
    hit = cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[1] > now:
        return hit[0]
    value = load()
    if len(cache) > 10_000:
        cache.clear()
    cache[key] = (value, now + CACHE_SECONDS)
    return value


def _forget(state, key: str) -> None:
    state.auth_cache.pop(key, None)


async def _resolve(request: Request) -> tuple[User | None, str | None, str | None]:
    """(user, how, csrf): how is "token" or "session"; cached on the request."""
    if hasattr(request.state, "weixi_auth"):
        return request.state.weixi_auth
    state = request.app.state
    found: tuple[User | None, str | None, str | None] = (None, None, None)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("bad_authorization_header")
        token = token.strip()
        key = "t:" + _digest(token)
        user = await _maybe_thread(state, key, lambda: users_service.user_for_token(state.engine, token))
        if user is None:
            raise Unauthenticated("invalid_token")
        found = (user, "token", None)
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if sid:
            key = "s:" + _digest(sid)
            hit = await _maybe_thread(state, key, lambda: users_service.session_user(state.engine, sid))
            if hit is not None:
                found = (hit[0], "session", hit[1])
    request.state.weixi_auth = found
    return found


async def _maybe_thread(state, key: str, load: Callable[[], object]):
    hit = state.auth_cache.get(key)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    return await run_in_threadpool(_cached, state, key, load)


async def _submitted_csrf(request: Request) -> str | None:
    value = request.headers.get(CSRF_HEADER)
    if value:
        return value
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/x-www-form-urlencoded") or ctype.startswith("multipart/form-data"):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        return field if isinstance(field, str) else None
    return None


async def current_user(request: Request) -> User:
    user, how, csrf = await _resolve(request)
    if user is None:
        raise Unauthenticated("unauthenticated")
    if how == "session" and request.method in UNSAFE:
        verify_csrf(request, await _submitted_csrf(request))
    return user


async def optional_user(request: Request) -> User | None:
    """The logged-in user or None (for pages that show a login form to strangers)."""
    user, _, _ = await _resolve(request)
    return user


def require(permission: str):
    """Dependency factory: the current user if their role holds ``permission``, else 403."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    async def dependency(user: User = Depends(current_user)) -> User:
        if not allowed(user.role, permission):
            raise Forbidden("forbidden", role=user.role, permission=permission)
        return user

    dependency.permission = permission  # read by the permission walk test and docs
    return dependency


def own_member(user: User, member_id: str) -> None:
    """A member login may only see or change its own member; 403 otherwise."""
    if user.role == "member" and user.member_id != member_id:
        raise Forbidden("not_own_member", member_id=member_id)


# -- console sessions ---------------------------------------------------------------------------------------


def login_session(response: Response, user: User, request: Request | None = None) -> str:
    """Start a console session for ``user``: sets the cookie on ``response``; returns the CSRF token."""
    state = _state(request)
    sid, csrf = users_service.create_session(state.engine, user)
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=int(users_service.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=state.secure_cookies,
        path="/",
    )
    if request is not None:
        request.state.weixi_auth = (user, "session", csrf)
    return csrf


def logout_session(request: Request, response: Response) -> None:
    """End the session of this request (if any) and clear the cookie."""
    sid = request.cookies.get(SESSION_COOKIE)
    state = request.app.state
    if sid:
        users_service.end_session(state.engine, sid)
        _forget(state, "s:" + _digest(sid))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=state.secure_cookies)
    request.state.weixi_auth = (None, None, None)


def forget_token(request: Request, token: str) -> None:
    _forget(request.app.state, "t:" + _digest(token))


def _session_csrf(request: Request) -> str | None:
    cached = getattr(request.state, "weixi_auth", None)
    if cached is not None:
        return cached[2]
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    hit = users_service.session_user(request.app.state.engine, sid)
    return hit[1] if hit else None


def _login_nonce(request: Request) -> str | None:
    nonce = getattr(request.state, "login_nonce", None) or request.cookies.get(LOGIN_COOKIE)
    return nonce if nonce and len(nonce) <= 64 else None


def _anonymous_csrf(request: Request) -> str:
    """For forms shown before login (the login form): the HMAC of this visitor's ``weixi_login`` nonce, so a
    token fetched by one visitor is worthless in another's browser; "" for a visitor without the cookie."""
    nonce = _login_nonce(request)
    if nonce is None:
        return ""
    return hmac.new(request.app.state.csrf_secret, b"login:" + nonce.encode(), hashlib.sha256).hexdigest()


def login_form(request: Request, render: Callable[[], Response]) -> Response:
    """Render a login form (``render`` calls the template, which reads :func:`csrf_token`) for this visitor:
    keeps the visitor's ``weixi_login`` nonce or makes one, and sets it (HttpOnly, SameSite=Strict)."""
    nonce = _login_nonce(request) or secrets.token_urlsafe(32)
    request.state.login_nonce = nonce
    response = render()
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_COOKIE_SECONDS,
        httponly=True,
        samesite="strict",
        secure=_state(request).secure_cookies,
        path="/login",
    )
    return response


def _authority(netloc: str, scheme: str) -> str:
    """``host[:port]`` in lower case without the scheme's default port."""
    netloc = netloc.lower()
    for suffix in (":443",) if scheme == "https" else (":80",) if scheme == "http" else (":80", ":443"):
        netloc = netloc.removesuffix(suffix)
    return netloc


def check_origin(request: Request) -> None:
    """403 ``cross_origin`` unless the page that sent this request (``Origin``, else ``Referer``) is on this
    server's host and port (the ``Host`` the browser addressed). Requests that carry neither header (API clients)
    pass; browsers send ``Origin`` with every cross-site POST."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return
    try:
        parts = urlsplit(source)
    except ValueError:  # e.g. a broken IPv6 literal
        parts = urlsplit("")
    here = _authority(request.headers.get("host", ""), "")
    if parts.scheme not in ("http", "https") or not parts.netloc or _authority(parts.netloc, parts.scheme) != here:
        raise Forbidden("cross_origin")


def csrf_token(request: Request) -> str:
    """The CSRF token to put in this user's forms (hidden ``csrf_token`` field) or htmx ``X-CSRF-Token`` header."""
    return _session_csrf(request) or _anonymous_csrf(request)


def verify_csrf(request: Request, submitted: str | None) -> None:
    """Raise 403 ``csrf_failed`` unless ``submitted`` is this request's CSRF token."""
    expected = _session_csrf(request) or _anonymous_csrf(request)
    if not submitted or not expected or not hmac.compare_digest(str(submitted).encode(), expected.encode()):
        raise Forbidden("csrf_failed", header=CSRF_HEADER, field=CSRF_FIELD)
