"""Every view of phone or ID numbers in clear, and every search that can tell them, is one ``pii.view`` row in the
audit log naming the members it showed (``GET /api/audit?action=pii.view``, docs/api.md, docs/security.md).

A bulk export names its members up to :data:`MEMBERS_MAX`; a larger one names the list it came from and the count
(the list's month and filters are in the row), so that the log stays readable.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import Engine

from weixi.users.service import User, audit

ACTION = "pii.view"
MEMBERS_MAX = 1000


def record(
    engine: Engine, user: User | None, view: str, members: Iterable[str], subject: str | None = None, **detail
) -> None:
    """Write one ``pii.view`` row: who (``user``), which ``view``, the members shown (or, past :data:`MEMBERS_MAX`,
    only their count: ``subject`` then names the list) and ``detail`` (query, filters, fields)."""
    ids = list(dict.fromkeys(members))
    row = {"view": view, **detail, "count": len(ids)}
    if len(ids) <= MEMBERS_MAX:
        row["members"] = ids
    else:
        row["members_omitted"] = True
    audit(engine, user, ACTION, (subject or ",".join(ids))[:200], row)
