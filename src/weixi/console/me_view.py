"""What the member's own page shows, read from the ledger and the active plan and shaped for a person: the tier and
its benefits, what expires in which month, a history in which one redemption (or one day's expiry) is one line
however many lots it took, and the referral code as a QR code (SVG drawn here, nothing loaded from outside)."""

from __future__ import annotations

from datetime import date
from itertools import groupby

import segno
from markupsafe import Markup
from sqlalchemy import Engine

from weixi.adapters.sql import execute
from weixi.plans.model import TierMeasure
from weixi.plans.service import NoActivePlan, active_plan


def expiry_months(schedule: list[dict]) -> list[dict]:
    """:func:`weixi.ledger.selfservice.expiry_schedule` summed by month: ``{"month": "2027-01", "first": the first
    expiry day in it, "points"}``, soonest first; lots that never expire last with ``month`` None."""
    out: list[dict] = []
    for s in schedule:
        month = s["expires_on"][:7] if s["expires_on"] else None
        if out and out[-1]["month"] == month:
            out[-1]["points"] += s["points"]
        else:
            out.append({"month": month, "first": s["expires_on"], "points": s["points"]})
    return out


def _key(line: dict) -> tuple:
    # a redemption (or a refund, a reversal...) takes points from several lots under one event: one line; the
    # day's expiries (no event) are one line too
    return (line["day"], line["kind"], line["event"] or "")


def history(lines: list[dict], refs: dict[str, dict], limit: int) -> list[dict]:
    """The statement's ``lines`` newest first, one line per event and kind (per day and kind without an event):
    ``day``, ``kind``, ``event_type``, ``points`` (summed), ``balance`` after it, ``reward`` (the redeemed reward
    id, from ``refs``: :func:`weixi.members.member360.history_details` ``["events"]``), ``qty``, ``campaign``
    (points a campaign gave or took: a prize, chances bought) and its lottery's ``note`` (a code and parameters)."""
    grouped = []
    for _, same in groupby(lines, key=_key):
        same = list(same)
        first, last = same[0], same[-1]
        ref = refs.get(first["event"] or "", {})
        grouped.append(
            {
                "day": first["day"],
                "kind": first["kind"],
                "event_type": first["event_type"],
                "points": sum(x["points"] for x in same),
                "balance": last["balance"],
                "reward": ref.get("ref") if first["kind"] in ("redeem", "cancel") else None,
                "qty": ref.get("qty"),
                "campaign": (first["event"] or "").startswith("campaign:"),
                "note": ref.get("note"),
            }
        )
    return [g for g in reversed(grouped) if g["points"] or g["kind"] not in ("earn",)][:limit]


def _months_back(today: date, months: int) -> date:
    """The first day of the month ``months - 1`` before ``today``'s (a window of ``months`` calendar months)."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return date(index // 12, index % 12 + 1, 1)


def tier_card(engine: Engine, member_id: str, today: date) -> dict | None:
    """The member's tier and what it gives, from the active plan: ``tier`` (id), ``multiplier`` (a Decimal, None
    when 1) and the ``boosted`` rules' names, ``exclusive`` rewards' names, and the way up: ``next`` tier id,
    ``measure`` (``points_earned`` or ``spend_yuan``), ``window_months``, ``have`` and ``need`` (points, or fen
    for spend) and ``percent``. None without a plan or tiers."""
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            _, plan = active_plan(conn)
            rows = execute(conn, "SELECT tier FROM members WHERE member_id = ?", [member_id])
            if not plan.tiers:
                return None
            tier = plan.tier(rows[0][0] if rows else None) or plan.default_tier()
            policy = plan.tier_policy
            higher = [t for t in sorted(plan.tiers, key=lambda t: t.rank) if t.rank > tier.rank]
            upward = next((t for t in higher if policy is not None and policy.threshold(t) is not None), None)
            have = None
            if upward is not None:
                since = _months_back(today, policy.window_months)
                if policy.measure is TierMeasure.POINTS_EARNED:
                    sql = "SELECT coalesce(sum(points), 0) FROM journal WHERE member_id = ? AND kind = 'earn' AND day >= ?"
                else:
                    sql = "SELECT coalesce(sum(amount_fen), 0) FROM events WHERE member_id = ? AND type = 'bill' AND day >= ?"
                have = int(execute(conn, sql, [member_id, since])[0][0])
    except NoActivePlan:
        return None
    rules = {r.id: r.name for r in plan.earning}
    boosted = [
        rules.get(rid, rid) for m in plan.multipliers() if m.kind == "tier" for rid in (m.applies_to or tuple(rules))
    ]
    card = {
        "tier": tier.id,
        "multiplier": tier.multiplier if tier.multiplier != 1 else None,
        "boosted": list(dict.fromkeys(boosted)),
        "exclusive": [r.name for r in plan.rewards if r.tiers and tier.id in r.tiers],
        "next": None,
    }
    if upward is not None:
        need = policy.threshold(upward)
        card.update(
            next=upward.id,
            measure=policy.measure.value,
            window_months=policy.window_months,
            have=have,
            need=need,
            missing=max(need - have, 0),
            percent=min(100, int(have * 100 / need)) if need else 100,
        )
    return card


def qr_svg(text: str, label: str) -> Markup:
    """``text`` as a QR code, an inline SVG (no styles, no scripts) labelled ``label`` for screen readers."""
    svg = segno.make(text, error="m", micro=False).svg_inline(scale=5, border=2, svgclass="qr", lineclass="qr-line")
    safe_label = Markup.escape(label)
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{safe_label}" ', 1))


def month_label(month: str, locale: str) -> str:
    """``"2027-01"`` as people write a month: 2027年1月 / Jan 2027."""
    from babel.dates import format_skeleton

    year, number = month.split("-")
    where = "zh_Hans_CN" if locale == "zh_CN" else "en"
    return format_skeleton("yMMM", date(int(year), int(number), 1), locale=where)
