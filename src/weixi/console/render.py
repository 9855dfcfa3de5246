"""Rendering console pages: one Jinja2 environment per locale with the gettext catalogue installed, number and
money filters, security headers, and the HTML error page used for console paths (outside ``/api``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from babel.numbers import format_decimal
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from weixi import i18n
from weixi.console import nav
from weixi.messages import render as render_error
from weixi.names import display, plan_names

TEMPLATES = Path(__file__).resolve().parent / "templates"
# Everything comes from this server: no CDN, no inline script. Styles set by ECharts through the DOM are allowed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Vary": "Cookie",
}
_envs: dict[str, Environment] = {}


def _babel_locale(locale: str) -> str:
    return "zh_Hans_CN" if locale == "zh_CN" else "en"


def environment(locale: str) -> Environment:
    env = _envs.get(locale)
    if env is not None:
        return env
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)
    where = _babel_locale(locale)

    def num(value: Any) -> str:
        return "-" if value is None else format_decimal(value, locale=where)

    def fen(value: Any) -> str:
        """Integer fen as yuan with two decimals."""
        return "-" if value is None else format_decimal(Decimal(int(value)) / 100, format="#,##0.00", locale=where)

    def yuan(value: Any) -> str:
        """A yuan amount given as a decimal string."""
        return "-" if value is None else format_decimal(Decimal(str(value)), format="#,##0.00", locale=where)

    def say(value: Any) -> str:
        """A refusal or problem in this page's language: a value with a ``code`` (a :class:`weixi.errors.WeixiError`,
        a :class:`weixi.errors.Problem`, a plan diagnostic) is rendered from the error catalogue by its code; a
        text is one already rendered in this language (an error page's message) and is shown as it is."""
        if getattr(value, "code", None) is not None and hasattr(value, "params"):
            return render_error(value, locale)
        return "" if value is None else str(value)

    def name(value: Any, kind: str) -> str:
        """A domain code's display name in this page's language (:func:`weixi.names.display`)."""
        return display(kind, value, locale)

    env.filters.update(num=num, fen=fen, yuan=yuan, say=say, name=name, plan_name=plan_name)
    _envs[locale] = env
    return env


@pass_context
def plan_name(context: Any, value: Any, kind: str) -> str:
    """A tier, reward, rule or key-account id as the active plan names it (``{{ t|plan_name("tier") }}``); the id
    itself when the plan does not name it. The plan's names are read once per request."""
    if value is None:
        return ""
    request = context.get("request")
    return (active_plan_names(request).get(kind) or {}).get(str(value), str(value))


def active_plan_names(request: Request | None) -> dict[str, dict[str, str]]:
    """The active plan's names of its tiers, rewards, rules and key-account levels (empty before any plan)."""
    if request is None:
        return {}
    cached = getattr(request.state, "plan_names", None)
    if cached is None:
        from weixi.plans.service import NoActivePlan, active_plan

        engine = getattr(request.app.state, "engine", None)
        cached = {}
        if engine is not None:
            try:
                with engine.connect().execution_options(readonly=True) as conn, conn.begin():
                    _, plan = active_plan(conn)
                cached = plan_names(plan)
            except NoActivePlan:
                cached = {}
        request.state.plan_names = cached
    return cached


def translator(request: Request):
    """``_`` for Python code serving ``request``: the catalogue of the request's locale."""
    translations = i18n.translations(i18n.locale_of(request))
    return translations.ugettext


def page(
    request: Request, template: str, user=None, status: int = 200, headers: dict | None = None, **context: Any
) -> HTMLResponse:
    """Render ``template`` with the common context: user, navigation, CSRF token, locale and language links."""
    from weixi.api.auth import csrf_token

    locale = i18n.locale_of(request)
    env = environment(locale)
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    common = {
        "request": request,
        "user": user,
        "locale": locale,
        "html_lang": i18n.HTML_LANG[locale],
        "nav": nav.visible(user, request.url.path),
        "csrf": csrf_token(request),
        "languages": [
            {
                "code": code,
                "name": i18n.LANGUAGE_NAMES[code],
                "current": code == locale,
                "href": f"/lang/{code}?next={quote(path, safe='')}",
            }
            for code in i18n.LOCALES
        ],
        "role_label": nav.role_label(user.role, locale) if user else None,
    }
    html = env.get_template(template).render(**common, **context)
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def fragment(
    request: Request, template: str, status: int = 200, headers: dict | None = None, **context: Any
) -> HTMLResponse:
    """Render a partial (an htmx swap target) in the request's locale."""
    from weixi.api.auth import csrf_token

    locale = i18n.locale_of(request)
    html = (
        environment(locale)
        .get_template(template)
        .render(request=request, locale=locale, csrf=csrf_token(request), **context)
    )
    return HTMLResponse(html, status_code=status, headers={**HEADERS, **(headers or {})})


def safe_next(value: str | None, default: str = "/") -> str:
    """Only local paths may be redirect targets (no ``//host`` or ``scheme:``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value or "\n" in value:
        return default
    return value


def html_error_page(request: Request, status: int, code: str, message: str) -> Response | None:
    """The console's error page for paths outside ``/api`` (``app.state.html_error_page``); None for others.

    401 on a page sends the browser to the login form (htmx requests get an ``HX-Redirect``); other errors render
    ``error.html`` (or a small fragment for htmx swaps) in the request's language, with the status code.
    """
    path = request.url.path
    if path.startswith(("/api", "/static/", "/openapi.json", "/docs")):  # the API's own paths keep the envelope
        return None
    htmx = request.headers.get("HX-Request") == "true"
    if status == 401:
        # back to the page after logging in; a form post cannot be replayed, so it goes to the start page
        here = path + (f"?{request.url.query}" if request.url.query else "")
        target = "/login?next=" + quote(safe_next(here), safe="") if request.method == "GET" else "/login"
        if htmx:
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    user = getattr(request.state, "weixi_auth", (None,))[0] if hasattr(request.state, "weixi_auth") else None
    if htmx:
        return fragment(request, "_error.html", status=status, status_code=status, code=code, message=message)
    return page(request, "error.html", user, status=status, status_code=status, code=code, message=message)
