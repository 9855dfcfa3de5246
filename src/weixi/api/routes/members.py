"""Member search and member 360, with phone and ID numbers masked unless a role that may see them asks."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from weixi.api.auth import own_member, require
from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import ID, engine_of, plan_today
from weixi.errors import Forbidden, NotFound, Where
from weixi.members import search as member_search
from weixi.users.service import User

router = APIRouter(prefix="/api", tags=["members"])

REVEAL = Query(
    False,
    description="Show phone and ID numbers in clear: only roles admin, manager and agent; "
    "every such view is written to the audit log.",
)
SEARCH_TEXT = Query(
    min_length=1,
    max_length=64,
    description="Member id (or its start), the whole phone number, or the start of the name. The last "
    "4+ digits of a phone number find it only for roles admin, manager and agent, and "
    "every such search is written to the audit log.",
)


def _reveal(user: User, requested: bool) -> bool:
    if requested and not pii_unmasked(user.role):
        raise Forbidden("pii_forbidden", role=user.role)
    return requested


@router.get("/members")
def search(
    request: Request,
    q: str = SEARCH_TEXT,
    limit: int = Query(20, ge=1, le=member_search.MAX_RESULTS),
    reveal: bool = REVEAL,
    user: User = Depends(require("members:search")),
) -> dict:
    """Find members in the archive by id, phone or name."""
    reveal = _reveal(user, reveal)
    try:
        rows = member_search.search_audited(
            engine_of(request),
            request.app.state.data_dir,
            user,
            q,
            limit,
            reveal,
            phone_fragments=pii_unmasked(user.role),
        )
    except member_search.SearchError as exc:
        raise member_search.SearchError(exc.code, Where(field="q"), **exc.params) from None
    return {"query": q, "masked": not reveal, "members": rows}


@router.get("/members/{member_id}")
def member(
    request: Request, member_id: str = ID, reveal: bool = REVEAL, user: User = Depends(require("members:read"))
) -> dict:
    """Member 360: profile, tier and its history, segments, points and lots, recent activity, complaints, contract."""
    own_member(user, member_id)
    reveal = _reveal(user, reveal)
    engine = engine_of(request)
    found = member_search.show(engine, request.app.state.data_dir, user, member_id, plan_today(engine), reveal)
    if found is None:
        raise NotFound("unknown_member", member=member_id)
    return {**found, "masked": not reveal}
