"""Member search, the member list (filters, sort, pages, export) and the member 360 page. Phone and ID numbers are masked unless the role needs them
(:func:`weixi.api.permissions.pii_unmasked`); every page that shows them in clear is written to the audit log."""

from __future__ import annotations

from datetime import date
from enum import IntEnum
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BeforeValidator, Field

from weixi import i18n
from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import plan_today
from weixi.console import member_actions
from weixi.console.guard import page_user
from weixi.console.render import active_plan_names, fragment, page, translator
from weixi.errors import Forbidden, NotFound
from weixi.ledger import queries
from weixi.members import listing, member360
from weixi.members import search as member_search
from weixi.members.overview import plan_names
from weixi.names import names as code_names
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


T = TypeVar("T")
Blank = Annotated[T, BeforeValidator(lambda v: None if v == "" else v)]  # an empty field of the filter form: no filter
PageSize = IntEnum("PageSize", {f"P{n}": n for n in listing.PAGE_SIZES})  # a query's size is one of these


class ListParams:
    """The member list's filters, sort and page, all from the URL (so a list is bookmarkable)."""

    def __init__(
        self,
        tier: Blank[str | None] = Query(None, max_length=64),
        star: Blank[Annotated[int, Field(ge=1, le=7)] | None] = None,
        value: Blank[Literal["A", "B", "C", "D"] | None] = None,
        activity: Blank[str | None] = Query(None, max_length=32),
        band: Blank[Literal["high", "medium", "low"] | None] = None,
        manager: Blank[str | None] = Query(None, max_length=128),
        status: Blank[Literal["active", "left"] | None] = None,
        contract_before: Blank[date | None] = None,
        sort: Literal[tuple(listing.SORTS)] = "member",  # type: ignore[valid-type]
        dir: Literal["asc", "desc"] = "asc",
        page: int = Query(1, ge=1, le=1_000_000),
        size: PageSize = PageSize.P50,
    ):
        self.filters = listing.Filters(
            tier or None, star, value, activity or None, band, manager or None, status, contract_before
        )
        self.sort, self.dir, self.page, self.size = sort, dir, page, int(size)

    def query(self, **override) -> str:
        pairs = {**self.filters.active(), "sort": self.sort, "dir": self.dir, "size": self.size, "page": self.page}
        pairs.update(override)
        return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


def _listed(request: Request, user: User, p: ListParams) -> dict:
    state = request.app.state
    found = listing.list_audited(
        state.engine,
        state.data_dir,
        user,
        p.filters,
        sort=p.sort,
        desc=p.dir == "desc",
        limit=p.size,
        offset=(p.page - 1) * p.size,
        reveal=pii_unmasked(user.role),
    )
    pages = max(1, -(-found["total"] // p.size))
    options = listing.options(state.data_dir, found["month"]) if found["month"] else {}
    return {
        "list": found,
        "p": p,
        "pages": pages,
        "options": options,
        "managers": listing.manager_names(state.engine),
        "sorts": list(listing.SORTS),
        "page_sizes": listing.PAGE_SIZES,
    }


def _context(request: Request, user: User, q: str, p: ListParams) -> dict:
    rows, error = _search(request, user, q) if q.strip() else ([], None)
    listed = {} if q.strip() else _listed(request, user, p)
    return dict(
        q=q, rows=rows, error=error, searched=bool(q.strip()), names=plan_names(request.app.state.engine), **listed
    )


@router.get("/members")
def search_page(
    request: Request,
    q: str = Query("", max_length=200),
    p: ListParams = Depends(),
    user: User = Depends(page_user("members:search")),
):
    return page(request, "members.html", user, **_context(request, user, q, p))


@router.get("/members/results")
def search_results(
    request: Request,
    q: str = Query("", max_length=200),
    p: ListParams = Depends(),
    user: User = Depends(page_user("members:search")),
):
    response = fragment(request, "_member_rows.html", **_context(request, user, q, p))
    if not q.strip():  # the list's state stays in the address bar: bookmarkable, back button works
        response.headers["HX-Push-Url"] = "/members?" + p.query()
    return response


def _headers(request: Request) -> list[str]:
    _ = translator(request)
    return [
        _("Member"),
        _("Name"),
        _("Phone"),
        _("Status"),
        _("Tier"),
        _("Star level"),
        _("Value layer"),
        _("Activity"),
        _("Risk decile"),
        _("Churn probability"),
        _("Manager"),
        _("Contract end"),
        _("Joined"),
        _("Points balance"),
        _("City"),
        _("Plan"),
    ]


@router.get("/members/export")
def export_list(
    request: Request,
    format: Literal["csv", "xlsx"] = "csv",
    p: ListParams = Depends(),
    user: User = Depends(page_user("members:search")),
):
    """The filtered list (every page, in the list's order) as CSV or XLSX, headers in the page's language;
    phone numbers in clear only for the roles that see them, and then audited."""
    state = request.app.state
    reveal = pii_unmasked(user.role)
    found = listing.list_members(
        state.data_dir, p.filters, sort=p.sort, desc=p.dir == "desc", limit=None, reveal=reveal
    )
    _ = translator(request)
    locale = i18n.locale_of(request)
    labels = {
        "status": {"active": _("in service"), "left": _("left")},
        "tier": active_plan_names(request).get("tier") or {},
        "value_grade": code_names("value_grade", locale),
        "activity_grade": code_names("activity_grade", locale),
        "manager_id": listing.manager_names(state.engine),
    }
    data = listing.export(found["rows"], _headers(request), format, labels)
    listing.export_audited(state.engine, user, found["month"], found["rows"], format, p.filters, reveal)
    media = (
        "text/csv; charset=utf-8"
        if format == "csv"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    name = f"members-{found['month'] or 'none'}.{format}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/members/{member_id}")
def member_page(
    member_id: str,
    request: Request,
    done: str = Query("", max_length=20),
    user: User = Depends(page_user("members:read")),
):
    if user.role == "member":  # members see themselves on their own page
        if user.member_id != member_id:
            raise Forbidden("member_own_page_only")
        return RedirectResponse("/me", status_code=303)
    _ = translator(request)
    notice = _(member_actions.DONE[done]) if done in member_actions.DONE else None
    return render_member(request, user, member_id, notice=notice)


def render_member(request: Request, user: User, member_id: str, status: int = 200, **extra):
    """The member 360 page (also the answer of a refused action on it, ``error`` in ``extra``)."""
    state = request.app.state
    reveal = pii_unmasked(user.role)
    today = plan_today(state.engine)
    found = member_search.show(state.engine, state.data_dir, user, member_id, today, reveal)  # audited when revealed
    if found is None:
        raise NotFound("unknown_member", member=member_id[:128])
    statement = queries.statement(state.engine, member_id, None, None)
    lines = list(reversed(statement["lines"]))[:HISTORY_LINES] if statement else []
    if lines:  # the page shows what an entry was (reward, bill month, reason) and its lot's dates, not their ids
        details = member360.history_details(state.engine, member_id)
        lines = [
            {**line, "what": details["events"].get(line["event"]), "lot_dates": details["lots"].get(line["lot"])}
            for line in lines
        ]
    return page(
        request,
        "member.html",
        user,
        status=status,
        m=found,
        lines=lines,
        statement=statement,
        revealed=reveal,
        names=plan_names(state.engine),
        today=today,
        more=statement and len(statement["lines"]) > HISTORY_LINES,
        **member_actions.context_360(request, user, member_id, found),
        **extra,
    )
