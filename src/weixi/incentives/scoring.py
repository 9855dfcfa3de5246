"""Scoring a period (weighted scorecards, key-account maintenance) and splitting member payments into
commissions, from a plan and small per-staff input files; bad rows are rejected with a coded reason."""

from __future__ import annotations

from decimal import Decimal

from weixi.incentives import amounts, inputs, keyaccount, scorecard, split
from weixi.incentives.errors import IncentiveInvalid
from weixi.incentives.months import Month, Quarter, Year
from weixi.incentives.months import period as parse_period
from weixi.incentives.records import BadField, Rejected, number, text
from weixi.incentives.service import in_force, load_incentive_plan, read_rows

SCORE_COLUMNS = ("staff_id", "metric", "score")
# a plan's ``period`` -> the period value a score run must name, and the refusal when it names another
_PERIOD_KINDS = {
    "month": (Month, "incentive_period_monthly"),
    "quarter": (Quarter, "incentive_period_quarterly"),
    "year": (Year, "incentive_period_yearly"),
}


def _scores(path) -> tuple[dict[str, dict[str, Decimal]], list[Rejected]]:
    by_staff: dict[str, dict[str, Decimal]] = {}
    rejected = []
    for row, raw in read_rows(path, "scores", SCORE_COLUMNS, SCORE_COLUMNS):
        try:
            staff_id, metric, value = text(raw, "staff_id"), text(raw, "metric"), number(raw, "score")
            if metric in by_staff.get(staff_id, {}):
                raise BadField("incentive_score_repeated", "metric", metric=metric, staff=staff_id)
        except BadField as exc:
            rejected.append(Rejected.of(str(raw.get("staff_id") or ""), row, exc, str(path)))
            continue
        by_staff.setdefault(staff_id, {})[metric] = value
    return by_staff, rejected


def score_period(plan_path, period: str, scores, previous=None, roster=None) -> dict:
    """Scorecards (totals, grades, bonus, rank and team awards) or key-account scores of ``period``."""
    plan = load_incentive_plan(plan_path, ("scorecard", "key_account"))
    p = parse_period(period)
    want, code = _PERIOD_KINDS.get(plan.period, _PERIOD_KINDS["month"])
    if not isinstance(p, want):
        raise IncentiveInvalid(code, plan=plan.id, period=str(p))
    in_force(plan, p.first, p.last)
    people = _roster_people(roster) if roster else None
    by_staff, rejected = _scores(scores)
    prev = _scores(previous)[0] if previous else {}
    if people is not None:
        for staff_id in [s for s in by_staff if s not in people]:
            unknown = BadField("incentive_row_unknown_staff", "staff_id", staff=staff_id)
            rejected.append(Rejected.of(staff_id, None, unknown, str(scores)))
            del by_staff[staff_id]
    out = {"period": str(p), "plan": plan.id, "staff": {}, "teams": [], "rejected": [r.to_json() for r in rejected]}
    if plan.kind == "key_account":
        for staff_id in sorted(by_staff):
            values = by_staff[staff_id]
            weeks = {int(k[4:]): int(v) for k, v in values.items() if k.startswith("week") and k[4:].isdigit()}
            r = keyaccount.score(plan.key_account, plan.id, staff_id, weeks, values.get("contribution_pct", Decimal(0)))
            out["staff"][staff_id] = {
                "customers": r.customers,
                "information_points": amounts.units(r.information_points),
                "contribution_points": amounts.units(r.contribution_points),
                "total": amounts.units(r.total),
                "short_weeks": r.short_weeks,
                "lines": r.lines,
            }
        ranked = keyaccount.ranks({s: Decimal(v["total"]) for s, v in out["staff"].items()})
        for staff_id, rank in ranked.items():
            out["staff"][staff_id].update(rank=rank, of=len(ranked))
        out["notice"] = notice(plan, str(p), out["staff"], people or {})
        return out
    cards = []
    for staff_id in sorted(by_staff):
        role, team = (people or {}).get(staff_id, (None, None))
        card = scorecard.score(plan.scorecard, plan.id, staff_id, by_staff[staff_id], role, team)
        if staff_id in prev:
            card.previous = scorecard.score(plan.scorecard, plan.id, staff_id, prev[staff_id]).total
        cards.append(card)
    scorecard.apply_awards(plan.scorecard.awards, cards)
    for c in cards:
        out["staff"][c.staff_id] = {
            "role": c.role,
            "team": c.team,
            "total": amounts.units(c.total),
            "grade": c.grade,
            "bonus_yuan": amounts.yuan(c.bonus_yuan),
            "rank": c.rank,
            "award": c.award,
            "previous_total": amounts.units(c.previous) if c.previous is not None else None,
            "missing_metrics": c.missing,
            "lines": c.lines,
        }
    if plan.scorecard.awards.teams:
        out["teams"] = [
            {
                "team": t.team,
                "members": t.members,
                "average": amounts.units(t.average),
                "rank": t.rank,
                "award": t.award,
            }
            for t in scorecard.team_awards(plan.scorecard.awards, cards)
        ]
    return out


