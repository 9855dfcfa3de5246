"""The users pages (administrators, ``users:manage``): every login with its role, member, state and last login; a
form that creates a login; a login's page that deactivates or reactivates it (after a confirmation), sets a new
password, lists and revokes its API tokens and issues a new one (shown once).

Every change is written to the audit log (``user.create``, ``user.deactivate``, ``user.reactivate``,
``user.staff_id`` (a login's staff id on the roster), ``user.password``, ``token.issue``, ``token.revoke``, each with ``via: console``). A refused form comes back with
the refusal beside its field, in the page's language (from its code).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from weixi.console.guard import page_user
from weixi.console.render import page
from weixi.errors import Conflict, NotFound
from weixi.operations.clock import local
from weixi.plans import service as plan_service
from weixi.users import admin
from weixi.users import service as users
from weixi.users.service import User

router = APIRouter()
MANAGE = page_user("users:manage")
VIA = {"via": "console"}

# The form field a refusal is about, by its code (shown beside that field).
FIELD_OF = {
    "username_not_allowed": "username",
    "username_taken": "username",
    "password_too_short": "password",
    "weak_password": "password",
    "unknown_role": "role",
    "member_login_needs_member_id": "member_id",
    "member_id_on_staff_login": "member_id",
    "user_staff_not_on_roster": "staff_id",
    "user_staff_id_taken": "staff_id",
    "user_staff_id_on_member_login": "staff_id",
}


def _when(moment, tz) -> str:
    return local(moment, tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _list(request: Request, user: User, status: int = 200, **context):
    engine = request.app.state.engine
    tz = plan_service.plan_zone(engine)
    last = admin.last_logins(engine)
    rows = [{"user": u, "last_login": _when(last.get(u.username), tz)} for u in users.list_users(engine)]
    return page(
        request,
        "users.html",
        user,
        status=status,
        rows=rows,
        roles=users.ROLES,
        min_password=users.MIN_PASSWORD,
        timezone=tz.key,
        form=context.pop("form", {"role": "agent"}),
        **context,
    )


@router.get("/users")
def users_page(request: Request, user: User = Depends(MANAGE)):
    return _list(request, user)


@router.post("/users")
async def create(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=256),
    role: str = Form("", max_length=16),
    member_id: str = Form("", max_length=128),
    staff_id: str = Form("", max_length=128),
    user: User = Depends(MANAGE),
):
    engine = request.app.state.engine
    username, member_id, staff_id = username.strip(), member_id.strip(), staff_id.strip()
    try:
        created = await run_in_threadpool(
            users.create_user, engine, username, password, role, member_id or None, staff_id or None
        )
    except users.UserError as exc:
        form = {"username": username, "role": role, "member_id": member_id, "staff_id": staff_id}
        return _list(request, user, status=exc.status, form=form, errors={FIELD_OF.get(exc.code, "username"): exc})
    detail = {"role": created.role, **({"staff_id": created.staff_id} if created.staff_id else {}), **VIA}
    users.audit(engine, user, "user.create", created.username, detail)
    return RedirectResponse(f"/users/{created.username}?done=created", status_code=303)


def _target(request: Request, username: str) -> User:
    found = users.get_user(request.app.state.engine, username) if len(username) <= 64 else None
    if found is None:
        raise users.UnknownUser("unknown_user", username=username[:64])
    return found


def _detail(request: Request, user: User, username: str, status: int = 200, **context):
    engine = request.app.state.engine
    target = _target(request, username)
    tz = plan_service.plan_zone(engine)
    tokens = [
        {**t, **{k: _when(t[k], tz) for k in ("created_at", "last_used_at", "revoked_at")}}
        for t in admin.tokens(engine, username)
    ]
    return page(
        request,
        "user.html",
        user,
        status=status,
        target=target,
        last_login=_when(admin.last_logins(engine).get(username), tz),
        tokens=tokens,
        timezone=tz.key,
        min_password=users.MIN_PASSWORD,
        myself=target.id == user.id,
        done=context.pop("done", request.query_params.get("done", "")),
        breadcrumbs=context.pop("breadcrumbs", None),
        **context,
    )


@router.get("/users/{username}")
def user_page(username: str, request: Request, user: User = Depends(MANAGE)):
    return _detail(request, user, username)


@router.post("/users/{username}/active")
def set_active(username: str, request: Request, active: str = Form(..., max_length=1), user: User = Depends(MANAGE)):
    engine = request.app.state.engine
    target = _target(request, username)
    on = active == "1"
    if not on and target.id == user.id:  # an administrator who deactivates themselves is locked out at once
        return _detail(request, user, username, status=409, errors={"active": Conflict("cannot_deactivate_self")})
    users.set_active(engine, username, on)
    users.audit(engine, user, "user.reactivate" if on else "user.deactivate", username, VIA)
    return RedirectResponse(f"/users/{username}?done={'reactivated' if on else 'deactivated'}", status_code=303)


@router.post("/users/{username}/staff")
def set_staff_id(
    username: str, request: Request, staff_id: str = Form("", max_length=128), user: User = Depends(MANAGE)
):
    """Link the login to its staff id on the roster (empty: the username is the staff id)."""
    engine = request.app.state.engine
    _target(request, username)
    try:
        changed = users.set_staff_id(engine, username, staff_id)
    except users.UserError as exc:
        return _detail(request, user, username, status=exc.status, errors={"staff_id": exc})
    users.audit(engine, user, "user.staff_id", username, {"staff_id": changed.staff_id, **VIA})
    return RedirectResponse(f"/users/{username}?done=staff", status_code=303)


@router.post("/users/{username}/password")
async def reset_password(
    username: str, request: Request, password: str = Form("", max_length=256), user: User = Depends(MANAGE)
):
    engine = request.app.state.engine
    _target(request, username)
    try:
        await run_in_threadpool(users.set_password, engine, username, password)
    except users.WeakPassword as exc:
        return _detail(request, user, username, status=exc.status, errors={"password": exc})
    users.audit(engine, user, "user.password", username, VIA)
    return RedirectResponse(f"/users/{username}?done=password", status_code=303)


@router.post("/users/{username}/tokens")
def new_token(username: str, request: Request, name: str = Form("", max_length=64), user: User = Depends(MANAGE)):
    """Issue a token for the login: the page shows it this once (only its hash is kept)."""
    engine = request.app.state.engine
    target = _target(request, username)
    token = users.issue_token(engine, target, name.strip() or None)
    users.audit(engine, user, "token.issue", username, {"name": name.strip() or None, **VIA})
    return _detail(request, user, username, status=201, new_token=token, done="token")


@router.post("/users/{username}/tokens/{token_id}/revoke")
def revoke(username: str, token_id: int, request: Request, user: User = Depends(MANAGE)):
    engine = request.app.state.engine
    _target(request, username)
    if not admin.revoke_token_id(engine, username, token_id):
        raise NotFound("token_not_found")
    users.audit(engine, user, "token.revoke", username, {"token": token_id, **VIA})
    return RedirectResponse(f"/users/{username}?done=revoked", status_code=303)
