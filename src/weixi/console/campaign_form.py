"""The campaign form (活动表单): author a campaign with sections like an Ant Design form — basics and dates,
objectives, audience, budget lines, the draw with its prizes, daily quantities and hours, milestones, channels,
risks, evaluation — with rows added and removed in place (``static/campaign_form.js``). Saving writes the campaign
file (:mod:`weixi.campaigns.form`), checks it as ``weixi plan check`` does, and shows each error beside the field
it concerns, in the reader's language. The YAML tab (the editor of :mod:`weixi.console.campaigns`) edits the same
file: the tabs carry the text across, unsaved.

Routes: ``POST /campaigns/form`` (check, save, or switch to the YAML tab) and ``POST /campaigns/form/open`` (the
YAML tab's text into the form); ``/campaigns/new`` and ``/campaigns/{id}/edit`` open the form
(:mod:`weixi.console.campaigns`)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from weixi.campaigns import form as campaign_form
from weixi.campaigns import service
from weixi.campaigns.errors import CampaignError
from weixi.campaigns.model import Campaign
from weixi.console.guard import may, page_user
from weixi.console.plans import annotate
from weixi.console.render import page, translator
from weixi.i18n import N_
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import load_plan_text
from weixi.users import service as users
from weixi.users.service import User

router = APIRouter()
MAX_FILE_CHARS = 500_000

LINES = {
    "venue": N_("venue hire"),
    "promotion": N_("promotion"),
    "gifts": N_("gifts and prizes"),
    "staff": N_("staff costs"),
    "catering": N_("catering"),
    "points": N_("points at cost"),
    "operations": N_("operations costs"),
    "other": N_("other costs"),
}
METRICS = {
    "participants": N_("participants"),
    "sales_yuan": N_("sales (yuan)"),
    "satisfaction": N_("satisfaction score"),
    "activity_rate": N_("activity rate (0–1)"),
    "referrals": N_("successful referrals"),
    "repurchase_rate": N_("repurchase rate (0–1)"),
    "new_members": N_("new members"),
    "points_issued": N_("points issued"),
    "points_redeemed": N_("points redeemed"),
}
RISKS = {
    "market": N_("market"),
    "legal": N_("legal"),
    "safety": N_("safety"),
    "public_opinion": N_("public opinion"),
    "technical": N_("technical"),
    "fraud": N_("fraud"),
}
SOURCES = {
    "ledger": N_("members of the points ledger"),
    "snapshot": N_("a monthly close's members, filtered"),
    "list": N_("a list of members"),
}
CHANNELS = {"sms": N_("SMS"), "email": N_("e-mail")}
RECIPIENTS = {"treatment": N_("the audience (without the control group)"), "participants": N_("participants")}
OUTCOMES = {"spend": N_("spend (yuan per member)"), "activity": N_("activity (share of members active)")}
LEVELS = {str(n): str(n) for n in range(1, 6)}
# The file's sections the form does not show, as the page names them (they are edited on the YAML tab).
OTHERS = {
    "leaderboard": N_("leaderboard"),
    "referral": N_("referrals"),
    "checkin_streaks": N_("check-in streaks"),
    "gifts": N_("gifts on visits"),
    "follow_ups": N_("follow-ups"),
    "audience.where": N_("audience filter (where)"),
}
# Each field's label (the same ids as the page's labels): a checker message names the field by it, not by its key.
LABELS = {
    "campaign": N_("Campaign ID"),
    "name": N_("Campaign name"),
    "owner": N_("Owner (department)"),
    "description": N_("Description"),
    "timezone": N_("Timezone"),
    "window.from": N_("Start date"),
    "window.to": N_("End date"),
    "cost_per_point": N_("Cost per point (yuan)"),
    "points_rules": N_("Points rules of the campaign"),
    "key_clients": N_("Key clients"),
    "audience.source": N_("Members"),
    "audience.month": N_("Close month"),
    "audience.tiers": N_("Tiers"),
    "audience.members": N_("Member IDs"),
    "audience.control.share": N_("Control group share"),
    "lottery.hours.from": N_("Draws from"),
    "lottery.hours.to": N_("Draws until"),
    "lottery.budget_line": N_("Prizes are paid from"),
    "lottery.daily_total": N_("Prizes a day"),
    "lottery.blanks_per_day": N_("Blank tickets a day"),
    "lottery.chances.per_yuan": N_("One chance per (yuan spent)"),
    "lottery.chances.buy_points": N_("Points for one chance"),
    "lottery.chances.grant": N_("Chances given to each member"),
    "lottery.chances.max_per_day": N_("At most a day"),
    "evaluation.outcome": N_("Outcome measured for the lift"),
    "evaluation.margin_share": N_("Margin share of incremental sales"),
    "objectives.id": N_("ID"),
    "objectives.name": N_("Objective name"),
    "objectives.metric": N_("Indicator"),
    "objectives.target": N_("Target"),
    "budget.line": N_("Budget line"),
    "budget.yuan": N_("Amount (yuan)"),
    "budget.points": N_("Points"),
    "budget.note": N_("Note"),
    "lottery.prizes.id": N_("ID"),
    "lottery.prizes.name": N_("Prize"),
    "lottery.prizes.per_day": N_("Quantity a day"),
    "lottery.prizes.value_yuan": N_("Value (yuan)"),
    "lottery.prizes.points": N_("Points"),
    "milestones.id": N_("ID"),
    "milestones.name": N_("Task"),
    "milestones.owner": N_("Owner"),
    "milestones.due": N_("Due"),
    "channels.id": N_("ID"),
    "channels.channel": N_("Channel"),
    "channels.send_on": N_("Send on"),
    "channels.to": N_("Recipients"),
    "channels.template": N_("Message"),
    "risks.id": N_("ID"),
    "risks.category": N_("Category"),
    "risks.description": N_("Risk"),
    "risks.likelihood": N_("Likelihood"),
    "risks.impact": N_("Impact"),
    "risks.response": N_("Response"),
    "risks.owner": N_("Owner"),
}
SECTION_TITLES = {
    "basics": N_("Basic information"),
    "objectives": N_("Objectives"),
    "audience": N_("Audience"),
    "budget": N_("Budget"),
    "lottery": N_("Prize draw"),
    "lottery.prizes": N_("Prizes and daily quantities"),
    "milestones": N_("Milestones"),
    "channels": N_("Channels"),
    "risks": N_("Risks"),
    "evaluation": N_("Evaluation"),
}


def where_label(place: str, gettext) -> str:
    """A form place as the error summary names it: "Objectives, row 2: Target", "End date", "Prize draw"."""
    if place.startswith("section:"):
        return gettext(SECTION_TITLES.get(place.split(":", 1)[1], place))
    parts = place.split(".")
    index = next((i for i, p in enumerate(parts) if p.isdigit()), None)
    if index is None:
        return gettext(LABELS.get(place, place))
    table = ".".join(parts[:index])
    row = gettext("%(section)s, row %(n)s") % {
        "section": gettext(SECTION_TITLES.get(table, table)),
        "n": int(parts[index]) + 1,
    }
    if index + 1 < len(parts):
        column = gettext(LABELS.get(f"{table}.{parts[index + 1]}", parts[index + 1]))
        return gettext("%(row)s: %(field)s") % {"row": row, "field": column}
    return row


NAMES = {
    "lines": LINES,
    "metrics": METRICS,
    "risk_categories": RISKS,
    "sources": SOURCES,
    "channel_names": CHANNELS,
    "recipients": RECIPIENTS,
    "outcomes": OUTCOMES,
    "levels": LEVELS,
    "other_sections": OTHERS,
}


def check(text: str, name: str) -> dict:
    """The file checked as ``weixi plan check`` does, its lines with their diagnostics; a plan of another kind is
    an error of the file's first line."""
    found, diags = load_plan_text(text, name)
    errors = [d for d in diags if d.is_error]
    wrong_kind = found is not None and not isinstance(found, Campaign)
    return {
        "name": name,
        "text": text,
        "ok": isinstance(found, Campaign) and not errors,
        "campaign": found if isinstance(found, Campaign) else None,
        "errors": errors,
        "wrong_kind": wrong_kind,
        "warnings": [d for d in diags if not d.is_error],
        "diagnostics": diags,
        "lines": annotate(text, diags),
    }


