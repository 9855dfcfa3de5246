"""Member search and the member 360 page. Phone and ID numbers are masked unless the role needs them
(:func:`weixi.api.permissions.pii_unmasked`); every page that shows them in clear is written to the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse

from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import plan_today
from weixi.console.guard import page_user
from weixi.console.render import fragment, page
from weixi.errors import Forbidden, NotFound
from weixi.ledger import queries
from weixi.members import search as member_search
from weixi.members.overview import plan_names
from weixi.users.service import User

router = APIRouter()
HISTORY_LINES = 200


def _search(request: Request, user: User, q: str) -> tuple[list[dict], member_search.SearchError | None]:
    state = request.app.state
    try:
        pii = pii_unmasked(user.role)  # only these roles find a member by the last digits of a phone number
        return member_search.search_audited(
            state.engine, state.data_dir, user, q, reveal=pii, phone_fragments=pii
        ), None
    except member_search.SearchError as exc:
        return [], exc  # the page renders it in its language (|say)


@router.get("/members")
def search_page(
    request: Request, q: str = Query("", max_length=200), user: User = Depends(page_user("members:search"))
):
    rows, error = _search(request, user, q) if q.strip() else ([], None)
    return page(
        request,
        "members.html",
        user,
        q=q,
        rows=rows,
        error=error,
        searched=bool(q.strip()),
        names=plan_names(request.app.state.engine),
    )


@router.get("/members/results")
def search_results(
    request: Request, q: str = Query("", max_length=200), user: User = Depends(page_user("members:search"))
):
    rows, error = _search(request, user, q) if q.strip() else ([], None)
    return fragment(
        request,
        "_member_rows.html",
        q=q,
        rows=rows,
        error=error,
        searched=bool(q.strip()),
        names=plan_names(request.app.state.engine),
    )


@router.get("/members/{member_id}")
def member_page(member_id: str, request: Request, user: User = Depends(page_user("members:read"))):
    if user.role == "member":  # members see themselves on their own page
        if user.member_id != member_id:
            raise Forbidden("member_own_page_only")
        return RedirectResponse("/me", status_code=303)
    state = request.app.state
    reveal = pii_unmasked(user.role)
    today = plan_today(state.engine)
    found = member_search.show(state.engine, state.data_dir, user, member_id, today, reveal)  # audited when revealed
    if found is None:
        raise NotFound("unknown_member", member=member_id[:128])
    statement = queries.statement(state.engine, member_id, None, None)
    lines = list(reversed(statement["lines"]))[:HISTORY_LINES] if statement else []
    return page(
        request,
        "member.html",
        user,
        m=found,
        lines=lines,
        statement=statement,
        revealed=reveal,
        names=plan_names(state.engine),
        today=today,
        more=statement and len(statement["lines"]) > HISTORY_LINES,
    )
