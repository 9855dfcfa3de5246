"""One JSON error envelope for every error the app returns:

    {"error": {"code": "not_enough_points", "message": "not enough points: balance 30 on 2026-11-02, needs 50",
               "params": {"balance": 30, "cost": 50, "day": "2026-11-02"}, "where": null, "details": []}}

``code`` is stable for programs (``docs/errors.md``), ``params`` holds the numbers and names in it, ``where`` the
field or file location it is about (or null), ``message`` is for people, ``details`` lists located problems (a
field of the request body, a line of a plan file). A :class:`weixi.errors.WeixiError` raised by an endpoint
becomes this envelope with the status of its class (409 for a :class:`~weixi.errors.Conflict`, ...) and its
message rendered from the catalogue in the caller's language (``Accept-Language``; English by default).
Exception text from unexpected errors never reaches the client.

Console pages (paths outside ``/api``) may render their own HTML page for an error: set
``app.state.html_error_page = fn(request, status, code, message) -> Response | None``; when it returns None
the JSON envelope is used.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from weixi import i18n
from weixi.adapters.writer import WriterError
from weixi.errors import Problem, WeixiError
from weixi.messages import accept_language, normalize, render

log = logging.getLogger("weixi.api")
# on every response: no MIME sniffing, no framing by other sites, no full URLs to other sites. The middleware
# (weixi.api.app.Guard) adds them; a 500 is sent by Starlette's outermost ServerErrorMiddleware, outside every
# middleware, so its handler here sets them itself.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


class ApiError(Exception):
    """Raised by endpoints and dependencies; becomes the envelope with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        details: list | None = None,
        headers: dict[str, str] | None = None,
        params: dict | None = None,
        where: dict | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.details = details or []
        self.headers = headers
        self.params = params or {}
        self.where = where


def coded(
    status: int,
    code: str,
    locale: str = "en",
    params: dict | None = None,
    details: list | None = None,
    headers: dict[str, str] | None = None,
    where: dict | None = None,
    message: str | None = None,
) -> ApiError:
    """The app's own answer ``code`` (``not_found``, ``malformed_json``, ``payload_too_large``...), its sentence from
    the catalogue in ``locale``. ``message``: the English text when it says more than the catalogue's sentence (the
    writer's reason); other languages still get the catalogue's."""
    params = params or {}
    text = message if message is not None and normalize(locale) == "en" else render(Problem(code, params), locale)
    return ApiError(status, text, code, details, headers, params, where)


def answer(exc: ApiError) -> JSONResponse:
    """The envelope of ``exc`` as a response (for middleware, which answers outside the exception handlers)."""
    return envelope(exc.status, exc.message, exc.code, exc.details, exc.headers, exc.params, exc.where)


def error_body(
    status: int,
    message: str,
    code: str | None = None,
    details: list | None = None,
    params: dict | None = None,
    where: dict | None = None,
) -> dict:
    """The envelope: ``{"error": {"code", "message", "params", "where", "details"}}``."""
    return {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": message,
            "params": params or {},
            "where": where,
            "details": details or [],
        }
    }


def envelope(
    status: int,
    message: str,
    code: str | None = None,
    details: list | None = None,
    headers: dict[str, str] | None = None,
    params: dict | None = None,
    where: dict | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, details, params, where), status_code=status, headers=headers)


def _console_path(request: Request) -> bool:
    return not request.url.path.startswith("/api") and request.url.path not in ("/openapi.json",)


def _respond(
    request: Request,
    status: int,
    message: str,
    code: str | None = None,
    details: list | None = None,
    headers: dict[str, str] | None = None,
    params: dict | None = None,
    where: dict | None = None,
) -> Response:
    page = getattr(request.app.state, "html_error_page", None)
    if page is not None and _console_path(request):
        html = page(request, status, code or CODES.get(status, "error"), message)
        if html is not None:
            return html
    return envelope(status, message, code, details, headers, params, where)


def request_locale(request: Request) -> str:
    """The language an error is told in: the console's (its cookie) on a page, else ``Accept-Language``
    (English by default)."""
    if _console_path(request):
        return i18n.locale_of(request)
    return accept_language(request.headers.get("accept-language"))


