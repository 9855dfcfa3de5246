"""The life of a campaign: draft → submitted → approved → running → closed → evaluated.

Pure: :func:`transition` says whether an action is allowed from a status and who may take it; the service layer
records every step with who and when. A rejected submission goes back to draft with the reason.
"""

from __future__ import annotations

from datetime import date

from weixi.campaigns.model import APPROVED, CLOSED, DRAFT, EVALUATED, RUNNING, SUBMITTED


class LifecycleError(Exception):
    """An action the campaign's status (or the actor) does not allow; the message says what to do."""


ACTIONS = {  # action -> (allowed from, goes to)
    "submit": ((DRAFT,), SUBMITTED),
    "approve": ((SUBMITTED,), APPROVED),
    "reject": ((SUBMITTED,), DRAFT),
    "start": ((APPROVED,), RUNNING),
    "close": ((RUNNING,), CLOSED),
    "evaluate": ((CLOSED, EVALUATED), EVALUATED),
}
NEXT_STEP = {DRAFT: "submit", SUBMITTED: "approve or reject", APPROVED: "start", RUNNING: "close",
             CLOSED: "evaluate", EVALUATED: "report"}


def transition(action: str, status: str, actor: str, created_by: str, submitted_by: str | None,
               today: date, window_start: date, window_end: date) -> str:
    """The status after ``action``, or :class:`LifecycleError`."""
    if action not in ACTIONS:
        raise LifecycleError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    sources, target = ACTIONS[action]
    if status not in sources:
        raise LifecycleError(f"cannot {action} a campaign that is {status}; next step: {NEXT_STEP[status]}")
    if not actor:
        raise LifecycleError(f"{action}: say who (--by)")
    if action in ("approve", "reject") and actor in (created_by, submitted_by):
        raise LifecycleError(f"{actor} created or submitted this campaign: another person must {action} it")
    if action == "approve" and today > window_end:
        raise LifecycleError(f"the window ended on {window_end}: a campaign cannot be approved after it")
    if action == "start" and today > window_end:
        raise LifecycleError(f"the window ended on {window_end}: nothing left to run")
    if action == "close" and today < window_start:
        raise LifecycleError(f"the window starts on {window_start}: nothing has run yet")
    return target


def editable(status: str) -> bool:
    return status == DRAFT
