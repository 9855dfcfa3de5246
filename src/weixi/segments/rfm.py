"""RFM scores: recency, frequency and monetary value, each 1..bins."""

from __future__ import annotations

import ibis

NEVER = 1_000_000  # days since activity of a member never seen active: longer ago than anyone's


def with_rfm(t: ibis.Table, bins: int) -> ibis.Table:
    """``t`` (with ``days_since_active``, ``frequency``, ``monetary_fen``) plus ``r_score``, ``f_score``,
    ``m_score`` and ``rfm`` ('545').

    R: more recent is better, never active is worst; F: more activity records; M: more spend. A score is
    ``1 + floor(worse x bins / n)``, ``worse`` the number of members with a strictly worse value and ``n`` the
    members scored, so equal values share a score (``ntile`` would need a total order and give equal members
    different scores). It is computed over the distinct values, not with a window over every member, which
    Spark would run in one partition.
    """
    goodness = {
        "r_score": -t.days_since_active.cast("int64").coalesce(NEVER),
        "f_score": t.frequency,
        "m_score": t.monetary_fen,
    }
    t = t.mutate(**{f"{name}_key": key.cast("int64") for name, key in goodness.items()})
    for name in goodness:
        levels = _scores(t, f"{name}_key", name, bins)
        joined = t.join(levels, t[f"{name}_key"] == levels[f"{name}_level"])
        t = joined.drop(f"{name}_level", f"{name}_key")
    return t.mutate(rfm=t.r_score.cast("string") + t.f_score.cast("string") + t.m_score.cast("string"))


def _scores(t: ibis.Table, key: str, name: str, bins: int) -> ibis.Table:
    """One row per distinct value of ``key``: the value (as ``{name}_level``) and its score."""
    levels = t.group_by(level=t[key]).aggregate(members=t.count())
    upto = levels.members.sum().over(ibis.window(order_by=levels.level, rows=(None, 0)))
    levels = levels.mutate(worse=upto - levels.members, n=levels.members.sum().over(ibis.window()))
    return levels.select(**{f"{name}_level": levels.level, name: ((levels.worse * bins) // levels.n + 1).cast("int8")})
