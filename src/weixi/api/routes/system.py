"""Health and the permission matrix."""

from __future__ import annotations

from fastapi import APIRouter, Request

from weixi import __version__
from weixi.api.permissions import matrix

router = APIRouter(prefix="/api", tags=["system"])


@router.get("/health")
def health(request: Request) -> dict:
    """Liveness: no authentication, no database work."""
    return {"status": "ok", "version": __version__}


@router.get("/permissions")
def permissions() -> dict:
    """The role matrix: each permission and the roles that hold it (public, it is documentation)."""
    return {"permissions": matrix()}
