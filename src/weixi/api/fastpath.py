"""A short path through the app for the two hot writes, ``POST /api/redemptions`` and ``POST /api/events``.

A point-of-sale or billing system calls these many times a second with an API token. Through FastAPI each call
pays for routing, dependency solving, request and response models and several middleware layers (~1 ms of CPU
on a small machine, as much as the ledger work itself). :class:`FastWrites` answers the ordinary case directly:

- ``Authorization: Bearer <token>`` whose user is already in the app's token cache (``app.state.auth_cache``,
  the same entries, lifetime and invalidation as :mod:`weixi.api.auth`) and whose role holds the permission;
- ``Content-Type: application/json`` with a ``Content-Length`` within the body limit;
- a body that parses as JSON and validates against the endpoint's own request model.

Then it runs the endpoint's own code (:func:`weixi.api.routes.ledger.redeem_request` and
:func:`~weixi.api.routes.ledger.post_request`): the same ledger writes, the same refusals in the same error
envelope, the same response body (serialised with orjson, not validated again) and the same security headers.
Anything else — a session cookie (CSRF applies), an unknown or not yet cached token, a missing permission, a
body that does not validate, a chunked body — goes on to the full app with the body it already read, so every
error keeps exactly the answer the full app gives.
"""

from __future__ import annotations

import hashlib
import logging
import time

import orjson
from pydantic import ValidationError

from weixi.adapters.writer import WriterError
from weixi.api.errors import ApiError, error_body, internal_error, weixi_error, writer_error
from weixi.api.permissions import allowed
from weixi.errors import WeixiError
from weixi.messages import accept_language

log = logging.getLogger("weixi.api")
JSON = b"application/json"


def _envelope(
    status: int,
    message: str,
    code: str | None,
    details: list | None,
    params: dict | None = None,
    where: dict | None = None,
) -> bytes:
    return orjson.dumps(error_body(status, message, code, details, params, where))


class FastWrites:
    """ASGI middleware in front of the app (see the module docstring). ``max_body``: the app's body limit."""

    def __init__(self, app, max_body: int, security_headers: tuple):
        from weixi.api.routes import ledger

        self.app = app
        self.max_body = max_body
        self.security_headers = list(security_headers)
        self.routes = {
            "/api/redemptions": ("points:redeem", ledger.RedeemIn, self._redeem),
            "/api/events": ("events:post", ledger.EventsIn, self._post),
        }
        self.ledger = ledger

    async def __call__(self, scope, receive, send):
        route = self.routes.get(scope.get("path")) if scope["type"] == "http" and scope["method"] == "POST" else None
        if route is None:
            return await self.app(scope, receive, send)
        permission, model, handler = route
        token = ctype = length = None
        for name, value in scope["headers"]:
            name = name.lower()
            if name == b"authorization":
                token = value
            elif name == b"content-type":
                ctype = value
            elif name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                length = None
                break
        user = self._cached_user(scope, token)
        if (
            user is None
            or not allowed(user.role, permission)
            or length is None
            or not length.isdigit()
            or int(length) > self.max_body
            or ctype is None
            or ctype.split(b";")[0].strip().lower() != JSON
        ):
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            parsed = model.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            return await self.app(scope, _replay(body, receive), send)
        state = scope["app"].state
        state.fast_writes = getattr(state, "fast_writes", 0) + 1  # how many requests took this path (tests)
        headers = None
        locale = accept_language(dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1"))
        try:
            status, out = await handler(scope, user, parsed)
            payload = orjson.dumps(out)
        except (ApiError, WeixiError, WriterError) as exc:  # told in the caller's language, as the app would
            if isinstance(exc, WriterError):
                exc = writer_error(exc, locale)
            elif isinstance(exc, WeixiError):
                exc = weixi_error(exc, locale)
            status, payload = (
                exc.status,
                _envelope(exc.status, exc.message, exc.code, exc.details, exc.params, exc.where),
            )
            headers = exc.headers
        except Exception:
            log.exception("unexpected error on POST %s", scope["path"])
            error = internal_error(locale)
            status, payload = 500, _envelope(500, error.message, error.code, None)
        response = [(b"content-length", str(len(payload)).encode()), (b"content-type", JSON)]
        if headers:
            response += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": response + self.security_headers})
        await send({"type": "http.response.body", "body": payload})

    def _cached_user(self, scope, header: bytes | None):
        """The user of a Bearer token found fresh in the app's token cache, else None (the full app decides)."""
        if header is None or "app" not in scope:
            return None
        scheme, _, token = header.partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            return None
        hit = scope["app"].state.auth_cache.get("t:" + hashlib.sha256(token).hexdigest())
        if hit is None or hit[0] is None or hit[1] <= time.monotonic():
            return None
        return hit[0]

    async def _redeem(self, scope, user, body):
        return await self.ledger.redeem_request(scope["app"].state.committer, user, body)

    async def _post(self, scope, user, body):
        return 200, await self.ledger.post_request(scope["app"].state.committer, body, user)  # per-type rights too


def _replay(body: bytes, receive):
    """A receive callable that gives the body already read, then whatever the connection says next."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
