"""The member 360's retention context and actions (issue 18 §3; issue 20 §5): risk and its reasons, open tasks,
contact history, consents, campaigns, notes, the archive's corrections; and, by permission, adjust points with a
reason (``points:adjust``), transfer the customer manager (``tasks:manage_team``: a link to the team page's
transfer, :mod:`weixi.console.team`, which confirms and keeps a manager to their team), correct archive fields learned on a call (``members:archive``), add a note
(``members:note``). Every action is audited; refusals are told by their code in the reader's language.

The archive form is also a partial (``GET /members/{id}/archive/form``, ``_archive_form.html``) that the agent's
task view includes with htmx: it posts to ``/members/{id}/archive`` with ``source=task`` and the task id, and the
answer to an htmx post is the form again with what was saved."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import RedirectResponse

from weixi import i18n
from weixi.adapters import archive as archive_files
from weixi.api.permissions import pii_unmasked
from weixi.api.routes.common import plan_today
from weixi.console.guard import may, page_user
from weixi.console.render import fragment, safe_next
from weixi.errors import NotFound, Problem, WeixiError
from weixi.i18n import N_
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.members import archive, context, notes, pii
from weixi.messages import render
from weixi.names import display
from weixi.operations import service as ops_service
from weixi.operations import staff as ops_staff
from weixi.operations import transfer
from weixi.operations.clock import local
from weixi.plans.service import plan_zone
from weixi.users.service import User, audit

router = APIRouter()
MEMBER = Path(min_length=1, max_length=128)
ARCHIVE_LABELS = {
    "email": N_("E-mail"),
    "qq": N_("QQ"),
    "wechat": N_("WeChat"),
    "second_contact": N_("Second contact"),
    "birthday": N_("Birthday"),
    "lunar_birthday": N_("Lunar birthday"),
    "hobbies": N_("Hobbies"),
    "personality": N_("Personality"),
    "family_notes": N_("Family notes"),
}
DONE = {
    "adjusted": N_("The points were adjusted."),
    "noted": N_("The note was added."),
    "archived": N_("The archive was corrected."),
    "unchanged": N_("Nothing was changed: the archive already says this."),
}
PURPOSE_LABELS = {"service": N_("service"), "care": N_("care"), "marketing": N_("marketing")}  # ops_contacts.purpose
SOURCE_LABELS = {"member_360": N_("member 360"), "task": N_("call or visit"), "counter": N_("counter")}
MAX_POINTS = 1_000_000


def _when(value, tz: ZoneInfo) -> str:
    return local(value, tz).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def archive_view(engine, data_dir, member_id: str, reveal: bool) -> dict:
    """The archive fields as the form shows them (file row with the corrections laid over it, numbers masked unless
    ``reveal``) and the corrections' history, times in the operator's timezone."""
    tz = plan_zone(engine)
    profile = archive_files.members_lookup(data_dir, member_id) or {}
    latest = archive.latest(engine, member_id)
    current = archive.overlay(profile, latest) or {}
    values = {f.name: current.get(f.name) for f in archive.FIELDS}
    shown = pii.mask_row({k: (str(v) if v is not None else "") for k, v in values.items()}, reveal)
    history = [
        {
            **h,
            "old": pii.mask_value(h["field"], h["old"], reveal),
            "new": pii.mask_value(h["field"], h["new"], reveal),
            "at": _when(h["at"], tz),
        }
        for h in archive.history(engine, member_id)
    ]
    return {"values": shown, "history": history, "masked": not reveal}


def context_360(request: Request, user: User, member_id: str, m: dict) -> dict:
    """What the member 360 shows beyond the archive and the ledger, and which actions the user may take."""
    state = request.app.state
    engine, data_dir = state.engine, state.data_dir
    tz = plan_zone(engine)
    locale = i18n.locale_of(request)
    reveal = pii_unmasked(user.role)
    history = (m.get("tier") or {}).get("history") or []
    tasks = ops_service.member_tasks(engine, member_id)
    staff = ops_staff.staff_list(engine)
    staff_names = {s["staff_id"]: s["name"] for s in staff if s.get("name")}
    manager = transfer.current_manager(engine, data_dir, member_id)
    consents = [
        {"kind": c.kind, "channel": c.channel, "purpose": c.purpose, "at": _when(c.recorded_at, tz)}
        for c in ops_service.consents(engine, member_id)
    ]
    note_rows = [{**n, "at": _when(n["at"], tz)} for n in notes.of_member(engine, member_id)]
    kept = archive_view(engine, data_dir, member_id, reveal)
    if m.get("profile") is not None:  # the profile card shows the corrected birthday and second contact
        m["profile"].update({f: kept["values"][f] for f in ("birthday", "lunar_birthday", "second_contact")})
    return {
        "member_status": history[-1]["status"] if history else None,
        "risk": context.risk(data_dir, member_id, locale),
        "open_tasks": [t for t in tasks if t["status"] == "open"],
        "done_tasks": [t for t in tasks if t["status"] == "done"][:20],
        "contacts": [{**c, "at": _when(c["at"], tz)} for c in context.contacts(engine, member_id)],
        "consents": consents,
        "member_campaigns": context.campaigns(engine, member_id),
        "notes": note_rows,
        "archive": kept,
        "archive_labels": ARCHIVE_LABELS,
        "source_labels": SOURCE_LABELS,
        "purpose_labels": PURPOSE_LABELS,
        "manager": {"staff_id": manager, "name": staff_names.get(manager)} if manager else None,
        "transfers": transfer.history(engine, member_id, limit=10),
        "timezone": tz.key,
        "request_id": uuid.uuid4().hex,
        "may": {
            "adjust": may(user, "points:adjust"),
            "counter": may(user, "counter:serve"),
            "transfer": may(user, "tasks:manage_team"),
            "archive": may(user, "members:archive"),
            "note": may(user, "members:note"),
        },
        "zone_label": display("timezone", tz.key, locale),
    }


def _back(member_id: str, done: str, anchor: str = "") -> RedirectResponse:
    """After an action: the member 360 again, saying what was done (one of :data:`DONE`)."""
    return RedirectResponse(f"/members/{member_id}?done={done}{anchor}", status_code=303)


def _refused(request: Request, user: User, member_id: str, exc: WeixiError | Problem, status: int | None = None):
    """The member 360 with the refusal in the reader's language, at the refusal's status."""
    from weixi.console.members import render_member  # the page module imports this one

    said = render(exc, i18n.locale_of(request))
    return render_member(request, user, member_id, status=status or getattr(exc, "status", 422), error=said)


def _known(request: Request, member_id: str) -> None:
    state = request.app.state
    if archive_files.members_lookup(state.data_dir, member_id) is None:
        from weixi.ledger import queries

        if queries.balance(state.engine, member_id, plan_today(state.engine)) is None:
            raise NotFound("unknown_member", member=member_id[:128])


def _said(request: Request, exc: WeixiError) -> str:
    return render(exc, i18n.locale_of(request))


@router.post("/members/{member_id}/adjust")
def adjust(
    request: Request,
    member_id: str = MEMBER,
    points: int = Form(..., ge=-MAX_POINTS, le=MAX_POINTS),
    reason: str = Form(..., min_length=1, max_length=200),
    request_id: str = Form(..., min_length=8, max_length=64),
    user: User = Depends(page_user("points:adjust")),
):
    """Points by hand with a reason: one ``adjust`` event (the page's request id makes a resubmitted form post
    once), written to the audit log as the API's adjustments are (``points.adjust``)."""
    engine = request.app.state.engine
    _known(request, member_id)
    if points == 0:
        return _refused(request, user, member_id, Problem("member_adjust_zero"), status=422)
    now = datetime.now(plan_zone(engine))
    event_id = f"console-adjust:{user.username}:{request_id}"
    reason = reason.strip()
    result = post_events(
        engine,
        [
            Event(
                event_id,
                member_id,
                "adjust",
                now,
                now.date(),
                points=points,
                attrs={"reason": reason, "by": user.username},
            )
        ],
    )
    if result.rejected:
        rejection = result.rejected[0]
        code = rejection.code or "event_rejected"
        params = rejection.params or ({"reason": rejection.reason} if code == "event_rejected" else {})
        return _refused(request, user, member_id, Problem(code, params), status=409)
    if result.posted:
        audit(engine, user, "points.adjust", member_id, {"event_id": event_id, "points": points, "reason": reason})
    return _back(member_id, done="adjusted", anchor="#actions")


