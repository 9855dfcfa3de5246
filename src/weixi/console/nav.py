"""The console's navigation: each page with the permission (:mod:`weixi.api.permissions`) a role needs to see it.

A role sees exactly the pages its permissions open; the same permission guards the page itself, so a link that
is not shown is refused (403) when typed in. Members see only their own page; the staff pages whose permission a
member also holds (the catalogue, their own member 360) send a member to that page instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.api.permissions import allowed
from weixi.i18n import N_
from weixi.names import display


@dataclass(frozen=True)
class Item:
    path: str
    label: str  # message id, translated by the template
    permission: str
    staff_only: bool = False  # members reach the same information on their own page (/me)


ITEMS = (
    Item("/dashboard", N_("Dashboard"), "dashboard:read"),
    Item("/work", N_("My tasks"), "tasks:read_own"),  # an agent's first page
    Item("/team", N_("Team"), "tasks:read_team"),
    Item("/members", N_("Members"), "members:search"),
    Item("/catalogue", N_("Catalogue"), "catalogue:read", staff_only=True),
    Item("/plans", N_("Plans"), "plans:read"),
    Item("/close", N_("Monthly close"), "close:read"),
    Item("/campaigns", N_("Campaigns"), "campaigns:read"),
    Item("/incentives", N_("Incentives"), "incentives:read_own"),
    Item("/retention", N_("Churn risk"), "churn:read"),
    Item("/targets", N_("Target lists"), "targets:read"),
    Item("/care", N_("Care calendar"), "care:read"),
    Item("/me", N_("My points"), "points:checkin"),  # the member's own page
)


def visible(user, current_path: str = "") -> list[dict]:
    """The items ``user`` may open, with ``current`` set on the one ``current_path`` is under."""
    if user is None:
        return []
    return [
        {"path": i.path, "label": i.label, "current": current_path == i.path or current_path.startswith(i.path + "/")}
        for i in ITEMS
        if allowed(user.role, i.permission) and not (i.staff_only and user.role == "member")
    ]


def home(user) -> str:
    """Where a user lands after logging in: their first page."""
    items = visible(user)
    return items[0]["path"] if items else "/login"


def role_label(role: str, locale: str) -> str:
    """A login's role as people call it (:mod:`weixi.names`, kind ``role``)."""
    return display("role", role, locale)
