"""Logging in and out (console session cookie), API tokens, the caller's identity; users and audit log (admin)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from weixi.api.auth import check_origin, client_ip, current_user, forget_token, login_session, logout_session, require
from weixi.api.errors import request_locale, weixi_error
from weixi.api.permissions import PERMISSIONS, pii_unmasked
from weixi.errors import Forbidden, NotFound, TooManyRequests, Unauthenticated
from weixi.users import service as users
from weixi.users.service import User

router = APIRouter(prefix="/api", tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    username: str
    role: str
    member_id: str | None = None
    staff_id: str | None = None  # the login's staff id on the roster; None: the username is the staff id
    active: bool = True


class Me(UserOut):
    permissions: list[str]
    pii_unmasked: bool


class LoginOut(BaseModel):
    user: Me
    csrf_token: str = Field(description="Send it as the X-CSRF-Token header on POST/PUT/PATCH/DELETE.")


class TokenIn(BaseModel):
    name: str | None = Field(None, max_length=128, description="What the token is for, e.g. 'crm-sync'.")


class TokenOut(BaseModel):
    token: str = Field(description="Shown once; only its hash is stored.")
    username: str


class RevokeIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class NewUser(BaseModel):
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(
        max_length=256,
        description=f"At least {users.MIN_PASSWORD} characters and not easy to "
        "guess (no common password): otherwise 422 password_too_short or "
        "weak_password.",
    )
    role: Literal["admin", "analyst", "manager", "agent", "clerk", "member"]
    member_id: str | None = Field(None, max_length=128)
    staff_id: str | None = Field(
        None, max_length=128, description="Who the login is on the staff roster (default: the username)."
    )


def user_out(user: User) -> dict:
    return {
        "username": user.username,
        "role": user.role,
        "member_id": user.member_id,
        "staff_id": user.staff_id,
        "active": user.active,
    }


def me(user: User) -> dict:
    return {
        **user_out(user),
        "permissions": sorted(p for p, roles in PERMISSIONS.items() if user.role in roles),
        "pii_unmasked": pii_unmasked(user.role),
    }


@router.post(
    "/auth/login",
    response_model=LoginOut,
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "rate-limited"},
        403: {"description": "sent from another site's page (cross_origin)"},
    },
)
def login(body: Credentials, request: Request, response: Response):
    """Log in with username and password: sets the HttpOnly session cookie and returns the CSRF token.
    Five failures for one username from one address within five minutes block it for the rest of the window.
    A browser request whose ``Origin`` (or ``Referer``) is another site is refused (403 ``cross_origin``)."""
    check_origin(request)
    try:
        user = users.authenticate(request.app.state.engine, body.username, body.password, client_ip(request))
    except users.LoginRateLimited as exc:
        raise TooManyRequests("too_many_logins", retry_after=exc.retry_after) from exc
    if user is None:
        raise Unauthenticated("login_failed")
    csrf = login_session(response, user, request)
    users.audit(request.app.state.engine, user, "login", user.username, {"ip": client_ip(request)})
    return {"user": me(user), "csrf_token": csrf}


@router.post("/auth/logout")
def logout(request: Request, response: Response, user: User = Depends(current_user)) -> dict:
    """End the console session and clear its cookie."""
    logout_session(request, response)
    return {"logged_out": True, "username": user.username}


@router.get("/auth/me", response_model=Me)
def whoami(user: User = Depends(current_user)):
    """The caller: role, member (for member logins), permissions, and whether phone/ID numbers show unmasked."""
    return me(user)


@router.post("/auth/token", response_model=TokenOut, status_code=201)
def new_token(request: Request, body: TokenIn | None = None, user: User = Depends(current_user)):
    """Issue an API token for the caller (shown once)."""
    token = users.issue_token(request.app.state.engine, user, body.name if body else None)
    users.audit(request.app.state.engine, user, "token.issue", user.username, {"name": body.name if body else None})
    return {"token": token, "username": user.username}


@router.post("/auth/token/revoke")
def revoke(body: RevokeIn, request: Request, user: User = Depends(current_user)) -> dict:
    """Revoke an API token: your own, or anyone's for an admin."""
    engine = request.app.state.engine
    owner = users.user_for_token(engine, body.token)
    if owner is None:
        raise NotFound("token_not_found")
    if owner.id != user.id and user.role != "admin":
        raise Forbidden("token_not_own")
    users.revoke_token(engine, body.token)
    forget_token(request, body.token)
    users.audit(engine, user, "token.revoke", owner.username)
    return {"revoked": True, "username": owner.username}


@router.get("/users", response_model=list[UserOut], tags=["admin"])
def list_users(request: Request, user: User = Depends(require("users:manage"))):
    """Every login and its role."""
    return [user_out(u) for u in users.list_users(request.app.state.engine)]


@router.post("/users", response_model=UserOut, status_code=201, tags=["admin"])
async def create_user(body: NewUser, request: Request, user: User = Depends(require("users:manage"))):
    """Create a login. A member login needs the member id whose points it sees."""
    engine = request.app.state.engine
    try:
        created = await run_in_threadpool(
            users.create_user, engine, body.username, body.password, body.role, body.member_id, body.staff_id
        )
    except users.WeakPassword as exc:  # the envelope says which field of the body it is about
        answer = weixi_error(exc, request_locale(request))
        answer.details = [{"in": "body", "field": "password"}]
        raise answer from exc
    detail = {"role": created.role, **({"staff_id": created.staff_id} if created.staff_id else {})}
    users.audit(engine, user, "user.create", created.username, detail)
    return user_out(created)


class StaffIdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: str | None = Field(None, max_length=128, description="The staff id on the roster; null unlinks it.")


@router.put("/users/{username}/staff", response_model=UserOut, tags=["admin"])
def set_staff_id(
    body: StaffIdIn,
    request: Request,
    username: str = Path(max_length=64),
    user: User = Depends(require("users:manage")),
):
    """Link a login to its staff id on the roster (checked against the roster; one login per staff id), or unlink
    it (``null``: the username is the staff id)."""
    engine = request.app.state.engine
    changed = users.set_staff_id(engine, username, body.staff_id)
    users.audit(engine, user, "user.staff_id", username, {"staff_id": changed.staff_id})
    return user_out(changed)


@router.get("/audit", tags=["admin"])
def audit_log(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    action: str | None = Query(None, max_length=64),
    username: str | None = Query(None, max_length=64),
    user: User = Depends(require("audit:read")),
) -> dict:
    """The newest audit entries: logins, unmasked personal data views, tokens, users, cancellations, reversals,
    plan applies, closes."""
    return {"entries": users.audit_entries(request.app.state.engine, limit, action, username)}
