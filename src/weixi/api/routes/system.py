"""Health and the permission matrix."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from weixi import __version__
from weixi.api.auth import current_user, require
from weixi.api.permissions import matrix
from weixi.users.service import User

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health")
def health(request: Request) -> dict:
    """Liveness: no authentication, no database work."""
    return {"status": "ok", "version": __version__}


@router.get("/permissions")
def permissions(user: User = Depends(current_user)) -> dict:
    """The role matrix: each permission and the roles that hold it. Any login may read it; strangers may not
    (it maps which accounts to attack for what)."""
    return {"permissions": matrix()}


@router.get("/system/writer")
def writer(request: Request, user: User = Depends(require("audit:read"))) -> dict:
    """The group-commit writer of this server process: batches posted, events, time spent writing."""
    return request.app.state.committer.stats()
