"""The life of a campaign: draft → submitted → approved → running → closed → evaluated.

Pure: :func:`transition` says whether an action is allowed from a status and who may take it; the service layer
records every step with who and when. A rejected submission goes back to draft with the reason. A campaign not
yet ended (draft, submitted, approved or running) can be cancelled with its reason: nothing more is drawn, bought
or handed out, and what was given stays given (the report shows it).
"""

from __future__ import annotations

from datetime import date

from weixi.campaigns.errors import CampaignInvalid, CampaignRefused
from weixi.campaigns.model import APPROVED, CANCELLED, CLOSED, DRAFT, EVALUATED, RUNNING, SUBMITTED


class LifecycleError(CampaignRefused):
    """An action the campaign's status (or the actor) does not allow; the code and params say what to do."""


ACTIONS = {  # action -> (allowed from, goes to)
    "submit": ((DRAFT,), SUBMITTED),
    "approve": ((SUBMITTED,), APPROVED),
    "reject": ((SUBMITTED,), DRAFT),
    "start": ((APPROVED,), RUNNING),
    "close": ((RUNNING,), CLOSED),
    "evaluate": ((CLOSED, EVALUATED), EVALUATED),
    "cancel": ((DRAFT, SUBMITTED, APPROVED, RUNNING), CANCELLED),
}
NEXT_STEP = {
    DRAFT: "submit",
    SUBMITTED: "approve_or_reject",
    APPROVED: "start",
    RUNNING: "close",
    CLOSED: "evaluate",
    EVALUATED: "report",
    CANCELLED: "report",
}
# The actions that need a reason (the step's note).
NEEDS_REASON = {"reject": "campaign_reject_reason_missing", "cancel": "campaign_cancel_reason_missing"}


def transition(
    action: str,
    status: str,
    actor: str,
    created_by: str,
    submitted_by: str | None,
    today: date,
    window_start: date,
    window_end: date,
) -> str:
    """The status after ``action``, or :class:`LifecycleError` (an unknown action or no actor: invalid)."""
    if action not in ACTIONS:
        raise CampaignInvalid("campaign_unknown_action", action=action, actions=list(ACTIONS))
    sources, target = ACTIONS[action]
    if status not in sources:
        raise LifecycleError(
            "campaign_wrong_status", campaign_action=action, campaign_status=status, campaign_next=NEXT_STEP[status]
        )
    if not actor:
        raise CampaignInvalid("campaign_actor_missing", campaign_action=action)
    if action in ("approve", "reject") and actor in (created_by, submitted_by):
        raise LifecycleError("campaign_four_eyes", actor=actor, campaign_action=action)
    if action == "approve" and today > window_end:
        raise LifecycleError("campaign_approve_after_window", end=window_end)
    if action == "start" and today > window_end:
        raise LifecycleError("campaign_start_after_window", end=window_end)
    if action == "close" and today < window_start:
        raise LifecycleError("campaign_close_before_window", start=window_start)
    return target


def editable(status: str) -> bool:
    return status == DRAFT