@router.post("/members/{member_id}/notes")
def add_note(
    request: Request,
    member_id: str = MEMBER,
    body: str = Form("", max_length=4000),
    user: User = Depends(page_user("members:note")),
):
    _known(request, member_id)
    try:
        notes.add(request.app.state.engine, user, member_id, body)
    except WeixiError as exc:
        return _refused(request, user, member_id, exc)
    return _back(member_id, done="noted", anchor="#notes")


def _archive_fragment(request: Request, user: User, member_id: str, status: int = 200, **extra):
    state = request.app.state
    view = archive_view(state.engine, state.data_dir, member_id, pii_unmasked(user.role))
    return fragment(
        request,
        "_archive_form.html",
        status=status,
        member_id=member_id,
        archive=view,
        archive_labels=ARCHIVE_LABELS,
        source_labels=SOURCE_LABELS,
        timezone=plan_zone(state.engine).key,
        **extra,
    )


@router.get("/members/{member_id}/archive/form")
def archive_form(
    request: Request,
    member_id: str = MEMBER,
    source: str = Query("member_360", pattern="^(member_360|task|counter)$"),
    task_id: str | None = Query(None, max_length=200),
    user: User = Depends(page_user("members:archive")),
):
    """The archive form as a partial, for the agent's task view (``hx-get``) and the member 360."""
    _known(request, member_id)
    return _archive_fragment(request, user, member_id, source=source, task_id=task_id)


