"""The refusals of the incentive area as coded errors (:mod:`weixi.errors`): one base, :class:`IncentiveError`,
that a caller may catch for every refusal of the area, and its kinds, whose class gives the HTTP status and exit
code. A refusal about a plan file carries the plan's diagnostics (file, line, column, code) with it."""

from __future__ import annotations

from typing import Any

from weixi.errors import Conflict, Forbidden, Invalid, NotFound, WeixiError, Where


class IncentiveError(WeixiError):
    """A refusal of the incentive area; ``diagnostics``: the located problems of a plan file, when it is about one."""

    def __init__(self, code: str, where: Where | None = None, /, diagnostics: list | None = None, **params: Any):
        super().__init__(code, where, **params)
        self.diagnostics = list(diagnostics or [])


class IncentiveInvalid(IncentiveError, Invalid):
    """The request, a plan or an input file is wrong: fix it and try again."""


class IncentiveConflict(IncentiveError, Conflict):
    """Refused in the current state: the month is published already, a plan is not in force, an input is missing."""


class IncentiveNotFound(IncentiveError, NotFound):
    """What the request names does not exist: an unpublished month, a statement, a nomination."""


class NotVisible(IncentiveError, Forbidden):
    """The user may not see this staff member's statement or this team."""
