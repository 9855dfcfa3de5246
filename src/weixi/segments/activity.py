"""Activity grades 活跃/一般/沉默 by recency and frequency."""

from __future__ import annotations

import ibis

from weixi.plans.model import ActivityGrades, ActivityRule


def activity_grade(days_since: ibis.Value, touches: ibis.Value, config: ActivityGrades) -> ibis.Value:
    """``active`` when the active rule holds, else ``normal`` when its rule holds, else ``silent``."""
    return ibis.cases(
        (_holds(config.active, days_since, touches), "active"),
        (_holds(config.normal, days_since, touches), "normal"),
        else_="silent",
    )


def _holds(rule: ActivityRule, days_since: ibis.Value, touches: ibis.Value) -> ibis.Value:
    cond = ibis.literal(True)
    if rule.max_days_since is not None:
        cond &= days_since.notnull() & (days_since <= rule.max_days_since)
    if rule.min_touches is not None:
        cond &= touches >= rule.min_touches
    return cond
