"""The audit log page (administrators, ``audit:read``): who did what to whom and when, newest first, filtered by
who, action (by its name), member and period (dates in the operator's timezone, the active plan's), 50 entries a
page with the total.

An entry's detail is shown by field name, translated where the field is known; its values are data (ids,
numbers, notes) except the few that are codes (a role, the channel it came through), which show their names.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request

from weixi.console.guard import page_user
from weixi.console.render import page
from weixi.console.upload_files import KINDS
from weixi.errors import Invalid
from weixi.i18n import N_
from weixi.operations.clock import local
from weixi.plans import service as plan_service
from weixi.users import admin
from weixi.users.service import User

router = APIRouter()

# What each action is called (the filter's choices and the table); an action not listed shows as its code.
ACTIONS = {
    "login": N_("Logged in"),
    "pii.view": N_("Viewed unmasked personal data"),
    "members.export": N_("Exported members"),
    "user.create": N_("Created a login"),
    "user.deactivate": N_("Deactivated a login"),
    "user.reactivate": N_("Reactivated a login"),
    "user.password": N_("Reset a password"),
    "user.staff_id": N_("Linked a login to its staff id"),
    "token.issue": N_("Issued an API token"),
    "token.revoke": N_("Revoked an API token"),
    "points.adjust": N_("Adjusted points"),
    "event.reverse": N_("Reversed an event"),
    "redemption.cancel": N_("Cancelled a redemption"),
    "plan.apply": N_("Applied a plan"),
    "plan.rollback": N_("Rolled back a plan"),
    "data.load": N_("Uploaded a data file"),
    "login.sms_code": N_("Sent a login code by SMS"),
    "login.sms_failed": N_("Entered a wrong SMS login code"),
    "member.archive": N_("Corrected a member's archive"),
    "member.note": N_("Added a note on a member"),
    "member.transfer": N_("Transferred a member to another manager"),
    "counter.checkin": N_("Checked a member in at the counter"),
    "counter.draw": N_("Drew for a member at the counter"),
    "counter.gift": N_("Handed out a gift at the counter"),
    "counter.redeem": N_("Redeemed for a member at the counter"),
    "churn.train": N_("Trained the churn model"),
    "churn.score": N_("Scored churn risk"),
    "tasks.reassign": N_("Reassigned tasks"),
    "tasks.inspect": N_("Inspected an agent's tasks"),
    "quota.set": N_("Set a quota"),
    "quota.handout": N_("Handed out a quota item"),
    "portfolio.export": N_("Exported a portfolio report"),
    "operations.share_out": N_("Shared out members among managers"),
    "survey.create": N_("Created a survey"),
    "survey.send": N_("Sent a survey"),
    "survey.answer": N_("Recorded a survey answer"),
    "campaign.follow_ups": N_("Created campaign follow-up tasks"),
    "campaign.incident": N_("Recorded a campaign incident"),
    "campaign.risk_outcome": N_("Recorded a campaign risk's outcome"),
    "incentives.approval.approve": N_("Approved an incentive plan's pay"),
    "incentives.approval.return": N_("Returned an incentive plan's pay"),
    "incentives.suspend": N_("Suspended an incentive plan's pay for a month"),
    "incentives.resume": N_("Lifted the suspension of an incentive plan's pay"),
    "close.start": N_("Started a monthly close"),
    "campaign.create": N_("Created a campaign"),
    "campaign.update": N_("Edited a campaign"),
    "campaign.submit": N_("Submitted a campaign for approval"),
    "campaign.approve": N_("Approved a campaign"),
    "campaign.reject": N_("Rejected a campaign"),
    "campaign.start": N_("Started a campaign"),
    "campaign.pause": N_("Paused a campaign"),
    "campaign.resume": N_("Resumed a campaign"),
    "campaign.end": N_("Ended a campaign"),
    "campaign.cancel": N_("Cancelled a campaign"),
    "campaign.referral_review": N_("Reviewed a referral"),
    "task.outcome": N_("Recorded a task outcome"),
    "targets.build": N_("Built a target list"),
    "targets.export": N_("Exported a target list"),
    "incentives.export": N_("Exported incentives"),
    "incentives.publish": N_("Published incentives"),
    "incentives.upload": N_("Uploaded an incentive input file"),
}
# An entry's detail fields by name; a field not listed shows as its code.
FIELDS = {
    "ip": N_("address"),
    "via": N_("through"),
    "role": N_("role"),
    "name": N_("name"),
    "note": N_("note"),
    "reason": N_("reason"),
    "version": N_("version"),
    "month": N_("month"),
    "count": N_("count"),
    "members": N_("members shown"),
    "fields": N_("personal data shown"),
    "tier": N_("tier"),
    "star": N_("stars"),
    "value": N_("value grade"),
    "activity": N_("activity grade"),
    "band": N_("risk band"),
    "manager": N_("customer manager"),
    "status": N_("status"),
    "contract_before": N_("contract ends before"),
    "format": N_("format"),
    "rows": N_("rows"),
    "file": N_("file"),
    "filename": N_("file"),
    "token": N_("token number"),
    "event_id": N_("event"),
    "points": N_("points"),
    "member_id": N_("member"),
    "job": N_("job"),
    "view": N_("view"),
    "q": N_("search"),
    "query": N_("search"),
    "order": N_("order"),
    "outcome": N_("outcome"),
    "referee": N_("referee"),
    "approve": N_("approved"),
    "team": N_("team"),
    "reveal": N_("unmasked"),
    "sha256": N_("fingerprint"),
    "refund": N_("refund"),
    "amount_fen": N_("amount (yuan)"),
    "kind": N_("what the file holds"),
    "accepted": N_("rows accepted"),
    "quarantined": N_("rows set aside"),
    "already_loaded": N_("already loaded before"),
    "report": N_("report"),
    "new": N_("new version"),
    "from_version": N_("from version"),
    "to_version": N_("to version"),
    "by": N_("by"),
    "campaign": N_("campaign"),
    "changes": N_("changes"),
    "day": N_("day"),
    "from": N_("from"),
    "to": N_("to"),
    "gift": N_("gift"),
    "id": N_("number"),
    "item": N_("item"),
    "length": N_("length"),
    "member": N_("member"),
    "moved_tasks": N_("tasks moved"),
    "period": N_("period"),
    "phone": N_("phone number"),
    "plan": N_("plan"),
    "prize": N_("prize"),
    "qty": N_("quantity"),
    "quantity": N_("quantity"),
    "questions": N_("questions"),
    "quota": N_("quota"),
    "redemption": N_("redemption"),
    "reward": N_("reward"),
    "risk": N_("risk"),
    "seq": N_("sequence"),
    "source": N_("source"),
    "step": N_("step"),
    "staff_id": N_("staff id"),
    "task_id": N_("task"),
    "tasks": N_("tasks"),
    "verdict": N_("verdict"),
    "what": N_("what happened"),
}
VIA = {"console": N_("console"), "cli": N_("command line"), "api": N_("API")}
# What a ``pii.view`` entry showed (its ``view``) and which personal data (its ``fields``).
VIEWS = {
    "member_search": N_("member search"),
    "member_360": N_("member page"),
    "member_list": N_("member list"),
    "member_list_export": N_("member list export"),
    "targets_export": N_("target list export"),
    "outbox": N_("message outbox"),
}
PII = {"phone": N_("phone number"), "second_contact": N_("second contact number"), "id_number": N_("ID number")}
CODED = {"via": VIA, "view": VIEWS, "kind": KINDS}
MEMBERS_SHOWN = 5


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("audit_bad_date", field=field, value=value[:20]) from None


def _detail(detail) -> list[tuple[str, str, object]]:
    """(field, how its value shows, value): ``kind`` is a :mod:`weixi.names` kind (``role``, ``outcome``,
    ``value_grade``, ``activity_grade``), ``label``/``labels`` (message ids), ``fen``, ``bool`` or ``text``."""
    if not isinstance(detail, dict):
        return [] if detail is None else [("", "text", detail)]
    out = []
    for key, value in detail.items():
        if value is None or value == "" or key == "members_omitted":
            continue
        if key == "members" and isinstance(value, list):
            shown = ", ".join(map(str, value[:MEMBERS_SHOWN])) + (" …" if len(value) > MEMBERS_SHOWN else "")
            out.append((key, "text", shown))
        elif key in ("role", "outcome", "value", "activity"):
            out.append((key, {"value": "value_grade", "activity": "activity_grade"}.get(key, key), value))
        elif key in CODED and value in CODED[key]:
            out.append((key, "label", CODED[key][value]))
        elif key == "fields" and isinstance(value, list):
            out.append((key, "labels", [PII.get(v, v) for v in value]))
        elif key == "amount_fen":
            out.append((key, "fen", value))
        elif isinstance(value, bool):
            out.append((key, "bool", value))
        elif isinstance(value, (dict, list)):
            out.append(
                (
                    key,
                    "text",
                    ", ".join(f"{k}={v}" for k, v in value.items())
                    if isinstance(value, dict)
                    else ", ".join(map(str, value)),
                )
            )
        else:
            out.append((key, "text", value))
    return out


@router.get("/audit")
def audit_page(
    request: Request,
    who: str = Query("", max_length=64),
    action: str = Query("", max_length=64),
    member: str = Query("", max_length=64),
    since: str = Query("", alias="from", max_length=20),
    until: str = Query("", alias="to", max_length=20),
    page_no: int = Query(1, alias="page", ge=1, le=100000),
    user: User = Depends(page_user("audit:read")),
):
    engine = request.app.state.engine
    tz = plan_service.plan_zone(engine)
    errors = {}
    bounds: dict[str, datetime | None] = {"from": None, "to": None}
    for field, value, shift in (("from", since, 0), ("to", until, 1)):
        try:
            day = _day(value.strip(), field)
        except Invalid as exc:
            errors[field] = exc
            continue
        if day is not None:
            bounds[field] = datetime.combine(day + timedelta(days=shift), time(0), tz)
    f = admin.AuditFilter(who.strip(), action.strip(), member.strip(), bounds["from"], bounds["to"])
    total, entries = admin.search_audit(engine, f, page_no)
    pages = max(1, -(-total // admin.PAGE_SIZE))
    query = {"who": f.who, "action": f.action, "member": f.member, "from": since, "to": until}
    query = {k: v for k, v in query.items() if v}
    actions = sorted(set(admin.audit_actions(engine)) | set(ACTIONS))
    return page(
        request,
        "audit.html",
        user,
        status=422 if errors else 200,
        entries=[
            {**e, "local": local(e["at"], tz).strftime("%Y-%m-%d %H:%M:%S"), "fields": _detail(e["detail"])}
            for e in entries
        ],
        total=total,
        page_no=page_no,
        pages=pages,
        href=lambda n: "/audit?" + urlencode({**query, "page": n}),
        filters={"who": f.who, "action": f.action, "member": f.member, "from": since, "to": until},
        errors=errors,
        usernames=admin.audit_usernames(engine),
        actions=actions,
        action_names=ACTIONS,
        field_names=FIELDS,
        timezone=tz.key,
    )
