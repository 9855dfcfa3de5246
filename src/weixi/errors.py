"""Errors and refusals as values: a stable ``code``, the numbers and names in it (``params``), where it was found
(``where``) and a severity. Nothing here builds a sentence: :func:`weixi.messages.render` renders a problem in the
reader's language from one catalogue keyed by code (``weixi/locale/*/LC_MESSAGES/errors.po``), and
``docs/errors.md`` is generated from that catalogue (``python -m weixi.errors_doc``).

Two shapes of the same value:

- :class:`Problem` is collected (a plan checker, a file loader, a batch of events: one run reports every problem);
- :class:`WeixiError` is raised (a refusal that stops one operation). Its class says what kind of refusal it is
  (:class:`NotFound`, :class:`Conflict`, :class:`Invalid`, ...); an entry point maps the class to an HTTP status or
  an exit code, never the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Where:
    """Where a problem was found; every part optional: a file with line and column (a plan), a row and column
    name (a CSV file), a field of a request body (``events[3].amount``)."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    row: int | None = None
    field: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def plain(value: Any) -> Any:
    """A param as JSON has it: dates as ISO text, decimals as text, tuples and sets as lists."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict[str, Any] = field(default_factory=dict)
    where: Where | None = None
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "params": dict(self.params),
            "where": self.where.to_json() if self.where else None,
            "severity": self.severity,
        }


class WeixiError(Exception):
    """A refusal or failure with a code. Subclasses fix the kind (and so the HTTP status an entry point gives)."""

    status = 400
    headers: dict[str, str] | None = None  # HTTP headers the answer must carry (WWW-Authenticate, Retry-After)

    def __init__(self, code: str, where: Where | None = None, /, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = {k: plain(v) for k, v in params.items()}
        self.where = where

    @property
    def problem(self) -> Problem:
        return Problem(self.code, self.params, self.where)

    def __str__(self) -> str:
        """The English sentence, for logs, tracebacks and tests; people see the catalogue's sentence in their
        language (:func:`weixi.messages.render`)."""
        from weixi.messages import render

        return render(self.problem, "en")


class Invalid(WeixiError):
    """The input is wrong (a field, a file, a plan): fix it and try again."""

    status = 422


class Unauthenticated(WeixiError):
    """The caller is not logged in, or its credentials are not valid."""

    status = 401
    headers = {"WWW-Authenticate": "Bearer"}


class NotFound(WeixiError):
    """What the request names does not exist (an unknown reward, member, redemption)."""

    status = 404


class Conflict(WeixiError):
    """Refused in the current state (not enough points, out of stock, month closed, request id reused)."""

    status = 409


class Forbidden(WeixiError):
    """The caller may not do this."""

    status = 403


class Unavailable(WeixiError):
    """Not possible now (a writer down, no active plan yet): retry later."""

    status = 503


class TooManyRequests(WeixiError):
    """Refused for now because of too many attempts; ``retry_after`` (seconds) says when to try again."""

    status = 429

    def __init__(self, code: str, where: Where | None = None, /, **params: Any):
        super().__init__(code, where, **params)
        if "retry_after" in self.params:
            self.headers = {"Retry-After": str(self.params["retry_after"])}