def labelled(place: str, d: Diagnostic, gettext) -> Diagnostic:
    """The diagnostic as the form shows it beside ``place``: the key it names (``key``, and the keys of
    ``options`` for a row) read as the field's label, so the message speaks of *Target*, not ``target``."""
    parts = place.split(".")
    index = next((i for i, p in enumerate(parts) if p.isdigit()), None)
    table = ".".join(parts[:index]) if index is not None else ""
    params = dict(d.params)
    key = params.get("key")
    field = ".".join(parts[:-1] + [key]) if isinstance(key, str) and index is None else f"{table}.{key}"
    if isinstance(key, str) and field in LABELS:
        params["key"] = gettext(LABELS[field])
    if table and isinstance(params.get("options"), list):
        params["options"] = [
            gettext(LABELS.get(f"{table}.{o}", o)) if isinstance(o, str) else o for o in params["options"]
        ]
    return replace(d, params=params) if params != d.params else d


def yaml_page(request: Request, user: User, status: int = 200, **context):
    """The YAML tab: the editor that uploads, pastes and checks the file with every error beside its line."""
    return page(
        request,
        "campaign_editor.html",
        user,
        status=status,
        may_edit=may(user, "campaigns:edit"),
        **context,
    )


def anchor(place: str) -> str:
    """The element id of a form place (:func:`weixi.campaigns.form.place`): a field ``f-…``, a table row ``r-…``,
    a section ``s-…``."""
    if place.startswith("section:"):
        return "s-" + place.split(":", 1)[1]
    head, _, last = place.rpartition(".")
    slug = place.replace(".", "-").replace("_", "-")
    if place in campaign_form.SCALAR_BY_NAME or (head.rpartition(".")[2].isdigit() and not last.isdigit()):
        return "f-" + slug
    return "r-" + slug


