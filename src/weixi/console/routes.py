"""The console's routes: log in and out, the language switch, and the pages (one module per area).

Included by :func:`weixi.api.app.create_app`. Everything here is HTML (or chart JSON for the pages);
the REST API under ``/api`` is separate.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from weixi import i18n
from weixi.api.auth import (
    LOGIN_COOKIE,
    check_origin,
    client_ip,
    current_user,
    login_form,
    login_session,
    logout_session,
    optional_user,
    verify_csrf,
)
from weixi.console import (
    analyst_jobs,
    audit,
    campaigns,
    catalogue,
    close,
    dashboard,
    incentives,
    me,
    member_actions,
    member_login,
    members,
    nav,
    operations,
    plans,
    retention,
    targets_pages,
    team,
)
from weixi.console import counter as counter_pages
from weixi.console import uploads as uploads_pages
from weixi.console import users as users_pages
from weixi.console.render import (
    html_error_page,  # noqa: F401 (api.app reads console_routes.html_error_page)
    page,
    safe_next,
    translator,
)
from weixi.errors import Forbidden
from weixi.users import service as users
from weixi.users.service import User

LANG_COOKIE_AGE = 365 * 24 * 3600


router = APIRouter(include_in_schema=False)


@router.get("/")
async def start(request: Request):
    user = await optional_user(request)
    return RedirectResponse(nav.home(user) if user else "/login", status_code=303)


def login_page(request: Request, status: int = 200, headers: dict | None = None, **context):
    """The login form, its CSRF token bound to this visitor's ``weixi_login`` cookie (set here)."""
    return login_form(request, lambda: page(request, "login.html", None, status=status, headers=headers, **context))


@router.get("/login")
async def login_get(request: Request, next: str = ""):
    user = await optional_user(request)
    if user is not None:
        return RedirectResponse(safe_next(next, nav.home(user)), status_code=303)
    return login_page(request, next=safe_next(next, ""))


@router.post("/login")
def login(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=256),
    csrf_token_field: str = Form("", alias="csrf_token"),
    next: str = Form(""),
):
    _ = translator(request)
    try:  # another site's page, or a form without this visitor's token: refused before any password is checked
        check_origin(request)
        verify_csrf(request, csrf_token_field)
    except Forbidden as exc:
        return login_page(
            request,
            status=exc.status,
            next=safe_next(next, ""),
            error=_("This login form has expired or was sent from another site: log in again."),
        )
    engine = request.app.state.engine
    try:
        user = users.authenticate(engine, username, password, client_ip(request)) if username and password else None
    except users.LoginRateLimited as exc:
        return login_page(
            request,
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
            error=_("Too many failed logins: try again in %(seconds)s seconds.") % {"seconds": exc.retry_after},
            username=username,
            next=safe_next(next, ""),
        )
    if user is None:
        return login_page(
            request, status=401, error=_("Wrong username or password."), username=username, next=safe_next(next, "")
        )
    response = RedirectResponse(safe_next(next, nav.home(user)), status_code=303)
    response.delete_cookie(
        LOGIN_COOKIE, path="/login", httponly=True, samesite="strict", secure=request.app.state.secure_cookies
    )
    login_session(response, user, request)
    users.audit(engine, user, "login", user.username, {"ip": client_ip(request), "via": "console"})
    return response


@router.post("/logout")
async def logout(request: Request, user: User = Depends(current_user)):
    response = RedirectResponse("/login", status_code=303)
    await run_in_threadpool(logout_session, request, response)
    return response


@router.get("/lang/{code}")
def language(code: str, next: str = "/"):
    """Switch the language: a cookie that every page reads (Chinese when absent)."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.COOKIE, i18n.normalize(code), max_age=LANG_COOKIE_AGE, samesite="lax", path="/")
    return response


for module in (
    dashboard,
    members,
    catalogue,
    plans,
    close,
    campaigns,
    incentives,
    counter_pages,
    member_actions,
    analyst_jobs,
    retention,
    targets_pages,
    operations,
    team,
    me,
    member_login,
    users_pages,
    audit,
    uploads_pages,
):
    router.include_router(module.router)
