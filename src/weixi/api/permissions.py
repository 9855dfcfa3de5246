"""The one permission matrix of the API and the console: permission -> roles that hold it.

Roles (``weixi.users.service.ROLES``): admin, analyst (会员价值分析师), manager (客户经理),
agent (外呼坐席), clerk (营业员), member (会员). A member login holds a permission only for its own member:
endpoints that take a member id call :func:`weixi.api.auth.own_member` to enforce that.

docs/api.md prints this table; tests/api/test_permissions.py walks every endpoint x role against it.
"""

from __future__ import annotations

from weixi.users.service import ROLES

STAFF = frozenset({"admin", "analyst", "manager", "agent", "clerk"})
EVERYONE = STAFF | {"member"}

PERMISSIONS: dict[str, frozenset[str]] = {
    # ledger
    "events:post": frozenset({"admin", "clerk"}),  # bills, recharges, actions from CRM/billing/counter
    "points:redeem": frozenset({"admin", "manager", "clerk", "member"}),
    "redemptions:read": EVERYONE,
    "redemptions:cancel": frozenset({"admin", "clerk"}),  # fulfilment failed
    "events:reverse": frozenset({"admin"}),  # full refund of an earning event; refund events
    "points:adjust": frozenset({"admin"}),  # adjust events: points by hand, with a reason
    "points:read": EVERYONE,  # balance, lots, statement
    "points:expiring": frozenset({"admin", "analyst", "manager", "agent"}),  # expiry reminders across members
    "points:checkin": frozenset({"member"}),  # daily check-in (签到), self-service
    "catalogue:read": EVERYONE,
    # members
    "members:search": STAFF,
    "members:read": EVERYONE,  # member 360
    "members:archive": frozenset({"admin", "manager", "agent"}),  # correct archive fields learned on a call
    "members:note": STAFF,  # add a note on the member 360
    "counter:serve": frozenset({"admin", "clerk"}),  # the counter: find by number, check in, redeem, draw, gifts
    # plans
    "plans:read": frozenset({"admin", "analyst", "manager"}),
    "plans:check": frozenset({"admin", "analyst"}),
    "plans:apply": frozenset({"admin"}),
    # monthly close
    "close:read": frozenset({"admin", "analyst"}),
    "close:run": frozenset({"admin"}),
    # console dashboard (tiers, segments, points per month, liability)
    "dashboard:read": frozenset({"admin", "analyst", "manager"}),
    # staff incentives: a statement's staff id is the login's username (docs/api.md)
    "incentives:read_own": STAFF,  # one's own statement
    "incentives:read_team": frozenset({"admin", "analyst", "manager"}),  # a manager: their roster team only
    "incentives:read_all": frozenset({"admin", "analyst"}),  # every statement, payroll export, awards
    "incentives:compute": frozenset({"admin", "analyst"}),  # recompute from the month's inputs, diff
    "incentives:nominate": frozenset({"admin", "analyst", "manager"}),
    "incentives:review": frozenset({"admin", "analyst"}),  # committee review of nominations
    "incentives:publish": frozenset({"admin"}),  # publish statements; approve, publish awards
    # churn early warning and retention target lists
    "churn:read": frozenset({"admin", "analyst", "manager"}),  # risk distribution, reasons, scores, models
    "churn:train": frozenset({"admin", "analyst"}),  # train a model, score a month (console jobs)
    "targets:read": frozenset({"admin", "analyst", "manager", "agent"}),  # lists, evaluation and lift
    "targets:export": frozenset({"admin", "analyst", "manager", "agent"}),  # CSV/XLSX for the outbound centre
    "targets:build": frozenset({"admin", "analyst"}),
    # campaigns (保客活动): creator and approver must be different people (the service refuses self-approval)
    "campaigns:read": frozenset({"admin", "analyst", "manager"}),  # list, calendar, dashboard, report, draws
    "campaigns:edit": frozenset({"admin", "analyst"}),  # create and edit drafts, submit
    "campaigns:approve": frozenset({"admin"}),  # approve or reject a submission
    "campaigns:run": frozenset({"admin", "analyst"}),  # start, close, evaluate
    "campaigns:draw": frozenset({"admin", "clerk", "member"}),  # draws and chances; a member: its own
    "referrals:review": frozenset({"admin", "analyst"}),  # the review queue of flagged referrals
    # retention operations: a login's staff id is its username; a manager oversees its roster team (docs/api.md)
    "tasks:read_own": frozenset({"admin", "manager", "agent"}),  # my queue, next task, a task with the member
    "tasks:outcome": frozenset({"admin", "manager", "agent"}),  # record an outcome on one's own task
    "tasks:read_team": frozenset({"admin", "analyst", "manager"}),  # team view: workload and SLA per staff member
    "sla:read": frozenset({"admin", "analyst", "manager"}),  # SLA report (a manager: their teams)
    "tasks:manage_team": frozenset({"admin", "manager"}),  # reassign, transfer a member, inspect records, quotas
    "care:read": frozenset({"admin", "analyst", "manager", "agent"}),  # the care calendar
    "outbox:read": frozenset({"admin", "analyst", "manager"}),  # outbox status, recipients masked
    "surveys:send": frozenset({"admin", "analyst"}),  # create a questionnaire (调研), send it through the outbox
    "surveys:answer": frozenset({"admin", "manager", "agent"}),  # record a member's answers (a call, a paper form)
    "surveys:read": frozenset({"admin", "analyst", "manager"}),  # satisfaction figures
    # administration
    "users:manage": frozenset({"admin"}),
    "audit:read": frozenset({"admin"}),
    "data:load": frozenset({"admin"}),  # upload archive exports, event files and the roster in the console
}

# Roles that see phone and ID numbers in clear (they call and visit members); every such view is audited.
PII_ROLES = frozenset({"admin", "manager", "agent"})

_unknown = {r for roles in PERMISSIONS.values() for r in roles} - set(ROLES)
if _unknown:  # a typo in the matrix must stop the import, not silently deny
    raise RuntimeError(f"permission matrix names unknown roles {sorted(_unknown)}")


def allowed(role: str | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return role in PERMISSIONS[permission]


def pii_unmasked(role: str | None) -> bool:
    """Whether ``role`` sees phone and ID numbers unmasked."""
    return role in PII_ROLES


def matrix() -> list[dict]:
    """The matrix as rows for docs and the console: permission and, per role, whether it holds it."""
    return [{"permission": p, **{r: r in roles for r in ROLES}} for p, roles in PERMISSIONS.items()]