def form_page(
    request: Request,
    user: User,
    text: str,
    status: int = 200,
    editing: str = "",
    name: str = "",
    result: dict | None = None,
    checked: bool = False,
    **context,
):
    """The form for ``text`` with the checker's findings beside their fields (when ``checked``); a file the form
    cannot read (a syntax error, not a mapping) opens on the YAML tab with the reason at its line."""
    form = campaign_form.to_form(text) if text.strip() else campaign_form.Form(rows=_blank_rows())
    if form is None:
        result = result or check(text, name or "campaign.yaml")
        return yaml_page(request, user, status=422, result=result, editing=editing, unreadable=True, **context)
    for table in campaign_form.TABLES:  # a new campaign starts with one empty row where the checker asks for one
        form.rows.setdefault(table.name, [])
    placed: dict = {}
    if checked and result is not None:
        _ = translator(request)
        placed = {
            where: [labelled(where, d, _) for d in found]
            for where, found in campaign_form.place(text, result["diagnostics"]).items()
        }
    summary = [(place, d) for place, found in placed.items() for d in found]
    summary.sort(key=lambda item: (not item[1].is_error, item[1].line, item[1].column))
    return page(
        request,
        "campaign_form.html",
        user,
        status=status,
        form=form,
        base=text,
        name=name,
        editing=editing,
        result=result if checked else None,
        placed=placed,
        summary=summary,
        anchor=anchor,
        where_label=lambda place: where_label(place, translator(request)),
        tables={t.name: t for t in campaign_form.TABLES},
        may_edit=may(user, "campaigns:edit"),
        **NAMES,
        **context,
    )


def _blank_rows() -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = {t.name: [] for t in campaign_form.TABLES}
    rows["objectives"] = [{"metric": "participants", campaign_form.ORIG: ""}]
    rows["budget"] = [{"line": "promotion", campaign_form.ORIG: ""}]
    return rows


def file_name(text: str, posted: str) -> str:
    """The name the file is saved under: the name it came with, else ``<campaign id>.yaml``."""
    if posted and posted not in ("pasted.yaml", "campaign.yaml"):
        return posted
    data = campaign_form.load(text)
    cid = data.get("campaign") if data is not None else None
    return f"{cid}.yaml" if isinstance(cid, str) and cid else "campaign.yaml"


@router.post("/campaigns/form")
async def post_form(
    request: Request,
    base: str = Form("", max_length=MAX_FILE_CHARS),
    editing: str = Form("", max_length=64),
    file_name_: str = Form("", max_length=120, alias="file_name"),
    do: str = Form("check", max_length=8),
    user: User = Depends(page_user("campaigns:edit")),
):
    """The posted form written into its file, then: ``check`` shows it again with the checker's findings beside
    the fields, ``yaml`` opens the YAML tab on the written file, ``save`` saves a clean file as a draft."""
    posted = campaign_form.from_post([(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)])
    text = await run_in_threadpool(campaign_form.apply_form, base, posted)
    name = file_name(text, file_name_)
    result = await run_in_threadpool(check, text, name)
    if do == "yaml":
        return yaml_page(request, user, result=result, editing=editing)
    status = 200 if result["ok"] else 422
    if do != "save" or not result["ok"]:
        return form_page(request, user, text, status, editing, name, result, checked=True)
    engine = request.app.state.engine
    cid = result["campaign"].id
    try:
        if editing:  # the form of another campaign is refused (campaign_file_other_id)
            service.update(engine, editing, text, name, user.username)
        else:
            service.create(engine, text, name, user.username)
    except CampaignError as exc:  # rendered by code in the page's language (|say)
        return form_page(request, user, text, exc.status, editing, name, result, checked=True, save_error=exc)
    action = "campaign.update" if editing else "campaign.create"
    users.audit(engine, user, action, cid, {"file": name, "via": "console form"})
    return RedirectResponse(f"/campaigns/{cid}", status_code=303)


@router.post("/campaigns/form/open")
def open_in_form(
    request: Request,
    text: str = Form("", max_length=MAX_FILE_CHARS),
    editing: str = Form("", max_length=64),
    file_name_: str = Form("", max_length=120, alias="file_name"),
    user: User = Depends(page_user("campaigns:edit")),
):
    """The YAML tab's text in the form, checked (a file the form cannot read stays on the YAML tab)."""
    name = file_name(text, file_name_)
    result = check(text, name)
    return form_page(request, user, text, 200, editing, name, result, checked=bool(text.strip()))
