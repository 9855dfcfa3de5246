"""The console's navigation: each page with the permission (:mod:`weixi.api.permissions`) a role needs to see it,
grouped by area of work the way an Ant Design admin console groups its side menu.

A role sees exactly the pages its permissions open; the same permission guards the page itself, so a link that
is not shown is refused (403) when typed in. Members see only their own page; the staff pages whose permission a
member also holds (the catalogue, their own member 360) send a member to that page instead.

:func:`visible` returns a :class:`Menu`: the items in menu order (a list, so templates can loop over it), their
groups (the side menu, the group of the current page open) and the current page's trail (the breadcrumbs of a
detail page).
"""

from __future__ import annotations

from dataclasses import dataclass

from weixi.api.permissions import allowed
from weixi.i18n import N_
from weixi.names import display


@dataclass(frozen=True)
class Group:
    key: str
    label: str  # message id, translated by the template


@dataclass(frozen=True)
class Item:
    path: str
    label: str  # message id, translated by the template
    permission: str
    group: str | None = None  # a Group key; None for a page outside the side menu (the member's own page)
    staff_only: bool = False  # members reach the same information on their own page (/me)


# The side menu's groups, in menu order (会员 / 运营 / 活动 / 考核 / 分析 / 系统, the console's areas of work).
GROUPS = (
    Group("analysis", N_("Analysis")),
    Group("operations", N_("Operations")),
    Group("members", N_("Membership")),
    Group("campaigns", N_("Marketing")),
    Group("incentives", N_("Assessment")),
    Group("system", N_("System")),
)

# Every page in the navigation, in menu order within its group.
ITEMS = (
    Item("/dashboard", N_("Dashboard"), "dashboard:read", "analysis"),
    Item("/retention", N_("Churn risk"), "churn:read", "analysis"),
    Item("/work", N_("My tasks"), "tasks:read_own", "operations"),  # an agent's first page
    Item("/team", N_("Team"), "tasks:read_team", "operations"),
    Item("/targets", N_("Target lists"), "targets:read", "operations"),
    Item("/care", N_("Care calendar"), "care:read", "operations"),
    Item("/counter", N_("Counter"), "counter:serve", "members"),  # a clerk's first page
    Item("/members", N_("Members"), "members:search", "members"),
    Item("/catalogue", N_("Catalogue"), "catalogue:read", "members", staff_only=True),
    Item("/campaigns", N_("Campaigns"), "campaigns:read", "campaigns"),
    Item("/campaigns/approvals", N_("Campaign approvals"), "campaigns:read", "campaigns"),
    Item("/incentives", N_("Incentives"), "incentives:read_own", "incentives"),
    Item("/plans", N_("Plans"), "plans:read", "system"),
    Item("/close", N_("Monthly close"), "close:read", "system"),
    Item("/uploads", N_("Data uploads"), "data:load", "system"),
    Item("/users", N_("Users and roles"), "users:manage", "system"),
    Item("/audit", N_("Audit log"), "audit:read", "system"),
    Item("/me", N_("My points"), "points:checkin"),  # the member's own page
)
_ORDER = {g.key: n for n, g in enumerate(GROUPS)}


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def current_item(items, path: str):
    """The item ``path`` is under: the one with the longest matching path (``/campaigns/approvals`` before
    ``/campaigns``); None when ``path`` is under none of them."""
    matches = [i for i in items if _under(path, i.path)]
    return max(matches, key=lambda i: len(i.path)) if matches else None


class Menu(list):
    """The items a user may open, in menu order, as dicts (``path``, ``label``, ``group``, ``current``), with
    ``groups`` (the side menu), ``sider`` (whether there is a side menu at all) and ``trail`` (the current page's
    group and item, for breadcrumbs; ``detail`` tells whether the path is below the item, a detail page)."""

    def __init__(self, items, path: str):
        here = current_item(items, path) if path else None
        super().__init__(
            {"path": i.path, "label": i.label, "group": i.group, "current": i is here}
            for i in sorted(items, key=lambda i: _ORDER.get(i.group, len(GROUPS)))
        )
        self.groups = []
        for g in (*GROUPS, Group("", "")):
            members = [d for d in self if (d["group"] or "") == g.key]
            if members:
                self.groups.append(
                    {
                        "key": g.key,
                        "label": g.label,
                        "items": members,
                        "open": any(d["current"] for d in members) or here is None,
                    }
                )
        self.sider = any(g["key"] for g in self.groups)
        group = next((g for g in GROUPS if here is not None and g.key == here.group), None)
        self.trail = (
            {
                "group": group.label if group else None,
                "label": here.label,
                "path": here.path,
                "detail": path.rstrip("/") != here.path,
            }
            if here is not None
            else None
        )


def visible(user, current_path: str = "") -> Menu:
    """The items ``user`` may open, with ``current`` set on the one ``current_path`` is under."""
    if user is None:
        return Menu([], "")
    return Menu(
        [i for i in ITEMS if allowed(user.role, i.permission) and not (i.staff_only and user.role == "member")],
        current_path,
    )


def home(user) -> str:
    """Where a user lands after logging in: the first page of their menu."""
    items = visible(user)
    return items[0]["path"] if items else "/login"


def role_label(role: str, locale: str) -> str:
    """A login's role as people call it (:mod:`weixi.names`, kind ``role``)."""
    return display("role", role, locale)
