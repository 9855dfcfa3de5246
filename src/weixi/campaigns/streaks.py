"""Check-in streaks inside the campaign window: the longest run of consecutive days and the rewards it reached.

Pure helpers; the service layer finds each member's longest run with one SQL query (gaps and islands).
"""

from __future__ import annotations

from datetime import date, timedelta

from weixi.campaigns.model import StreakReward


def longest_run(days: list[date]) -> int:
    best = run = 0
    previous = None
    for day in sorted(set(days)):
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    return best


def rewards_for(run: int, streaks: tuple[StreakReward, ...]) -> list[StreakReward]:
    """Every threshold the run reached (7 and 21 days both pay for a 21-day run)."""
    return [s for s in streaks if run >= s.days]
