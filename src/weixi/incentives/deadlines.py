"""Awards are published before the next quarter starts (seed 000, 电信运营商客户服务奖励制度: "评估周期结束后,奖励将在
下季度开始前正式宣布和发放").

An award is paid in the month its period ends (:func:`weixi.incentives.pay.paid_period`): a monthly award in its
month, a quarterly one in the quarter's last month, a yearly one in December. Its deadline is the first day of the
quarter that follows the one in which its period ends: 2024-Q1 → 2024-04-01, 2024-02 → 2024-04-01, 2024 →
2025-01-01. From that day (in the operator's timezone) on, the award's approval chain takes no decision
(:mod:`weixi.incentives.approvals`), a month whose award lines are new or changed is not published
(:mod:`weixi.incentives.publication`), and the nominations of the period are not published. The plans this applies
to are the scorecards with ``awards:`` (the seed's 奖励等级).

Pure but for :func:`today` (the operator's date): the checks take today's date.
"""

from __future__ import annotations

from datetime import date, timedelta

from weixi.incentives.errors import IncentiveConflict
from weixi.incentives.model import IncentivePlan
from weixi.incentives.months import Month, Quarter, Year, period


def next_quarter_start(p: Month | Quarter | Year) -> date:
    """The first day of the quarter after the one in which ``p`` ends."""
    last = p.last
    if last.year == date.max.year and last.month > 9:  # no quarter after 9999-Q4: the last day a date can be
        return date.max
    return Quarter(last.year, (last.month - 1) // 3 + 1).last + timedelta(days=1)


def has_awards(plan: IncentivePlan) -> bool:
    """Whether the plan awards prizes (a scorecard with ``awards:``): the seed's deadline applies to it."""
    a = plan.scorecard.awards if plan.kind == "scorecard" and plan.scorecard is not None else None
    return a is not None and bool(a.ranks or a.improvement or a.rest)


def award_deadline(plan: IncentivePlan, month: str) -> dict | None:
    """``{"plan", "period", "deadline"}`` of the awards ``plan`` pays in ``month``; None when it pays none then."""
    from weixi.incentives.pay import paid_period

    if not has_awards(plan):
        return None
    paid = paid_period(plan, Month.parse(month))
    if paid is None:
        return None
    return {"plan": plan.id, "period": str(paid), "deadline": next_quarter_start(paid).isoformat()}


def refuse_late(found: dict, today: date) -> None:
    """Refuse on or after the deadline of ``found`` (an :func:`award_deadline`)."""
    if today >= date.fromisoformat(found["deadline"]):
        raise IncentiveConflict(
            "incentive_award_deadline_passed",
            plan=found["plan"],
            period=found["period"],
            deadline=found["deadline"],
            today=today.isoformat(),
        )


def refuse_late_nominations(text: str, today: date) -> None:
    """Refuse publishing the award nominations of period ``text`` (``YYYY-MM``, ``YYYY-Qn``, ``YYYY``) on or after
    its deadline."""
    p = period(text)
    deadline = next_quarter_start(p)
    if today >= deadline:
        raise IncentiveConflict(
            "incentive_nominations_deadline_passed",
            period=str(p),
            deadline=deadline.isoformat(),
            today=today.isoformat(),
        )


def today(engine) -> date:
    """Today in the operator's timezone (the active points plan's)."""
    from zoneinfo import ZoneInfo

    from weixi.incentives.reports import zone
    from weixi.incentives.service import now

    return now().astimezone(ZoneInfo(zone(engine))).date()
