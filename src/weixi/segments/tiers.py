"""``evaluate_tiers``: each member's tier at a close, from the previous close's state and the tier policy.

At the close of month ``m`` (month end ``E``), for a member in tier ``cur`` whose measure over the window
qualifies for tier ``q`` (the highest tier whose threshold the measure reaches):

1. upgrade: ``q`` above ``cur`` and upgrades are immediate or ``m`` is a review month -> ``q`` (``upgraded``);
2. a grace is pending (``grace_until`` set): requalified (``q`` not below ``cur``) -> the grace is cancelled;
   else the grace has run out (``grace_until <= E``) -> ``q`` (``downgraded``); else the grace goes on;
3. ``m`` is a review month and ``q`` is below ``cur``: with ``grace_months`` 0 -> ``q`` (``downgraded``),
   else the grace starts: ``grace_until`` is the end of month ``m + grace_months``, the close at which the
   member is downgraded to the tier they qualify for then unless they requalified in between;
4. otherwise nothing changes.

``will_downgrade`` is emitted once per grace, at the first close whose month end is at most ``notice_days``
before ``grace_until`` or, when no close falls that near, at the last close before it.
Every date is a Python literal: nothing is computed on dates inside the engines.
"""

from __future__ import annotations

import functools
import operator
from datetime import date, timedelta

import ibis

from weixi.plans.model import Plan, UpgradeTiming
from weixi.segments import months
from weixi.segments.window import MEASURE, Keep, lazy, measure_sum, window_totals

TIER_STATE_SCHEMA = ibis.schema(
    {
        "member_id": "string",
        "month": "string",
        "tier": "string",
        "tier_since": "date",  # the close (month end) that gave the tier; the join date for a starting member
        "grace_until": "date",  # pending downgrade: the close at which it happens unless requalified
        "measure": "int64",  # points earned (or spend in fen) over the window; null without a tier policy
        "qualified_tier": "string",  # the tier the measure qualifies for at this close
    }
)
TIER_EVENT_SCHEMA = ibis.schema(
    {
        "member_id": "string",
        "month": "string",
        "event": "string",  # upgraded | will_downgrade | downgraded
        "from_tier": "string",
        "to_tier": "string",  # for will_downgrade: the tier the member would drop to if measured now
        "effective_on": "date",  # the close's month end; for will_downgrade the downgrade date
        "measure": "int64",
    }
)
PREVIOUS_COLUMNS = ("member_id", "tier", "tier_since", "grace_until")  # what is read of ``previous``
NO_DATE = ibis.null("date")


def evaluate_tiers(
    members: ibis.Table,
    history: ibis.Table,
    previous: ibis.Table | None,
    plan: Plan,
    month: str,
    keep: Keep = lazy,
    totals: ibis.Table | None = None,
) -> tuple[ibis.Table, ibis.Table]:
    """(tier_state, tier_events) for the close of ``month``.

    ``previous`` is the previous close's tier_state (only :data:`PREVIOUS_COLUMNS` are read), or ``None`` or an
    empty table for the first close. Members in service without a previous row start in the lowest tier, as do
    members whose previous tier is not in the plan. Without a tier policy everyone keeps their previous tier
    and there are no events; without tiers ``tier`` is null. ``keep`` receives the decisions, from which both
    the state and the events are read (see :data:`weixi.segments.window.Keep`). ``totals``: the members in service
    with their window totals (:func:`~weixi.segments.window.window_totals`), when the caller computed them once
    for the tiers and the segments; else they are made here.
    """
    end = months.end(months.check(month))
    if totals is None:
        totals = window_totals(members, history, plan, month)
    measure = totals[MEASURE] if measure_sum(plan) else ibis.null("int64")
    t = _with_previous(totals.select("member_id", "join_date", measure=measure), previous)
    if not plan.tiers:
        state = t.select(
            member_id=t.member_id,
            month=ibis.literal(month),
            tier=ibis.null("string"),
            tier_since=NO_DATE,
            grace_until=NO_DATE,
            measure=t.measure,
            qualified_tier=ibis.null("string"),
        )
        return _typed(state, TIER_STATE_SCHEMA), _no_events(state)
    lowest = min(plan.tiers, key=lambda tier: tier.rank)
    rank = {tier.id: tier.rank for tier in plan.tiers}
    known = t.p_tier.isin(list(rank)).coalesce(False)
    t = t.mutate(
        cur_tier=ibis.cases((known, t.p_tier), else_=lowest.id),
        cur_rank=_rank_of(t.p_tier, rank, lowest.rank),
        p_since=ibis.cases((known, t.p_since.coalesce(t.join_date)), else_=t.join_date),
        p_grace=ibis.cases((known, t.p_grace), else_=NO_DATE),
        **_qualified(t.measure, plan),
    )
    t = keep(t.mutate(**_decide(t, plan, month, end)), "tier_decisions")
    changed = t.upgrade | t.downgrade
    policy = plan.tier_policy
    state = t.select(
        member_id=t.member_id,
        month=ibis.literal(month),
        tier=ibis.cases((changed, t.q_tier), else_=t.cur_tier),
        tier_since=ibis.cases((changed, ibis.literal(end)), else_=t.p_since),
        grace_until=t.new_grace,
        measure=t.measure,
        qualified_tier=t.q_tier if policy else ibis.null("string"),
    )
    event = ibis.cases(
        (t.upgrade, "upgraded"), (t.downgrade, "downgraded"), (t.notice, "will_downgrade"), else_=ibis.null("string")
    )
    events = t.select(
        member_id=t.member_id,
        month=ibis.literal(month),
        event=event,
        from_tier=t.cur_tier,
        to_tier=t.q_tier,
        effective_on=ibis.cases((t.notice, t.new_grace), else_=ibis.literal(end)),
        measure=t.measure,
    )
    return _typed(state, TIER_STATE_SCHEMA), _typed(events.filter(events.event.notnull()), TIER_EVENT_SCHEMA)


