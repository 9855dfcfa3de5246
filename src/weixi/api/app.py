"""The one FastAPI app that serves the REST API (``/api``), the OpenAPI spec, offline ``/docs`` and the console.

``create_app(db_url, data_dir)`` opens the database (upgrading its schema), mounts ``/static`` from
``weixi/console/static`` and includes ``weixi.console.routes.router`` when that module exists.
"""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from weixi import __version__, settings
from weixi.adapters import schema
from weixi.adapters.db import database_url, make_engine
from weixi.adapters.writer import Committer
from weixi.adapters.writer_process import ProcessCommitter
from weixi.api import errors
from weixi.api.auth import current_state
from weixi.api.errors import answer, coded, request_locale
from weixi.api.fastpath import FastWrites
from weixi.errors import Invalid

# The console mounts its pages on this app (weixi.console.routes: ``router`` and ``html_error_page``). It is
# imported by name because it sits above the API (it uses weixi.api.auth, errors and permissions); see
# docs/architecture.md, "Layers and the contracts that keep them".
CONSOLE = "weixi.console.routes"
STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
MAX_BODY_BYTES = 2 * 1024 * 1024
# The group-commit writer thread and the event loop share the GIL: a short switch interval keeps the writer from
# waiting up to 5 ms (Python's default) for the GIL after every SQLite call. Set by ``weixi serve``.
SWITCH_INTERVAL = 0.001
JSON_TYPES = ("application/json",)
SECURITY_HEADERS = errors.SECURITY_HEADERS  # on every answer, a 500 included (see weixi.api.errors)

DESCRIPTION = """Weixi (维系) REST API: points ledger, members, plans and the monthly close.

Authenticate with `Authorization: Bearer <token>` (`weixi users token USER`, or `POST /api/auth/token`) or with
the console's session cookie (`POST /api/auth/login`; then send `X-CSRF-Token` on every POST/PUT/PATCH/DELETE).
Every error is `{"error": {"code", "message", "details"}}`. See docs/api.md for the role matrix."""


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body streams in (no Content-Length); FastAPI passes HTTP exceptions through, and the
    error handler answers 413 ``payload_too_large`` with ``max_body``."""

    def __init__(self, max_body: int):
        super().__init__(413, f"request body is larger than {max_body} bytes")
        self.max_body = max_body


class Guard:
    """ASGI middleware: remembers the serving app for :mod:`weixi.api.auth`, refuses bodies over
    ``max_body`` bytes (413) and API bodies that are not JSON (415), and adds ``SECURITY_HEADERS`` to every
    response (no MIME sniffing, no framing by other sites)."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        token = current_state.set(scope["app"].state) if "app" in scope else None
        try:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            length = headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                locale = request_locale(Request(scope))
                refused = (
                    coded(413, "payload_too_large", locale, {"max": self.max_body})
                    if length.isdigit()
                    else coded(400, "bad_content_length", locale)
                )
                return await answer(refused)(scope, receive, send)
            has_body = (length not in (None, "0")) or "transfer-encoding" in headers
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if (
                scope["path"].startswith("/api/")
                and scope["method"] in ("POST", "PUT", "PATCH", "DELETE")
                and has_body
                and ctype not in JSON_TYPES
            ):
                refused = coded(
                    415,
                    "unsupported_media_type",
                    request_locale(Request(scope)),
                    {"content_type": ctype or "no type"},
                    [
                        {
                            "in": "header",
                            "field": "content-type",
                            "message": "expected application/json",
                            "code": "unsupported_media_type",
                        }
                    ],
                )
                return await answer(refused)(scope, receive, send)
            await self.app(scope, self._limited(receive), self._headers(send))
        finally:
            if token is not None:
                current_state.reset(token)

    @staticmethod
    def _headers(send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in names:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        return with_headers

    def _limited(self, receive):
        seen = 0

        async def limited():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        return limited


def create_app(
    db_url: str | None = None,
    data_dir: str | None = None,
    *,
    secure_cookies: bool = True,
    recover_jobs: bool = True,
    writer: str = "thread",
) -> FastAPI:
    """The app on database ``db_url`` (default ``$WEIXI_DB`` or ./weixi.db) and archive ``data_dir``.
    ``recover_jobs``: mark close jobs left running by a stopped server as failed (off in extra worker processes).
    ``writer``: where the group-commit writer runs, ``thread`` (in this process) or ``process`` (a process of its
    own, what ``weixi serve`` uses)."""
    engine = make_engine(db_url)
    schema.upgrade(engine)
    app = FastAPI(
        title="Weixi (维系) API",
        version=__version__,
        description=DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.engine = engine
    app.state.data_dir = Path(data_dir or settings.DATA.value())
    app.state.secure_cookies = secure_cookies
    app.state.auth_cache = {}
    app.state.csrf_secret = secrets.token_bytes(32)
    if writer == "process":
        app.state.committer = ProcessCommitter(engine, database_url(db_url))
        app.state.committer.start()
    elif writer == "thread":
        app.state.committer = Committer(engine)
    else:
        raise Invalid("unknown_writer_kind", writer=writer)
    errors.install(app)
    app.add_middleware(Guard)
    # outermost: the hot writes with a cached API token skip FastAPI's routing and models (weixi.api.fastpath)
    app.add_middleware(FastWrites, max_body=MAX_BODY_BYTES, security_headers=SECURITY_HEADERS)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from weixi.api.routes import all_routers

    for router in all_routers():
        app.include_router(router)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="Weixi API",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def docs_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    try:  # by name: the console is built on this package (its auth, errors, permissions), not under it
        console_routes = importlib.import_module(CONSOLE)
    except ImportError as exc:
        if exc.name != CONSOLE and exc.name != "weixi.console":
            raise
    else:
        app.include_router(console_routes.router)
        app.state.html_error_page = console_routes.html_error_page  # console paths get HTML error pages

    if recover_jobs:
        from weixi.close.jobs import fail_interrupted

        fail_interrupted(engine)
    return app


def app_from_env() -> FastAPI:
    """The app of one ``weixi serve --workers N`` worker process: database, archive and cookie setting come from
    ``WEIXI_DB``, ``WEIXI_DATA`` and ``WEIXI_SECURE_COOKIES`` (set by ``weixi serve``)."""
    import gc
    import sys

    sys.setswitchinterval(SWITCH_INTERVAL)
    app = create_app(
        settings.DB.raw(),
        settings.DATA.raw(),
        secure_cookies=settings.SECURE_COOKIES.value(),
        recover_jobs=False,
        writer=settings.WRITER.value(),
    )
    if settings.CSRF_SECRET.is_set():  # set by weixi serve: a login form shown by one worker posts to another
        app.state.csrf_secret = bytes.fromhex(settings.CSRF_SECRET.value())
    gc.freeze()  # long-lived objects out of the collector's way (shorter pauses under load)
    return app
