"""A call-back booked at a date and time (issue 18 §1 "Agent"): never inside the plan's quiet hours (免打扰时段) and
never in the past. A refused time comes back as a coded error that proposes the next allowed time
(``next``: the end of the quiet hours, in the operator's timezone), which the work page offers as a button."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from weixi.operations import policy
from weixi.operations.errors import OperationsError
from weixi.operations.plan import OperationsPlan

SHOWN = "%Y-%m-%d %H:%M"


def shown(at: datetime, tz: ZoneInfo) -> str:
    """A time as the operator reads it: local date and time, no seconds."""
    return at.astimezone(tz).strftime(SHOWN)


def next_allowed(plan: OperationsPlan, at: datetime) -> datetime:
    """The first moment at or after ``at`` outside the quiet hours (in ``at``'s zone)."""
    return policy.quiet_end(plan, at)


def check(plan: OperationsPlan, task_id: str, at: datetime | None, now: datetime, tz: ZoneInfo) -> datetime:
    """The call-back time (in ``tz`` when it came without a zone), or a coded refusal: missing, in the quiet hours
    (with the next allowed time), not in the future."""
    if at is None:
        raise OperationsError("callback_time_missing", task=task_id)
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    local = at.astimezone(tz)
    block = policy.quiet_block(plan, local)
    if block:
        proposal = next_allowed(plan, local)
        if proposal <= now:
            proposal = next_allowed(plan, now.astimezone(tz))
        raise OperationsError(
            "callback_in_quiet_hours",
            task=task_id,
            at=at.isoformat(),
            detail=block.detail,
            next=shown(proposal, tz),
            next_iso=proposal.strftime("%Y-%m-%dT%H:%M"),
            quiet_from=plan.quiet_from.strftime("%H:%M"),
            quiet_to=plan.quiet_to.strftime("%H:%M"),
        )
    if at <= now:
        raise OperationsError("callback_not_in_future", task=task_id, at=at.isoformat())
    return at
