"""The login form's second tab: a member logs in with their phone number and a one-time SMS code
(:mod:`weixi.members.otp`). ``GET /login/sms`` shows the form; ``POST /login/sms/code`` sends a code (the same
answer whether or not a member has the number); ``POST /login/sms`` logs in. The routes live under ``/login`` so that
the visitor's ``weixi_login`` cookie, to which the form's CSRF token is bound, comes with them; each POST is refused
before anything else when it comes from another site or without the token."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from weixi.api.auth import LOGIN_COOKIE, check_origin, client_ip, login_form, login_session, optional_user, verify_csrf
from weixi.console import nav
from weixi.console.render import page, safe_next, translator
from weixi.errors import Forbidden
from weixi.i18n import locale_of
from weixi.members import otp
from weixi.messages import hint, render

router = APIRouter(include_in_schema=False)


def sms_page(request: Request, status: int = 200, headers: dict | None = None, **context):
    context.setdefault("next", "")
    return login_form(
        request,
        lambda: page(request, "login.html", None, status=status, headers=headers, mode="sms", **context),
    )


def _refused(request: Request, exc, phone: str, next_: str, **context):
    locale = locale_of(request)
    return sms_page(
        request,
        status=exc.status,
        headers=getattr(exc, "headers", None),
        error=render(exc, locale),
        error_hint=hint(exc.code, locale),
        phone=phone,
        next=next_,
        **context,
    )


def _checked(request: Request, csrf_token: str, phone: str, next_: str):
    """None when the form is this visitor's and from this site; else the page that says it expired."""
    _ = translator(request)
    try:
        check_origin(request)
        verify_csrf(request, csrf_token)
    except Forbidden as exc:
        return sms_page(
            request,
            status=exc.status,
            phone=phone,
            next=next_,
            error=_("This login form has expired or was sent from another site: log in again."),
        )
    return None


@router.get("/login/sms")
async def sms_form(request: Request, next: str = ""):
    user = await optional_user(request)
    if user is not None:
        return RedirectResponse(safe_next(next, nav.home(user)), status_code=303)
    return sms_page(request, next=safe_next(next, ""))


@router.post("/login/sms/code")
def send_code(
    request: Request,
    phone: str = Form("", max_length=32),
    csrf_token_field: str = Form("", alias="csrf_token"),
    next: str = Form(""),
):
    """Send a login code if a member has the number; the page says the same either way."""
    _ = translator(request)
    next_ = safe_next(next, "")
    refused = _checked(request, csrf_token_field, phone, next_)
    if refused is not None:
        return refused
    try:
        otp.request_code(
            request.app.state.engine, request.app.state.data_dir, phone, client_ip(request), locale_of(request)
        )
    except (otp.PhoneInvalid, otp.CodeThrottled) as exc:
        return _refused(request, exc, phone, next_)
    return sms_page(
        request,
        phone=phone,
        next=next_,
        sent=True,
        notice=_(
            "If this number belongs to a member, a 6-digit code is on its way by text message. "
            "It is valid for 5 minutes."
        ),
    )


@router.post("/login/sms")
def sms_login(
    request: Request,
    phone: str = Form("", max_length=32),
    code: str = Form("", max_length=16),
    csrf_token_field: str = Form("", alias="csrf_token"),
    next: str = Form(""),
):
    next_ = safe_next(next, "")
    refused = _checked(request, csrf_token_field, phone, next_)
    if refused is not None:
        return refused
    try:
        user = otp.log_in(request.app.state.engine, phone, code, client_ip(request))
    except (otp.PhoneInvalid, otp.CodeRefused) as exc:
        return _refused(request, exc, phone, next_, sent=True)
    response = RedirectResponse(safe_next(next_, nav.home(user)), status_code=303)
    response.delete_cookie(
        LOGIN_COOKIE, path="/login", httponly=True, samesite="strict", secure=request.app.state.secure_cookies
    )
    login_session(response, user, request)
    return response