def _qualified(measure: ibis.Value, plan: Plan) -> dict[str, ibis.Value]:
    """``q_tier``/``q_rank``: the highest tier whose threshold ``measure`` reaches (the lowest when none)."""
    lowest = min(plan.tiers, key=lambda tier: tier.rank)
    policy = plan.tier_policy
    if policy is None:
        return {"q_tier": ibis.null("string"), "q_rank": ibis.null("int64")}
    steps = sorted(
        (tier for tier in plan.tiers if tier is not lowest and tier.qualify is not None), key=lambda tier: -tier.rank
    )
    if not steps:
        return {"q_tier": ibis.literal(lowest.id), "q_rank": ibis.literal(lowest.rank, "int64")}
    reached = [measure >= policy.threshold(tier) for tier in steps]
    return {
        "q_tier": ibis.cases(*zip(reached, (tier.id for tier in steps)), else_=lowest.id),
        "q_rank": ibis.cases(*zip(reached, (tier.rank for tier in steps)), else_=lowest.rank).cast("int64"),
    }


def _decide(t: ibis.Table, plan: Plan, month: str, end: date) -> dict[str, ibis.Value]:
    """upgrade, downgrade, notice and new_grace, each written directly over the member's current rank, qualified
    rank and previous grace (no decision refers to another, so the engines never expand nested conditions)."""
    policy = plan.tier_policy
    no = ibis.literal(False)
    if policy is None:
        return {"upgrade": no, "downgrade": no, "notice": no, "new_grace": NO_DATE}
    cur, qualified, grace = t.cur_rank, t.q_rank, t.p_grace
    is_review = end.month in policy.review_months
    below = qualified < cur  # a member not below their tier requalifies: any pending grace is cancelled
    continuing = below & grace.notnull() & (grace > ibis.literal(end))
    ran_out = below & grace.notnull() & (grace <= ibis.literal(end))
    starting = below & grace.isnull() if is_review else no
    may_upgrade = policy.upgrade is UpgradeTiming.IMMEDIATE or is_review
    decided = {"upgrade": (qualified > cur) if may_upgrade else no}
    if policy.grace_months == 0:
        return {**decided, "downgrade": ran_out | starting, "notice": no, "new_grace": NO_DATE}
    grace_end = months.end(months.shift(month, policy.grace_months))
    due_now, due_before = _notice_due(policy.notice_days, month, end)
    notice = continuing & due_now(grace) & ~due_before(grace)
    if policy.notice_days and due_now(grace_end):
        notice |= starting
    return {
        **decided,
        "downgrade": ran_out,
        "notice": notice if policy.notice_days else no,
        "new_grace": ibis.cases((continuing, grace), (starting, ibis.literal(grace_end)), else_=NO_DATE),
    }


def _notice_due(notice_days: int, month: str, end: date):
    """Two tests of a downgrade date (a date column, or a Python date): is the notice due at this close, and
    was it due at the previous one. Due at a close when the downgrade is at most ``notice_days`` after its
    month end, or at the next close."""
    notice = timedelta(days=notice_days)
    next_end, previous_end = months.end(months.shift(month, 1)), months.end(months.shift(month, -1))
    return _on_or_before(end + notice, next_end), _on_or_before(previous_end + notice, end)


def _on_or_before(*limits: date):
    def test(day):
        if isinstance(day, date):
            return any(day <= limit for limit in limits)
        return functools.reduce(operator.or_, (day <= ibis.literal(limit) for limit in limits))

    return test


def _with_previous(t: ibis.Table, previous: ibis.Table | None) -> ibis.Table:
    if previous is None:
        return t.mutate(p_tier=ibis.null("string"), p_since=NO_DATE, p_grace=NO_DATE)
    prev = previous.select(
        p_member_id=previous.member_id,
        p_tier=previous.tier.cast("string"),
        p_since=previous.tier_since.cast("date"),
        p_grace=previous.grace_until.cast("date"),
    )
    joined = t.left_join(prev, t.member_id == prev.p_member_id)
    return joined.drop("p_member_id")


def _rank_of(tier: ibis.Value, rank: dict[str, int], otherwise: int) -> ibis.Value:
    return ibis.cases(*((tier == tier_id, value) for tier_id, value in rank.items()), else_=otherwise).cast("int64")


def _typed(table: ibis.Table, schema: ibis.Schema) -> ibis.Table:
    return table.select(**{name: table[name].cast(dtype) for name, dtype in schema.items()})


def _no_events(state: ibis.Table) -> ibis.Table:
    events = state.select(
        member_id=state.member_id,
        month=state.month,
        event=ibis.null("string"),
        from_tier=ibis.null("string"),
        to_tier=ibis.null("string"),
        effective_on=NO_DATE,
        measure=state.measure,
    )
    return _typed(events.filter(ibis.literal(False)), TIER_EVENT_SCHEMA)
