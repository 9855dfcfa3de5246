"""Incentive pages: my statement, team statements (a manager's team; everyone for analysts), the leaderboard and
charts (bonus and units by employee, yuan by business), one statement with its explanation line per order, and
the published-versus-recomputed difference. Thin over :mod:`weixi.incentives.reports`."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from ruamel.yaml import YAML

from weixi import i18n
from weixi.console import incentive_approvals, incentive_publish
from weixi.console.guard import may, page_user
from weixi.console.render import page, translator
from weixi.incentives import lines, publication, reports
from weixi.incentives.errors import IncentiveError, IncentiveNotFound, NotVisible
from weixi.names import display
from weixi.operations.clock import local
from weixi.users.service import User

router = APIRouter()
router.include_router(incentive_approvals.router)  # /incentives/approvals first: before the /incentives/{month} pages
router.include_router(incentive_publish.router)  # /incentives/publish, likewise
MONTH = Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
MONTH_Q = Query(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
TEAM = Query(None, min_length=1, max_length=64)
CHART_STAFF = 30  # employees in the by-employee charts (the top by bonus)


def _published(request: Request, month: str) -> dict:
    found = publication.published(request.app.state.engine, month)
    if found is None:
        raise IncentiveNotFound("incentive_statements_not_published", month=month)
    return found


def rule_names(data_dir, month: str) -> dict[str, str]:
    """``{"<plan>/<rule>": name}`` from the month's incentive plan files (their ``name`` of each order rule): the
    statements name a rule by its id, people read its name. A file that cannot be read names nothing (the
    statements' own computation reports it)."""
    names: dict[str, str] = {}
    for path in reports.month_inputs(data_dir, month)["plans"]:
        try:
            node = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        except Exception:  # noqa: BLE001 - a broken file names nothing here
            continue
        plan = node.get("plan") if isinstance(node, dict) else None
        if not plan:
            continue
        for section in ("orders", "rules"):
            for rule in node.get(section) or []:
                if isinstance(rule, dict) and rule.get("id") and rule.get("name"):
                    names[f"{plan}/{rule['id']}"] = str(rule["name"])
    return names


def published_at(request: Request, pub: dict | None) -> str:
    """When a version was published, in the operator's timezone and labelled with it (2026-02-03 09:30 北京时间)."""
    if not pub or not pub.get("published_at"):
        return ""
    tz = reports.zone(request.app.state.engine)
    moment = local(pub["published_at"], ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
    return f"{moment} {display('timezone', tz, i18n.locale_of(request))}"


def staff_label(staff_id: str, people: dict) -> str:
    """An employee as the charts show them: the name beside the id (``张三 (S000012)``), the id alone when the
    roster has no name."""
    name = (people.get(staff_id) or {}).get("name")
    return f"{name} ({staff_id})" if name else staff_id


def _rule_label(line: dict, names: dict[str, str]) -> str:
    """What a statement line's rule column shows: the order rule's name in its plan, a violation's name, or the
    referral plan's name; the id only when the plan names nothing."""
    params = line.get("params") or {}
    found = names.get(line["rule"]) or params.get("rule_name") or params.get("violation_name")
    return found or params.get("plan_name") or line["rule"]


def _people(request: Request, month: str) -> dict:
    """The month's roster; a roster file the month's folder holds but that cannot be read is a 422 page saying
    which file, as the statements' computation would say it (an :class:`~weixi.incentives.inputs.InputError`)."""
    return reports.roster(request.app.state.engine, request.app.state.data_dir, month)


@router.get("/incentives")
def index(
    request: Request,
    month: str | None = MONTH_Q,
    team: str | None = TEAM,
    published: int | None = Query(None, ge=1, le=10_000),
    user: User = Depends(page_user("incentives:read_own")),
):
    engine = request.app.state.engine
    months = reports.published_months(engine)
    month = month or (months[0]["month"] if months else None)
    ctx: dict = {"months": months, "month": month, "team": team, "pub": None, "mine": None, "table": None}
    ctx["may_compute"] = may(user, "incentives:compute")
    ctx["just_published"] = published
    if month is not None:
        pub = publication.published(engine, month)
        ctx["pub"] = pub
        ctx["published_at"] = published_at(request, pub)
        if pub is not None:
            people = _people(request, month)
            own = pub["statements"]["staff"].get(user.staff)  # the login's staff id, else its username
            ctx["mine"] = dict(own, staff_id=user.staff) if own else None
            if may(user, "incentives:read_team"):
                chosen, ids = reports.scope(user, people, team)
                table = reports.rows(pub["statements"], people, ids)
                ctx.update(
                    team=chosen,
                    table=table,
                    totals=reports.totals(table),
                    by_business=reports.by_business(pub["statements"], ids),
                    rule_names=rule_names(request.app.state.data_dir, month),
                    teams=sorted({p["team"] for p in people.values() if p.get("team")}),
                    may_pick_team=user.role in ("admin", "analyst"),
                    may_export=may(user, "incentives:read_all"),
                    may_diff=may(user, "incentives:compute"),
                )
    return page(request, "incentives.html", user, **ctx)


@router.get("/incentives/{month}/data.json")
def chart_data(
    request: Request,
    month: str = MONTH,
    team: str | None = TEAM,
    user: User = Depends(page_user("incentives:read_team")),
):
    """The leaderboard charts: bonus and units by employee (the top by bonus), yuan and units by business."""
    _ = translator(request)
    pub = _published(request, month)
    people = _people(request, month)
    _team, ids = reports.scope(user, people, team)
    table = reports.rows(pub["statements"], people, ids)[:CHART_STAFF]
    business = reports.by_business(pub["statements"], ids)
    staff = [staff_label(r["staff_id"], people) for r in table]
    names = rule_names(request.app.state.data_dir, month)
    data = {
        "bonus": {
            "title": _("Bonus by employee (yuan)"),
            "labels": staff,
            "horizontal": True,
            "series": [{"name": _("bonus (yuan)"), "values": [float(Decimal(r["bonus_yuan"])) for r in table]}],
        },
        "units": {
            "title": _("Units by employee"),
            "labels": staff,
            "horizontal": True,
            "series": [
                {"name": _("mobile units"), "values": [float(Decimal(r["mobile_units"])) for r in table]},
                {"name": _("broadband units"), "values": [float(Decimal(r["broadband_units"])) for r in table]},
            ],
        },
        "business": {
            "title": _("By business"),
            "labels": [names.get(b["rule"], b["rule"]) for b in business],
            "series": [
                {"name": _("bonus (yuan)"), "values": [float(Decimal(b["yuan"])) for b in business]},
                {"name": _("units"), "values": [float(Decimal(b["units"])) for b in business]},
            ],
        },
    }
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/incentives/{month}/staff/{staff_id}")
def statement(
    request: Request,
    month: str = MONTH,
    staff_id: str = Path(min_length=1, max_length=128),
    user: User = Depends(page_user("incentives:read_own")),
):
    pub = _published(request, month)
    people = _people(request, month)
    if not reports.may_see(user, people, staff_id):
        raise NotVisible("incentive_statement_not_visible", user=user.username, role=user.role, staff=staff_id)
    s = pub["statements"]["staff"].get(staff_id)
    if s is None:
        raise IncentiveNotFound("incentive_no_statement", staff=staff_id, month=month)
    locale = i18n.locale_of(request)
    names = rule_names(request.app.state.data_dir, month)
    return page(
        request,
        "incentive_statement.html",
        user,
        month=month,
        pub=pub,
        staff_id=staff_id,
        s=s,
        person=people.get(staff_id) or {},
        line_yuan=sum((Decimal(l["yuan"]) for l in s["lines"]), Decimal(0)),
        explained=[(l, _rule_label(l, names), lines.say_line(l, locale)) for l in s["lines"]],
        excluded=[(e, lines.say_excluded(e, locale)) for e in s["excluded"]],
        suspended=pub["statements"].get("suspended") or [],
        published_at=published_at(request, pub),
    )


@router.get("/incentives/{month}/diff")
def difference(request: Request, month: str = MONTH, user: User = Depends(page_user("incentives:compute"))):
    pub = _published(request, month)
    engine = request.app.state.engine
    error = diff = None
    try:
        found = reports.recompute(request.app.state.data_dir, month, reports.zone(engine), engine)
        diff = publication.diff(engine, found)
    except IncentiveError as exc:  # the page says why, in its language (``error|say`` renders the code)
        error = exc
    return page(
        request,
        "incentive_diff.html",
        user,
        month=month,
        pub=pub,
        diff=diff,
        error=error,
        published_at=published_at(request, pub),
    )