def weixi_error(exc: WeixiError, locale: str = "en") -> ApiError:
    """The API's answer to a :class:`WeixiError`: the status of its class, its code, params and where, and its
    message in ``locale``."""
    where = exc.where.to_json() if exc.where is not None else None
    return ApiError(
        exc.status,
        render(exc, locale),
        exc.code,
        getattr(exc, "details", None),
        headers=exc.headers,
        params=dict(exc.params),
        where=where,
    )


def _location(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body",)] if isinstance(loc, (list, tuple)) else [str(loc)]
    return ".".join(parts)


def validation_details(errors: list[dict]) -> list[dict]:
    out = []
    for e in errors:
        loc = e.get("loc", ())
        where = loc[0] if loc else "body"
        if e.get("type") == "json_invalid":  # loc holds the character position, not a field
            at = f" at character {loc[1]}" if len(loc) > 1 else ""
            out.append(
                {
                    "in": where,
                    "field": "",
                    "message": f"{e.get('msg', '')}{at}",
                    "type": "json_invalid",
                    "code": "json_invalid",
                }
            )
            continue
        out.append(
            {
                "in": where,
                "field": _location(loc[1:]) if len(loc) > 1 else "",
                "message": e.get("msg", ""),
                "type": e.get("type", ""),
                "code": e.get("type", ""),
            }
        )
    return out


async def _api_error(request: Request, exc: ApiError) -> Response:
    return _respond(request, exc.status, exc.message, exc.code, exc.details, exc.headers, exc.params, exc.where)


async def _weixi_error(request: Request, exc: WeixiError) -> Response:
    return await _api_error(request, weixi_error(exc, request_locale(request)))


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    status, locale, headers = exc.status_code, request_locale(request), getattr(exc, "headers", None)
    asked = {"method": request.method, "path": request.url.path}
    if status == 404 and exc.detail in (None, "Not Found"):
        return await _api_error(request, coded(404, "not_found", locale, asked, headers=headers))
    if status == 405:
        return await _api_error(request, coded(405, "method_not_allowed", locale, asked, headers=headers))
    if status == 413 and getattr(exc, "max_body", None) is not None:  # weixi.api.app.BodyTooLarge
        return await _api_error(request, coded(413, "payload_too_large", locale, {"max": exc.max_body}))
    message = exc.detail if isinstance(exc.detail, str) else CODES.get(status, "error").replace("_", " ")
    return _respond(request, status, message, headers=headers)


def invalid_request(details: list[dict], locale: str = "en") -> ApiError:
    """400 ``malformed_json`` or 422 ``invalid_request`` (the first problem located: ``request_part``, ``field``
    and pydantic's English ``problem``); ``details`` lists every problem with its pydantic ``code``."""
    if any(d["type"] == "json_invalid" for d in details):
        return coded(400, "malformed_json", locale, details=details)
    first = details[0] if details else {"in": "body", "field": "", "message": ""}
    params = {"request_part": first["in"], "field": first["field"], "problem": first["message"]}
    if first["field"]:
        return coded(422, "invalid_request", locale, params, details)
    return coded(422, "request_not_valid", locale, {"problem": first["message"]}, details)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    return await _api_error(request, invalid_request(validation_details(list(exc.errors())), request_locale(request)))


def writer_error(exc: WriterError, locale: str = "en") -> ApiError:
    """The API's answer to a write the ledger writer did not take or answer (500 ``write_failed``, 503
    ``writer_unavailable``, 504 ``write_timeout``); the caller may retry with the same ids (writes are idempotent).
    In English the writer's own reason; in other languages the catalogue's sentence of its code."""
    return coded(
        exc.status,
        exc.code,
        locale,
        dict(getattr(exc, "params", None) or {}),
        headers={"Retry-After": "1"} if exc.status != 500 else None,
        message=exc.message,
    )


async def _writer_error(request: Request, exc: WriterError) -> Response:
    if exc.status == 500:
        log.error("%s %s: %s", request.method, request.url.path, exc.message)
    return await _api_error(request, writer_error(exc, request_locale(request)))


def internal_error(locale: str = "en") -> ApiError:
    """500 ``internal_error``: the exception's text never reaches the client (the server logs it)."""
    return coded(500, "internal_error", locale, headers={k.decode(): v.decode() for k, v in SECURITY_HEADERS})


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    try:
        locale = request_locale(request)
    except Exception:  # noqa: BLE001 - the answer to an error must not fail in its turn
        locale = "en"
    return answer(internal_error(locale))


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(WeixiError, _weixi_error)
    app.add_exception_handler(WriterError, _writer_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
