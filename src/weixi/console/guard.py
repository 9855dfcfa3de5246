"""Who may open a console page: the logged-in user whose role holds the page's permission.

Refusals are raised as :class:`weixi.errors.Unauthenticated` (401) and :class:`weixi.errors.Forbidden`; for console paths the app renders them with
:func:`weixi.console.render.html_error_page` (401 → the login form, 403 → the "may not open" page).
"""

from __future__ import annotations

from fastapi import Request

from weixi.api.auth import current_user, optional_user
from weixi.api.permissions import PERMISSIONS, allowed
from weixi.errors import Forbidden, Unauthenticated
from weixi.users.service import User


def page_user(permission: str | None = None):
    """Dependency: the logged-in user (CSRF checked on POST) whose role holds ``permission``."""
    if permission is not None and permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    async def dependency(request: Request) -> User:
        if await optional_user(request) is None:
            raise Unauthenticated("login_required")
        user = await current_user(request)
        if permission is not None and not allowed(user.role, permission):
            raise Forbidden("page_forbidden", role=user.role, permission=permission)
        return user

    dependency.permission = permission
    return dependency


def may(user: User | None, permission: str) -> bool:
    return user is not None and allowed(user.role, permission)