def notice(plan, period: str, staff: dict, people: dict) -> list[dict]:
    """The month's key-account notice (通报, seed 003: "月底汇总、评比、通报"): every employee by rank, with the total
    and the two parts, whether the monthly standard of customers was met, and the weeks under the weekly minimum."""
    t = plan.key_account
    rows = sorted(staff.items(), key=lambda kv: (kv[1]["rank"], kv[0]))
    return [
        {
            "rank": s["rank"],
            "staff_id": staff_id,
            "team": (people.get(staff_id) or (None, None))[1],
            "total": s["total"],
            "information_points": s["information_points"],
            "contribution_points": s["contribution_points"],
            "customers": s["customers"],
            "met_monthly_standard": s["customers"] >= t.monthly_customers,
            "short_weeks": s["short_weeks"],
        }
        for staff_id, s in rows
    ]


def _roster_people(path) -> dict[str, tuple[str, str | None]]:
    con = inputs.connect()
    try:
        inputs.load_roster(con, path)
        return {s: (r, t) for s, r, t in con.execute("SELECT staff_id, role, team FROM roster").fetchall()}
    finally:
        con.close()


# --- commission splits ---------------------------------------------------------------------------

PAYMENT_COLUMNS = ("txn_id", "member_id", "card", "amount", "maintainer", "on_shift", "paid_on")


def split_month(plan_path, month: str, payments, roster=None) -> dict:
    """The month's member payments split between the maintaining staff member and the one on shift."""
    plan = load_incentive_plan(plan_path, ("commission_split",))
    m = Month.parse(month)
    people = _roster_people(roster) if roster else None
    rows = read_rows(payments, "payments", PAYMENT_COLUMNS, PAYMENT_COLUMNS)
    in_force(plan, m.first, m.last)
    staff: dict[str, dict] = {}
    rejected, excluded = [], []
    counts: dict[str, int] = {}
    for _, raw in rows:
        counts[str(raw.get("txn_id") or "")] = counts.get(str(raw.get("txn_id") or ""), 0) + 1
    for row, raw in rows:
        try:
            txn = text(raw, "txn_id")
            if counts[txn] > 1:
                raise BadField("incentive_payment_repeated", "txn_id", txn=txn, count=counts[txn])
            card, maintainer, on_shift = text(raw, "card"), text(raw, "maintainer"), text(raw, "on_shift")
            amount = number(raw, "amount")
            if amount < 0:
                raise BadField("incentive_payment_negative", "amount", amount=amount)
            paid = text(raw, "paid_on")
            if not paid.startswith(str(m)):
                raise BadField("incentive_payment_outside_month", "paid_on", day=paid, month=str(m))
            for who in (maintainer, on_shift):
                if people is not None and who not in people:
                    raise BadField("incentive_unknown_staff", None, staff=who)
        except BadField as exc:
            rejected.append(Rejected.of(str(raw.get("txn_id") or ""), row, exc, str(payments)).to_json())
            continue
        role = people[maintainer][0] if people else None
        shares, reason = split.split(plan.split, plan.id, txn, card, amount, maintainer, on_shift, role)
        if reason:
            excluded.append({"txn_id": txn, "reason": reason})
        for share in shares:
            entry = staff.setdefault(
                share.staff_id, {"base_yuan": Decimal(0), "commission_yuan": Decimal(0), "lines": []}
            )
            entry["base_yuan"] += share.base_yuan
            entry["commission_yuan"] += share.commission_yuan or Decimal(0)
            entry["lines"].append(share.text)
    return {
        "month": str(m),
        "plan": plan.id,
        "staff": {
            s: {
                "base_yuan": amounts.yuan(v["base_yuan"]),
                "commission_yuan": amounts.yuan(v["commission_yuan"]) if plan.split.commission_rate else None,
                "lines": v["lines"],
            }
            for s, v in sorted(staff.items())
        },
        "excluded": excluded,
        "rejected": rejected,
    }
