"""Dashboard: members by tier and segment at the latest close; points issued, redeemed and expired per month and
the liability trend from the ledger. The page draws its ECharts charts from ``/dashboard/data.json``."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from weixi.adapters.sql import execute
from weixi.close import programme, store
from weixi.console.guard import page_user
from weixi.console.render import page, translator
from weixi.errors import Invalid, Where
from weixi.i18n import N_
from weixi.members import overview as service
from weixi.plans.service import NoActivePlan, active_plan
from weixi.users.service import User

router = APIRouter()
MONTHS = 12

SEGMENT_TITLES = {
    "by_tier": N_("Members by tier"),
    "by_star_level": N_("Members by star level"),
    "by_value_grade": N_("Members by value grade"),
    "by_activity": N_("Members by activity"),
    "by_key_account": N_("Members by key-account level"),
}
ACTIVITY = {"active": N_("active"), "normal": N_("normal"), "silent": N_("silent")}
VALUE = {"A": N_("A platinum"), "B": N_("B gold"), "C": N_("C steel"), "D": N_("D lead")}


def _labels(key: str, values: dict, names: dict, _) -> list[str]:
    if key == "by_tier":
        return [names["tier"].get(k, k) for k in values]
    if key == "by_key_account":
        return [names["key_account"].get(k, k) for k in values]
    if key == "by_activity":
        return [_(ACTIVITY[k]) if k in ACTIVITY else k for k in values]
    if key == "by_value_grade":
        return [_(VALUE[k]) if k in VALUE else k for k in values]
    if key == "by_star_level":
        return [_("%(n)s stars") % {"n": k} for k in values]
    return list(values)


MEMBER_FILTER = {"by_tier": "tier", "by_star_level": "star", "by_value_grade": "value", "by_activity": "activity"}
MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
ALL_MONTHS = 1200  # every month of the journal; the page's range picks from them


def month_range(points: dict, start: str | None, end: str | None) -> tuple[list[dict], str | None, str | None]:
    """The months of ``points`` between ``start`` and ``end`` (both included; by default the last :data:`MONTHS`
    months with entries), and the range shown."""
    every = points["months"]
    if not every:
        return [], None, None
    if not start and not end:
        shown = every[-MONTHS:]
    else:
        lo, hi = start or every[0]["month"], end or every[-1]["month"]
        if lo > hi:
            lo, hi = hi, lo
        shown = [m for m in every if lo <= m["month"] <= hi]
    return shown, (shown[0]["month"] if shown else start), (shown[-1]["month"] if shown else end)


def _link(key: str, code) -> str | None:
    """The member list filtered to the members behind a segment's slice (None where the list has no such filter)."""
    field = MEMBER_FILTER.get(key)
    return f"/members?{urlencode({field: code})}" if field and code not in (None, "") else None


def chart_data(request: Request, start: str | None = None, end: str | None = None) -> dict:
    """Everything the dashboard's charts draw, labels translated for the request's language: points per month and
    the liability for the chosen months (points and yuan in separate charts: one unit per axis), members by tier and
    segment at the latest close (a slice opens the member list filtered to it)."""
    _ = translator(request)
    state = request.app.state
    overview = service.members_overview(state.engine, state.data_dir)
    shown, _start, _end = month_range(
        ledger_memo(state.engine, ("points", ALL_MONTHS), lambda: service.points_by_month(state.engine, ALL_MONTHS)),
        start,
        end,
    )
    segments = []
    if overview:
        for key, title in SEGMENT_TITLES.items():
            values = overview.get(key) or {}
            links = [_link(key, code) for code in values]
            segments.append(
                {
                    "key": key,
                    "title": _(title),
                    "labels": _labels(key, values, overview["names"], _),
                    "values": list(values.values()),
                    "links": links if any(links) else None,
                    "hint": _("Click a slice to open its members.") if any(links) else "",
                }
            )
    months = [m["month"] for m in shown]
    return {
        "close_month": overview["month"] if overview else None,
        "segments": segments,
        "by_key": {s["key"]: s for s in segments},
        "points": {
            "title": _("Points per month"),
            "months": months,
            "labels": months,
            "y_name": _("points"),
            "series": [
                {"name": _("issued"), "values": [m["issued"] for m in shown]},
                {"name": _("redeemed"), "values": [m["redeemed"] for m in shown]},
                {"name": _("expired"), "values": [m["expired"] for m in shown]},
            ],
        },
        "liability": {
            "title": _("Outstanding points and liability"),
            "months": months,
            "points_name": _("outstanding points"),
            "points": [m["outstanding"] for m in shown],
            "yuan_name": _("liability (yuan)"),
            "yuan": [m["liability_yuan"] for m in shown],
        },
        "outstanding": {
            "title": _("Outstanding points at the month end"),
            "labels": months,
            "y_name": _("points"),
            "series": [{"name": _("outstanding points"), "values": [m["outstanding"] for m in shown]}],
        },
        "liability_yuan": {
            "title": _("Points liability at the month end (yuan)"),
            "labels": months,
            "y_name": _("yuan"),
            "series": [
                {
                    "name": _("liability (yuan)"),
                    "values": [float(m["liability_yuan"]) if m["liability_yuan"] else None for m in shown],
                }
            ],
        },
    }


def _percent(ratio: dict | None) -> dict:
    """A ratio as a percentage with what it is computed from ("-" when it has no denominator)."""
    if not ratio or ratio["rate"] is None:
        return {"value": "-", "detail": f"{ratio['numerator']:,} / {ratio['denominator']:,}" if ratio else ""}
    return {
        "value": f"{Decimal(ratio['rate']) * 100:.2f}%",
        "detail": f"{ratio['numerator']:,} / {ratio['denominator']:,}",
    }


