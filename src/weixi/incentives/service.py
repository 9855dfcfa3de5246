"""Staff incentive statements: load the plans, compute a month from plans and files, post referral points.
Scoring a period and splitting commissions are :mod:`weixi.incentives.scoring`, the payroll export
:mod:`weixi.incentives.export`; publishing statements and awards, and comparing a recompute with what was
published, are :mod:`weixi.incentives.publication`. Refusals are coded errors (:mod:`weixi.incentives.errors`).

The CLI (and the API) are thin adapters over these functions. Order plans run set-based in DuckDB
(:mod:`weixi.incentives.orders_sql`); the per-staff inputs (violations, referrals, scores, payments) are
small and handled by the pure functions of :mod:`weixi.incentives`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from weixi.incentives import amounts, deadlines, discipline, inputs, lines, orders_sql, pay, referrals, service_records
from weixi.incentives.errors import IncentiveConflict, IncentiveError, IncentiveInvalid, IncentiveNotFound
from weixi.incentives.export import STATEMENT_COLUMNS, export_statements
from weixi.incentives.model import IncentivePlan, KpiTerms
from weixi.incentives.months import Month
from weixi.incentives.records import BadField, Rejected
from weixi.plans.loader import load_plan

__all__ = [
    "IncentiveError",
    "IncentiveConflict",
    "IncentiveInvalid",
    "IncentiveNotFound",
    "STATEMENT_COLUMNS",
    "export_statements",
    "load_incentive_plan",
    "compute_month",
    "post_referral_points",
]

MONTHLY_KINDS = ("incentive", "discipline", "referral", "scorecard", "key_account")


def load_incentive_plan(path: str | Path, kinds: tuple[str, ...] | None = None) -> IncentivePlan:
    """The incentive plan of ``path`` (of one of ``kinds``); a plan with errors is refused with its diagnostics."""
    plan, found = load_plan(path)
    if plan is None:
        errors = [d for d in found if d.is_error]
        raise IncentiveInvalid("incentive_plan_has_errors", diagnostics=found, path=str(path), count=len(errors))
    if not isinstance(plan, IncentivePlan):
        raise IncentiveInvalid("incentive_plan_is_points", path=str(path))
    if kinds is not None and plan.kind not in kinds:
        raise IncentiveInvalid(
            "incentive_plan_wrong_kind", path=str(path), kind=plan.kind, article=_a(plan.kind), kinds=" or ".join(kinds)
        )
    return plan


def in_force(plan: IncentivePlan, first: date, last: date) -> None:
    """Refuse a plan that is in force on no day from ``first`` to ``last``."""
    start, end = plan.valid.start, plan.valid.end
    if (start is not None and last < start) or (end is not None and first > end):
        if end:
            raise IncentiveConflict("incentive_plan_ended", plan=plan.id, start=start, end=end, first=first, last=last)
        raise IncentiveConflict("incentive_plan_not_in_force", plan=plan.id, start=start, first=first, last=last)


def read_rows(
    path: str | Path, what: str, columns: tuple[str, ...], required: tuple[str, ...]
) -> list[tuple[int, dict]]:
    """A small input file as (row, {column: text}) pairs."""
    sql = inputs.scan(path, what, columns, required)
    con = inputs.connect()
    try:
        result = con.execute(f"SELECT * FROM ({sql}) ORDER BY row").fetchall()
    finally:
        con.close()
    return [(r[0], dict(zip(columns, r[1:]))) for r in result]


def _a(word: str) -> str:
    """The English article of ``word`` ("a" or "an"), for the sentence of ``incentive_plan_wrong_kind``."""
    return "an" if word[:1].lower() in "aeiou" else "a"


# --- the monthly statement ----------------------------------------------------------------------


@dataclass
class StaffStatement:
    staff_id: str
    role: str
    mobile_units: Decimal = Decimal(0)
    broadband_units: Decimal = Decimal(0)
    kpi_points: Decimal = Decimal(0)
    bonus_yuan: Decimal = Decimal(0)
    excluded: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    kpi: dict[str, dict] = field(default_factory=dict)  # measure -> units against the quota, over-quota bonus
    scores: list[dict] = field(default_factory=list)  # scorecard and key-account results of the period paid

    def to_json(self) -> dict:
        return {
            "role": self.role,
            "mobile_units": amounts.units(self.mobile_units),
            "broadband_units": amounts.units(self.broadband_units),
            "kpi_points": amounts.units(self.kpi_points),
            "bonus_yuan": amounts.yuan(self.bonus_yuan),
            "kpi": self.kpi,
            "scores": self.scores,
            "excluded": self.excluded,
            "lines": self.lines,
        }

    def add(self, line: dict) -> None:
        """A line of a plan other than orders: its KPI points and yuan count into the totals."""
        self.kpi_points += Decimal(line["kpi_points"])
        self.bonus_yuan += Decimal(line["yuan"])
        self.lines.append(lines.said(line))


@dataclass
class MonthResult:
    month: str
    plans: list[str]
    staff: dict[str, StaffStatement]
    rejected: list[dict]
    customer_awards: list[referrals.CustomerAward] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)  # identical extra copies of an order row, counted once
    suspended: list[dict] = field(default_factory=list)  # plans suspended this month: no pay computed, and why
    chains: dict = field(default_factory=dict)  # plan id -> its approval steps: publishing needs every one approved
    deadlines: list = field(default_factory=list)  # the awards paid this month: published before the next quarter

    def to_json(self) -> dict:
        """The documented, stable shape (docs/incentives.md)."""
        return {
            "month": self.month,
            "staff": {s: self.staff[s].to_json() for s in sorted(self.staff)},
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "suspended": self.suspended,
        }

    def totals(self) -> dict:
        return {
            "staff": len(self.staff),
            "bonus_yuan": amounts.yuan(sum((s.bonus_yuan for s in self.staff.values()), Decimal(0))),
            "rejected": len(self.rejected),
            "duplicates": len(self.duplicates),
        }


def compute_month(
    plan_paths: list[str | Path],
    month: str,
    orders: str | Path | None = None,
    targets: str | Path | None = None,
    roster: str | Path | None = None,
    violations: str | Path | None = None,
    referral_file: str | Path | None = None,
    timezone: str | None = None,
    *,
    scores: str | Path | None = None,
    quotas: str | Path | None = None,
    records: str | Path | None = None,
    suspensions: dict[str, str] | None = None,
) -> MonthResult:
    """The month's one pay statement per employee from its plans and input files: orders, discipline, referrals,
    scorecards (bonus by grade and role, awards with their money) and key-account scores (``scores``), the KPI
    against its quota (a plan's ``kpi:``, or ``quotas``) with the over-quota bonus. A plan suspended this month
    computes nothing (``suspended`` says why): its file's ``suspended:`` month, or a recorded suspension
    (``suspensions``: plan id -> reason, :func:`weixi.incentives.suspensions.in_force`). ``timezone``: the zone whose days an order's time falls on (the
    active points plan's, where one is at hand); default :data:`weixi.settings.DEFAULT_TIMEZONE`."""
    m = Month.parse(month)
    plans = [load_incentive_plan(p, MONTHLY_KINDS) for p in plan_paths]
    if not plans:
        raise IncentiveInvalid("incentive_no_plan_given")
    for plan in plans:
        in_force(plan, m.first, m.last)
    result = MonthResult(str(m), [p.id for p in plans], {}, [])
    roles = _roster_roles(roster) if roster else None
    active = []
    for plan in plans:
        stop = plan.suspension(str(m))
        reason = stop.reason if stop is not None else (suspensions or {}).get(plan.id)
        if reason is None:
            active.append(plan)
            continue
        result.suspended.append({"plan": plan.id, "plan_name": plan.name or plan.id, "reason": reason})
    result.chains = {p.id: p.approval for p in active if p.approval}
    result.deadlines = [d for d in (deadlines.award_deadline(p, str(m)) for p in active) if d is not None]
    _scored(result, [p for p in active if p.kind in ("scorecard", "key_account")], m, scores, roles, records)
    quota_rows = _quotas(result, quotas)
    for plan in active:
        if plan.kind == "incentive":
            if orders is None:
                raise IncentiveConflict("incentive_orders_missing", plan=plan.id)
            _orders(result, plan, m, orders, targets, roster, timezone, quota_rows)
        elif plan.kind == "discipline":
            if violations is None:
                raise IncentiveConflict("incentive_violations_missing", plan=plan.id)
            _discipline(result, plan, m, violations, roles)
        elif plan.kind == "referral":
            if referral_file is None:
                raise IncentiveConflict("incentive_referrals_missing", plan=plan.id)
            _referrals(result, plan, m, referral_file, roles)
    if roster:
        for staff_id, role in _roster_in_service(roster, m):  # everyone in service gets a statement
            _staff(result, staff_id, role)
    return result


def _roster_roles(path) -> dict[str, str]:
    con = inputs.connect()
    try:
        inputs.load_roster(con, path)
        return dict(con.execute("SELECT staff_id, role FROM roster").fetchall())
    finally:
        con.close()


def _roster_in_service(path, m: Month) -> list[tuple[str, str]]:
    con = inputs.connect()
    try:
        inputs.load_roster(con, path)
        return con.execute(
            """SELECT staff_id, role FROM roster WHERE (hired_on IS NULL OR hired_on <= ?)
                              AND (left_on IS NULL OR left_on >= ?)""",
            [m.last, m.first],
        ).fetchall()
    finally:
        con.close()


def _staff(result: MonthResult, staff_id: str, role: str | None) -> StaffStatement:
    if staff_id not in result.staff:
        result.staff[staff_id] = StaffStatement(staff_id, role or "unknown")
    return result.staff[staff_id]


def _scored(result: MonthResult, plans: list[IncentivePlan], m: Month, scores, roles, records=None) -> None:
    """Scorecard and key-account plans whose period ends this month, from the scores input and, for the metrics a
    scorecard computes ``from_records``, from the service records attributed to staff."""
    due = [(p, pay.paid_period(p, m)) for p in plans]
    due = [(p, period) for p, period in due if period is not None]
    if not due:
        return
    computed = [p for p, _ in due if p.scorecard is not None and p.scorecard.from_records]
    if computed and records is None:
        raise IncentiveConflict("incentive_records_missing", plan=computed[0].id)
    typed = [p for p, _ in due if p not in computed or len(p.scorecard.from_records) < len(p.scorecard.metrics)]
    if scores is None and typed:
        raise IncentiveConflict("incentive_scores_missing", plan=typed[0].id)
    by_plan: dict = {p.id: {} for p, _ in due}
    if scores is not None:
        rows = read_rows(scores, "scores", pay.SCORE_COLUMNS, ("staff_id", "metric", "score"))
        by_plan, rejected = pay.read_scores(rows, [p for p, _ in due], str(scores))
        result.rejected += [r.to_json() for r in rejected]
    record_rows = read_rows(records, "records", service_records.COLUMNS, service_records.REQUIRED) if computed else []
    for plan, period in due:
        by_staff = by_plan[plan.id]
        if plan in computed:  # metrics from the records replace any typed in for them
            surveys, complaints, bad = service_records.read(record_rows, period.first, period.last, str(records))
            result.rejected += [r.to_json() for r in bad] if plan is computed[0] else []
            for staff_id, values in service_records.metrics(plan.scorecard, surveys, complaints).items():
                by_staff.setdefault(staff_id, {}).update(values)
        if roles is not None:
            for staff_id in [s for s in by_staff if s not in roles]:
                unknown = BadField("incentive_row_unknown_staff", "staff_id", staff=staff_id)
                result.rejected.append(Rejected.of(staff_id, None, unknown, str(scores)).to_json())
                del by_staff[staff_id]
        if plan.kind == "scorecard":
            found = pay.scorecards(plan, period, by_staff, roles or {})
        else:
            found = pay.key_accounts(plan, period, by_staff)
        for staff_id, summary in found.scores.items():
            s = _staff(result, staff_id, roles.get(staff_id) if roles else None)
            s.scores.append(summary)
            for line in found.lines.get(staff_id, []):
                s.add(line)


def _quotas(result: MonthResult, path) -> dict:
    if path is None:
        return {}
    rows = read_rows(path, "quotas", pay.QUOTA_COLUMNS, pay.QUOTA_COLUMNS)
    found, rejected = pay.read_quotas(rows, str(path))
    result.rejected += [r.to_json() for r in rejected]
    return found


def _orders(
    result: MonthResult, plan: IncentivePlan, m: Month, orders, targets, roster, timezone=None, quotas=None
) -> None:
    con = inputs.connect(timezone)
    try:
        orders_sql.compute(con, plan, m, orders, targets, roster)
        over: dict[str, dict] = {}  # staff -> units that count into the over-quota bonus, by measure
        for staff_id, role, mobile, broadband, kpi, bonus, over_m, over_b in con.execute(
            "SELECT * FROM statement"
        ).fetchall():
            s = _staff(result, staff_id, role)
            s.mobile_units += mobile
            s.broadband_units += broadband
            s.kpi_points += kpi
            s.bonus_yuan += bonus
            over[staff_id] = {"mobile": over_m, "broadband": over_b}
        for staff_id, order_id, reasons in con.execute(
            "SELECT staff_id, order_id, reasons FROM excluded ORDER BY staff_id, created, order_id"
        ).fetchall():
            _staff(result, staff_id, None).excluded.append(lines.excluded(order_id, reasons))
        names = {r.id: r.name for r in plan.orders}
        unit_roles = {r.id: r.unit_roles for r in plan.orders}
        for row in con.execute(
            """SELECT staff_id, order_id, rule, measure, units, kpi_only, yuan, business, customer_id, expiring_target,
                      got_units, role, household, text FROM lines ORDER BY staff_id, created, order_id"""
        ).fetchall():
            (
                staff_id,
                order_id,
                rule,
                measure,
                units,
                kpi_only,
                yuan,
                business,
                customer,
                expiring,
                got,
                role,
                hh,
                text,
            ) = row
            code, params = lines.order_line(
                order_id,
                business,
                customer,
                expiring,
                measure,
                amounts.units(units),
                kpi_only,
                unit_roles[rule],
                role,
                got,
                hh,
                amounts.yuan(yuan),
                plan.id,
                rule,
                names[rule],
            )
            _staff(result, staff_id, None).lines.append(
                {
                    "order_id": order_id,
                    "rule": f"{plan.id}/{rule}",
                    "measure": measure,
                    "units": amounts.units(units),
                    "kpi_points": amounts.units(units),
                    "yuan": amounts.yuan(yuan),
                    "code": code,
                    "params": params,
                    "text": text,  # said in the query (orders_sql), as lines.say(code, params) says it
                }
            )
        terms = plan.kpi or (KpiTerms({}, {}) if quotas else None)  # quotas alone: the KPI against them, no bonus
        if terms is not None:  # after the order lines: the over-quota bonus line closes them
            for staff_id, eligible in over.items():
                s = result.staff[staff_id]
                units = {"mobile": s.mobile_units, "broadband": s.broadband_units}
                s.kpi, extra = pay.kpi(plan, terms, m, staff_id, units, eligible, quotas or {})
                for line in extra:
                    s.add(line)
        result.rejected += [r.to_json() for r in orders_sql.rejected(con, orders, m)]
        result.duplicates += [d.to_json() for d in orders_sql.duplicates(con, orders)]
    finally:
        con.close()


def _discipline(result: MonthResult, plan: IncentivePlan, m: Month, path, roles) -> None:
    rows = read_rows(path, "violations", discipline.COLUMNS, ("record_id", "staff_id", "violation", "occurred_on"))
    found, rejected = discipline.deduct(plan, rows, m.first, m.last, set(roles) if roles is not None else None)
    for d in found:
        s = _staff(result, d.staff_id, roles.get(d.staff_id) if roles else None)
        s.kpi_points += d.kpi_points
        s.bonus_yuan += d.fine_yuan
        s.lines.append(lines.said(d.line()))
    result.rejected += [r.to_json() for r in rejected]


def _referrals(result: MonthResult, plan: IncentivePlan, m: Month, path, roles) -> None:
    rows = read_rows(
        path,
        "referrals",
        referrals.COLUMNS,
        ("referral_id", "referrer_type", "referrer_id", "new_customer_id", "occurred_on"),
    )
    found = referrals.reward(plan, rows, m.first, m.last, roles)
    for r in found.staff:
        s = _staff(result, r.staff_id, roles.get(r.staff_id) if roles else None)
        s.bonus_yuan += r.yuan
        s.lines.append(lines.said(r.line()))
    for who, rid, code, params in found.excluded:
        if roles is None or who in roles:
            entry = lines.excluded(rid, [dict(params, code=code)])
            _staff(result, who, roles.get(who) if roles else None).excluded.append(entry)
    result.customer_awards += found.customers
    result.rejected += [r.to_json() for r in found.rejected]


# --- referral points into the ledger -------------------------------------------------------------


def post_referral_points(engine, awards: list[referrals.CustomerAward], plan_id: str):
    """Post each customer's referral points into the points ledger once (event id by referral id), at the start
    of the referral's day in the active points plan's timezone (the ledger's days are that plan's)."""
    from weixi.ledger.events import Event
    from weixi.ledger.posting import post_events
    from weixi.plans.service import plan_zone

    tz = plan_zone(engine)
    events = [
        Event(
            a.event_id,
            a.customer_id,
            "adjust",
            datetime.combine(a.occurred_on, datetime.min.time(), tz),
            a.occurred_on,
            points=a.points,
            attrs={"reason": f"referral reward: referral {a.referral_id} (plan {plan_id})"},
        )
        for a in awards
        if a.points > 0
    ]
    return post_events(engine, events)


def now() -> datetime:
    return datetime.now(timezone.utc)