@router.post("/members/{member_id}/archive")
async def correct_archive(
    request: Request, member_id: str = MEMBER, user: User = Depends(page_user("members:archive"))
):
    """Store what changed among the archive fields of the form; a masked number left as shown is not a change.
    From the member 360: back to it; from htmx (the task view): the form again, saved or refused."""
    state = request.app.state
    _known(request, member_id)
    form = await request.form()
    source = str(form.get("source") or "member_360")
    task_id = str(form.get("task_id") or "")[:200] or None
    reveal = pii_unmasked(user.role)
    view = archive_view(state.engine, state.data_dir, member_id, reveal)
    profile = archive_files.members_lookup(state.data_dir, member_id) or {}
    current = archive.overlay(profile, archive.latest(state.engine, member_id)) or {}
    changes = {}
    for f in archive.FIELDS:
        if f.name not in form:
            continue
        value = str(form.get(f.name) or "")
        if not reveal and f.name in pii.PII_FIELDS and value == view["values"].get(f.name):
            continue  # the masked number as shown: unchanged
        changes[f.name] = value
    htmx = request.headers.get("HX-Request") == "true"
    try:
        made = archive.correct(
            state.engine, user, member_id, current, changes, plan_today(state.engine), source, task_id
        )
    except WeixiError as exc:
        if htmx:
            return _archive_fragment(
                request, user, member_id, status=exc.status, source=source, task_id=task_id, error=_said(request, exc)
            )
        return _refused(request, user, member_id, exc)
    if htmx:
        return _archive_fragment(request, user, member_id, source=source, task_id=task_id, saved=len(made))
    target = safe_next(str(form.get("next") or ""), "")
    if target:
        return RedirectResponse(target, status_code=303)
    return _back(member_id, done="archived" if made else "unchanged", anchor="#archive")