def _points(n: int | None, detail: str = "") -> dict:
    return {"value": "-" if n is None else f"{n:,}", "detail": detail}


def _cells(f: dict, _) -> list[dict]:
    """One column of the programme panel: the figures of ``f`` (see :mod:`weixi.ledger.programme`), in the order
    of :data:`PROGRAMME_ROWS`."""
    b = f["breakage"]
    total_yuan = _("%(yuan)s yuan") % {"yuan": b["total_yuan"]} if b["total_yuan"] else ""
    return [
        _percent(f["redemption_rate"]["month"]),
        _percent(f["redemption_rate"]["to_date"]),
        _points(b["expired"]["month"], _("%(n)s since the start") % {"n": f"{b['expired']['to_date']:,}"}),
        _points(
            b["projected"], _("expiry ratio %(rate)s") % {"rate": _percent(b["projection"]["expiry_ratio"])["value"]}
        ),
        _points(b["total"], total_yuan),
        _percent(b["rate"]),
        _percent(f["budget"]["burn"]) if f["budget"]["burn"] else {"value": "-", "detail": _("no budget set")},
        _percent(f["conversion"]),
    ]


PROGRAMME_ROWS = (
    N_("Redemption rate (month)"),
    N_("Redemption rate (since the start)"),
    N_("Points expired in the month"),
    N_("Projected breakage (points)"),
    N_("Breakage: expired and projected (points)"),
    N_("Breakage rate (of points issued)"),
    N_("Budget burn (points issued / budget)"),
    N_("Conversion rate (members who redeemed / active members)"),
)


_memo: dict = {}
_memo_lock = threading.Lock()
MEMO_ENTRIES = 64


def ledger_mark(engine) -> tuple:
    """How far the ledger is: its newest journal entry and plan version, and with the lake ledger its months in, the
    Delta version they are read at and the lake expiries applied. Every posting, redemption, cancellation, expiry
    and close writes journal entries or lake rows, so figures computed from the ledger at one mark hold until it
    moves (a fold moves rows from the lake to the journal: the sums stay)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return tuple(
            execute(
                conn,
                "SELECT (SELECT max(id) FROM journal), (SELECT max(version) FROM plan_versions), "
                "(SELECT count(*) FROM lake_months), (SELECT max(accruals_version) FROM lake_months), "
                "(SELECT count(*) FROM lake_expiries), (SELECT max(expiries_version) FROM lake_expiries)",
            )[0]
        )


def ledger_memo(engine, key: tuple, compute):
    """``compute()`` once per ledger mark (:func:`ledger_mark`) and ``key``: the dashboard's journal-wide sums
    (points by month, the current month's programme figures) cost a scan of the journal; read again while nothing
    was posted, they are the same figures."""
    full = (id(engine), ledger_mark(engine), *key)
    with _memo_lock:
        if full in _memo:
            return _memo[full]
    value = compute()
    with _memo_lock:
        if len(_memo) >= MEMO_ENTRIES:
            _memo.clear()
        _memo[full] = value
    return value


def programme_panel(engine, data_dir, budget: int | None, _) -> dict | None:
    """The programme figures of the latest closed month (as its close kept them) and of the current month so far
    (from the ledger), with ``budget``'s burn when given; None before a plan is applied."""
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            _version, plan = active_plan(conn)
    except NoActivePlan:
        return None
    months = store.closed_months(data_dir)[-1:]
    current = datetime.now(ZoneInfo(plan.timezone)).strftime("%Y-%m")
    if current not in months:
        months.append(current)
    columns = [
        ledger_memo(
            engine,
            ("programme", str(data_dir), m, budget),
            lambda m=m: programme.for_month(engine, data_dir, m, budget),
        )
        for m in months
    ]
    return {
        "budget": budget,
        "columns": [{"month": f["month"], "basis": f["basis"]} for f in columns],
        "rows": [
            {"label": _(label), "cells": list(cells)}
            for label, *cells in zip(PROGRAMME_ROWS, *(_cells(f, _) for f in columns))
        ],
    }


def budget_points(text: str) -> int | None:
    """The panel's budget field: empty is no budget; otherwise a whole number of points above 0."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise Invalid("budget_not_positive_points", Where(field="budget"), value=text)
    return int(text)


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    budget: str = Query("", max_length=20, description="The monthly points budget the panel's burn is of."),
    start: str | None = Query(None, alias="from", pattern=MONTH_RE),
    end: str | None = Query(None, alias="to", pattern=MONTH_RE),
    user: User = Depends(page_user("dashboard:read")),
):
    state = request.app.state
    overview = service.members_overview(state.engine, state.data_dir)
    every = ledger_memo(state.engine, ("points", ALL_MONTHS), lambda: service.points_by_month(state.engine, ALL_MONTHS))
    shown, start, end = month_range(every, start, end)
    figures = programme_panel(state.engine, state.data_dir, budget_points(budget), translator(request))
    query = urlencode({k: v for k, v in (("from", start), ("to", end)) if v})
    return page(
        request,
        "dashboard.html",
        user,
        overview=overview,
        points={**every, "months": shown},
        all_months=[m["month"] for m in every["months"]],
        start=start,
        end=end,
        data_src="/dashboard/data.json" + (f"?{query}" if query else ""),
        programme=figures,
    )


@router.get("/dashboard/data.json")
def dashboard_data(
    request: Request,
    start: str | None = Query(None, alias="from", pattern=MONTH_RE),
    end: str | None = Query(None, alias="to", pattern=MONTH_RE),
    user: User = Depends(page_user("dashboard:read")),
):
    return JSONResponse(chart_data(request, start, end), headers={"Cache-Control": "no-store"})
