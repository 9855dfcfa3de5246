"""The birthday gifts of the care run of day D: points, a coupon or a gift, per the plan's ``care: birthday:
gifts:`` (seed 002: "生日福利为会员提供生日福利,例如生日优惠券、生日礼品等").

Members whose birthday is kept on D (solar or lunar, :func:`weixi.operations.care.birthday_filters`) get the first
gift entry matching their tier or star level, through the ledger's posting API with system event ids:

* points: an ``adjust`` event ``care:birthday:<year>:<member>``;
* a coupon or gift reward of the active points plan: a credit of the reward's cost
  (``care:birthday:<year>:<member>:<reward>:credit``) then its redemption (``...:<reward>``), so the ledger draws
  the coupon code or records the gift for the counter and the member's own points are untouched. A redemption the
  ledger refuses (out of stock, tier not allowed) has its credit taken back (``...:<reward>:undo``) and is reported;
  it is not tried again.

``<year>`` is the solar year, or the lunar year for a lunar birthday, so a birthday is granted once a year however
often the day is run: a rerun finds every id already posted.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.operations import care
from weixi.operations.birthday_plan import gift_case_sql
from weixi.operations.plan import OperationsPlan
from weixi.plans.service import NoActivePlan, active_plan

REASON = "birthday gift (生日福利)"


def birthday_gifts(engine: Engine, con, plan: OperationsPlan, day: date, at: datetime, dry_run: bool) -> dict:
    """Grant the gifts of the birthdays kept on ``day`` (members in DuckDB's ``care_members``); returns counts."""
    gifts = plan.care.birthday_gifts
    out = {"members": 0, "points": 0, "points_granted": 0, "rewards_granted": 0, "already_granted": 0, "refused": []}
    if not gifts:
        return out
    case = gift_case_sql(gifts)
    picks: list[tuple[str, int, object]] = []  # (member, year, gift)
    for occasion_id, _name, cond in care.birthday_filters(plan.care.lunar_birthdays, day):
        year = care.birthday_year(day, occasion_id == "lunar-birthday")
        rows = con.execute(
            f"SELECT member_id, g FROM (SELECT member_id, {case} AS g FROM care_members "
            f"WHERE status = 'active' AND ({cond})) WHERE g IS NOT NULL ORDER BY member_id"
        ).fetchall()
        picks += [(m, year, gifts[int(g)]) for m, g in rows]
    out["members"] = len(picks)
    out["points"] = sum(g.points for _, _, g in picks)
    if dry_run or not picks:
        return out
    try:
        with engine.connect() as conn:
            catalogue = active_plan(conn)[1]
    except NoActivePlan:
        out["waiting"] = "no_active_points_plan"  # rerun the day once a points plan is active
        return out
    events, cost = [], {}
    for member, year, g in picks:
        key = f"care:birthday:{year}:{member}"
        if g.points:
            events.append(_adjust(key, member, g.points, day, at))
        for kind, rid in g.rewards():
            reward = catalogue.reward(rid)
            if reward is None or reward.type.value != kind:  # a coupon entry names a coupon reward, a gift a gift
                code = "unknown_reward" if reward is None else "birthday_reward_wrong_type"
                out["refused"].append({"member_id": member, "reward": rid, "kind": kind, "code": code})
                continue
            cost[f"{key}:{rid}"] = (member, reward.cost, kind)
    undone = _posted(engine, [k + ":undo" for k in cost])
    for key, (member, points, _kind) in cost.items():
        if key + ":undo" in undone:
            out["already_granted"] += 1  # refused once: not tried again
            continue
        events.append(_adjust(key + ":credit", member, points, day, at))
        events.append(Event(key, member, "redeem", at, day, ref=key.rsplit(":", 1)[1], attrs={"reason": REASON}))
    result = post_events(engine, events, path="book")
    duplicates = set(result.duplicates)
    refused = {r.event_id: r for r in result.rejected}
    undo = []
    for key, (member, points, kind) in cost.items():
        if key in refused:
            rid, code = key.rsplit(":", 1)[1], refused[key].code
            out["refused"].append({"member_id": member, "reward": rid, "kind": kind, "code": code})
            if key + ":credit" not in refused:
                undo.append(_adjust(key + ":undo", member, -points, day, at))
    if undo:
        post_events(engine, undo, path="book")
    for ev in events:
        if ev.event_id.endswith(":credit"):
            continue
        if ev.event_id in duplicates:
            out["already_granted"] += 1
        elif ev.event_id not in refused:
            out["points_granted" if ev.type == "adjust" else "rewards_granted"] += 1
        elif ev.type == "adjust":  # e.g. the day's month is closed
            code = refused[ev.event_id].code
            out["refused"].append({"member_id": ev.member_id, "reward": "", "kind": "points", "code": code})
    return out


def _adjust(event_id: str, member: str, points: int, day: date, at: datetime) -> Event:
    return Event(event_id, member, "adjust", at, day, points=points, attrs={"reason": REASON})


def _posted(engine: Engine, ids: list[str]) -> set[str]:
    found: set[str] = set()
    with engine.connect() as conn:
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" for _ in chunk)
            found |= {r[0] for r in execute(conn, f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk)}
    return found
