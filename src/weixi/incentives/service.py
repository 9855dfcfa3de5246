"""Staff incentive statements: compute a month from plans and files, score a period, split commissions,
post referral points, export statements for payroll. Publishing statements and awards, and comparing a
recompute with what was published, are :mod:`weixi.incentives.publication`.

The CLI (and the API) are thin adapters over these functions. Order plans run set-based in DuckDB
(:mod:`weixi.incentives.orders_sql`); the per-staff inputs (violations, referrals, scores, payments) are
small and handled by the pure functions of :mod:`weixi.incentives`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from weixi.adapters import spreadsheet
from weixi.incentives import amounts, discipline, inputs, keyaccount, orders_sql, referrals, scorecard, split
from weixi.incentives.inputs import InputError
from weixi.incentives.model import IncentivePlan
from weixi.incentives.months import Month, Quarter
from weixi.incentives.months import period as parse_period
from weixi.incentives.records import BadField, Rejected, number, text
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import load_plan
from weixi.settings import DEFAULT_TIMEZONE

MONTHLY_KINDS = ("incentive", "discipline", "referral")


class IncentiveError(Exception):
    """A problem the user must fix (bad plan, unusable input file); never a traceback."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or []


def load_incentive_plan(path: str | Path, kinds: tuple[str, ...] | None = None) -> IncentivePlan:
    plan, found = load_plan(path)
    if plan is None:
        errors = [d for d in found if d.is_error]
        raise IncentiveError(f"{path}: {len(errors)} error(s) in the plan; run 'weixi plan check {path}'", found)
    if not isinstance(plan, IncentivePlan):
        raise IncentiveError(f"{path} is a points plan, not an incentive plan (it has no 'kind: ...')")
    if kinds is not None and plan.kind not in kinds:
        raise IncentiveError(f"{path} is {_a(plan.kind)} plan; this command takes {' or '.join(kinds)} plans")
    return plan


def _in_force(plan: IncentivePlan, first: date, last: date) -> None:
    start, end = plan.valid.start, plan.valid.end
    if (start is not None and last < start) or (end is not None and first > end):
        window = f"from {start}" + (f" to {end}" if end else "")
        raise IncentiveError(f"plan {plan.id} is in force {window}; it does not cover {first} to {last}")


def read_rows(path: str | Path, what: str, columns: tuple[str, ...], required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """A small input file as (row, {column: text}) pairs."""
    sql = inputs.scan(path, what, columns, required)
    con = inputs.connect()
    try:
        result = con.execute(f"SELECT * FROM ({sql}) ORDER BY row").fetchall()
    finally:
        con.close()
    return [(r[0], dict(zip(columns, r[1:]))) for r in result]


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


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

    def to_json(self) -> dict:
        return {"role": self.role, "mobile_units": amounts.units(self.mobile_units),
                "broadband_units": amounts.units(self.broadband_units), "kpi_points": amounts.units(self.kpi_points),
                "bonus_yuan": amounts.yuan(self.bonus_yuan), "excluded": self.excluded, "lines": self.lines}


@dataclass
class MonthResult:
    month: str
    plans: list[str]
    staff: dict[str, StaffStatement]
    rejected: list[dict]
    customer_awards: list[referrals.CustomerAward] = field(default_factory=list)

    def to_json(self) -> dict:
        """The documented, stable shape (docs/incentives.md)."""
        return {"month": self.month, "staff": {s: self.staff[s].to_json() for s in sorted(self.staff)},
                "rejected": self.rejected}

    def totals(self) -> dict:
        return {"staff": len(self.staff), "bonus_yuan": amounts.yuan(sum((s.bonus_yuan for s in self.staff.values()), Decimal(0))),
                "rejected": len(self.rejected)}


def compute_month(plan_paths: list[str | Path], month: str, orders: str | Path | None = None,
                  targets: str | Path | None = None, roster: str | Path | None = None,
                  violations: str | Path | None = None, referral_file: str | Path | None = None) -> MonthResult:
    try:
        m = Month.parse(month)
    except ValueError as exc:
        raise IncentiveError(str(exc)) from None
    plans = [load_incentive_plan(p, MONTHLY_KINDS) for p in plan_paths]
    if not plans:
        raise IncentiveError("give at least one --plan")
    for plan in plans:
        _in_force(plan, m.first, m.last)
    result = MonthResult(str(m), [p.id for p in plans], {}, [])
    try:
        roles = _roster_roles(roster) if roster else None
        for plan in plans:
            if plan.kind == "incentive":
                if orders is None:
                    raise IncentiveError(f"plan {plan.id} counts CRM orders: give --orders FILE")
                _orders(result, plan, m, orders, targets, roster)
            elif plan.kind == "discipline":
                if violations is None:
                    raise IncentiveError(f"plan {plan.id} deducts recorded violations: give --violations FILE")
                _discipline(result, plan, m, violations, roles)
            elif plan.kind == "referral":
                if referral_file is None:
                    raise IncentiveError(f"plan {plan.id} rewards referrals: give --referrals FILE")
                _referrals(result, plan, m, referral_file, roles)
        if roster:
            for staff_id, role in _roster_in_service(roster, m):  # everyone in service gets a statement
                _staff(result, staff_id, role)
    except InputError as exc:
        raise IncentiveError(str(exc)) from None
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
        return con.execute("""SELECT staff_id, role FROM roster WHERE (hired_on IS NULL OR hired_on <= ?)
                              AND (left_on IS NULL OR left_on >= ?)""", [m.last, m.first]).fetchall()
    finally:
        con.close()


def _staff(result: MonthResult, staff_id: str, role: str | None) -> StaffStatement:
    if staff_id not in result.staff:
        result.staff[staff_id] = StaffStatement(staff_id, role or "unknown")
    return result.staff[staff_id]


def _orders(result: MonthResult, plan: IncentivePlan, m: Month, orders, targets, roster) -> None:
    con = inputs.connect()
    try:
        orders_sql.compute(con, plan, m, orders, targets, roster)
        for staff_id, role, mobile, broadband, kpi, bonus in con.execute("SELECT * FROM statement").fetchall():
            s = _staff(result, staff_id, role)
            s.mobile_units += mobile
            s.broadband_units += broadband
            s.kpi_points += kpi
            s.bonus_yuan += bonus
        for staff_id, order_id, reason in con.execute(
                "SELECT staff_id, order_id, reason FROM excluded ORDER BY staff_id, created, order_id").fetchall():
            _staff(result, staff_id, None).excluded.append({"order_id": order_id, "reason": reason})
        for staff_id, order_id, rule, measure, units, _kpi_only, yuan, line in con.execute(
                """SELECT staff_id, order_id, rule, measure, units, kpi_only, yuan, text FROM lines
                   ORDER BY staff_id, created, order_id""").fetchall():
            _staff(result, staff_id, None).lines.append({
                "order_id": order_id, "rule": f"{plan.id}/{rule}", "measure": measure, "units": amounts.units(units),
                "kpi_points": amounts.units(units), "yuan": amounts.yuan(yuan), "text": line})
        result.rejected += [{"order_id": o, "reason": r} for o, r in
                            con.execute("SELECT order_id, reason FROM rejected ORDER BY row").fetchall()]
    finally:
        con.close()


def _discipline(result: MonthResult, plan: IncentivePlan, m: Month, path, roles) -> None:
    rows = read_rows(path, "violations", discipline.COLUMNS, ("record_id", "staff_id", "violation", "occurred_on"))
    found, rejected = discipline.deduct(plan, rows, m.first, m.last, set(roles) if roles is not None else None)
    for d in found:
        s = _staff(result, d.staff_id, roles.get(d.staff_id) if roles else None)
        s.kpi_points += d.kpi_points
        s.bonus_yuan += d.fine_yuan
        s.lines.append(d.line())
    result.rejected += [r.to_json() for r in rejected]


def _referrals(result: MonthResult, plan: IncentivePlan, m: Month, path, roles) -> None:
    rows = read_rows(path, "referrals", referrals.COLUMNS, ("referral_id", "referrer_type", "referrer_id",
                                                            "new_customer_id", "occurred_on"))
    found = referrals.reward(plan, rows, m.first, m.last, roles)
    for r in found.staff:
        s = _staff(result, r.staff_id, roles.get(r.staff_id) if roles else None)
        s.bonus_yuan += r.yuan
        s.lines.append(r.line())
    for who, rid, reason in found.excluded:
        if roles is None or who in roles:
            _staff(result, who, roles.get(who) if roles else None).excluded.append({"order_id": rid, "reason": reason})
    result.customer_awards += found.customers
    result.rejected += [r.to_json() for r in found.rejected]


# --- referral points into the ledger -------------------------------------------------------------

def post_referral_points(engine, awards: list[referrals.CustomerAward], plan_id: str):
    """Post each customer's referral points into the points ledger once (event id by referral id)."""
    from weixi.ledger.events import Event
    from weixi.ledger.posting import post_events

    tz = ZoneInfo(DEFAULT_TIMEZONE)
    events = [Event(a.event_id, a.customer_id, "adjust", datetime.combine(a.occurred_on, datetime.min.time(), tz),
                    a.occurred_on, points=a.points,
                    attrs={"reason": f"referral reward: referral {a.referral_id} (plan {plan_id})"})
              for a in awards if a.points > 0]
    return post_events(engine, events)


# --- scorecards and key accounts -------------------------------------------------------------------

SCORE_COLUMNS = ("staff_id", "metric", "score")


def _scores(path) -> tuple[dict[str, dict[str, Decimal]], list[Rejected]]:
    by_staff: dict[str, dict[str, Decimal]] = {}
    rejected = []
    for row, raw in read_rows(path, "scores", SCORE_COLUMNS, SCORE_COLUMNS):
        try:
            staff_id, metric, value = text(raw, "staff_id"), text(raw, "metric"), number(raw, "score")
            if metric in by_staff.get(staff_id, {}):
                raise BadField(f"metric: {metric} of {staff_id} appears twice")
        except BadField as exc:
            rejected.append(Rejected(str(raw.get("staff_id") or ""), row, str(exc)))
            continue
        by_staff.setdefault(staff_id, {})[metric] = value
    return by_staff, rejected


def score_period(plan_path, period: str, scores, previous=None, roster=None) -> dict:
    plan = load_incentive_plan(plan_path, ("scorecard", "key_account"))
    try:
        p = parse_period(period)
    except ValueError as exc:
        raise IncentiveError(str(exc)) from None
    want = Quarter if plan.period == "quarter" else Month
    if not isinstance(p, want):
        raise IncentiveError(f"plan {plan.id} is scored by {plan.period}: give --period as "
                             f"{'YYYY-Qn' if want is Quarter else 'YYYY-MM'}")
    _in_force(plan, p.first, p.last)
    try:
        people = _roster_people(roster) if roster else None
        by_staff, rejected = _scores(scores)
        prev = _scores(previous)[0] if previous else {}
    except InputError as exc:
        raise IncentiveError(str(exc)) from None
    if people is not None:
        for staff_id in [s for s in by_staff if s not in people]:
            rejected.append(Rejected(staff_id, None, f"staff_id: unknown staff {staff_id} (not in the roster)"))
            del by_staff[staff_id]
    out = {"period": str(p), "plan": plan.id, "staff": {}, "teams": [], "rejected": [r.to_json() for r in rejected]}
    if plan.kind == "key_account":
        for staff_id in sorted(by_staff):
            values = by_staff[staff_id]
            weeks = {int(k[4:]): int(v) for k, v in values.items() if k.startswith("week") and k[4:].isdigit()}
            r = keyaccount.score(plan.key_account, plan.id, staff_id, weeks, values.get("contribution_pct", Decimal(0)))
            out["staff"][staff_id] = {"customers": r.customers, "information_points": amounts.units(r.information_points),
                                      "contribution_points": amounts.units(r.contribution_points),
                                      "total": amounts.units(r.total), "short_weeks": r.short_weeks, "lines": r.lines}
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
        out["staff"][c.staff_id] = {"role": c.role, "team": c.team, "total": amounts.units(c.total), "grade": c.grade,
                                    "bonus_yuan": amounts.yuan(c.bonus_yuan), "rank": c.rank, "award": c.award,
                                    "previous_total": amounts.units(c.previous) if c.previous is not None else None,
                                    "missing_metrics": c.missing, "lines": c.lines}
    if plan.scorecard.awards.teams:
        out["teams"] = [{"team": t.team, "members": t.members, "average": amounts.units(t.average), "rank": t.rank,
                         "award": t.award} for t in scorecard.team_awards(plan.scorecard.awards, cards)]
    return out


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
    plan = load_incentive_plan(plan_path, ("commission_split",))
    try:
        m = Month.parse(month)
        people = _roster_people(roster) if roster else None
        rows = read_rows(payments, "payments", PAYMENT_COLUMNS, PAYMENT_COLUMNS)
    except (ValueError, InputError) as exc:
        raise IncentiveError(str(exc)) from None
    _in_force(plan, m.first, m.last)
    staff: dict[str, dict] = {}
    rejected, excluded = [], []
    counts: dict[str, int] = {}
    for _, raw in rows:
        counts[str(raw.get("txn_id") or "")] = counts.get(str(raw.get("txn_id") or ""), 0) + 1
    for row, raw in rows:
        try:
            txn = text(raw, "txn_id")
            if counts[txn] > 1:
                raise BadField(f"txn_id: {txn} appears {counts[txn]} times")
            card, maintainer, on_shift = text(raw, "card"), text(raw, "maintainer"), text(raw, "on_shift")
            amount = number(raw, "amount")
            if amount < 0:
                raise BadField(f"amount: negative: {amount}")
            paid = text(raw, "paid_on")
            if not paid.startswith(str(m)):
                raise BadField(f"paid_on: {paid} is not in {m}")
            for who in (maintainer, on_shift):
                if people is not None and who not in people:
                    raise BadField(f"unknown staff {who} (not in the roster)")
        except BadField as exc:
            rejected.append(Rejected(str(raw.get("txn_id") or ""), row, str(exc)).to_json())
            continue
        role = people[maintainer][0] if people else None
        shares, reason = split.split(plan.split, plan.id, txn, card, amount, maintainer, on_shift, role)
        if reason:
            excluded.append({"txn_id": txn, "reason": reason})
        for share in shares:
            entry = staff.setdefault(share.staff_id, {"base_yuan": Decimal(0), "commission_yuan": Decimal(0), "lines": []})
            entry["base_yuan"] += share.base_yuan
            entry["commission_yuan"] += share.commission_yuan or Decimal(0)
            entry["lines"].append(share.text)
    return {"month": str(m), "plan": plan.id,
            "staff": {s: {"base_yuan": amounts.yuan(v["base_yuan"]),
                          "commission_yuan": amounts.yuan(v["commission_yuan"]) if plan.split.commission_rate else None,
                          "lines": v["lines"]} for s, v in sorted(staff.items())},
            "excluded": excluded, "rejected": rejected}


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- export for payroll --------------------------------------------------------------------------

STATEMENT_COLUMNS = ("month", "staff_id", "role", "mobile_units", "broadband_units", "kpi_points", "bonus_yuan",
                     "counted_lines", "excluded_orders")


def export_statements(statements: dict, path: str | Path) -> int:
    """Write every statement of ``statements`` (the JSON shape) to CSV or XLSX; returns the staff count.

    CSV: one row per employee. XLSX: sheets statements, lines, excluded and rejected, amounts as numbers
    with two decimals (units with up to two)."""
    path = Path(path)
    month = statements["month"]
    rows = [(month, s, v["role"], v["mobile_units"], v["broadband_units"], v["kpi_points"], v["bonus_yuan"],
             len(v["lines"]), len(v["excluded"])) for s, v in sorted(statements["staff"].items())]
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise IncentiveError(f"export to {path}: use a .csv or .xlsx file name")
    tmp = path.with_name(path.name + ".part")
    if suffix == ".csv":
        with open(tmp, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: Excel opens Chinese text right
            writer = spreadsheet.csv_writer(fh)  # no cell can start a formula
            writer.writerow(STATEMENT_COLUMNS)
            writer.writerows(rows)
    else:
        _xlsx(statements, rows, tmp)
    tmp.replace(path)  # nothing half-written
    return len(rows)


def _xlsx(statements: dict, rows, path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = spreadsheet.sheet(book.create_sheet("statements"))  # every sheet: no cell can start a formula
    sheet.append(list(STATEMENT_COLUMNS))
    for r in rows:
        sheet.append([r[0], r[1], r[2], Decimal(r[3]), Decimal(r[4]), Decimal(r[5]), Decimal(r[6]), r[7], r[8]])
    lines = spreadsheet.sheet(book.create_sheet("lines"))
    lines.append(["staff_id", "order_id", "rule", "measure", "units", "kpi_points", "yuan", "explanation"])
    excluded = spreadsheet.sheet(book.create_sheet("excluded"))
    excluded.append(["staff_id", "order_id", "reason"])
    for staff_id, v in sorted(statements["staff"].items()):
        for l in v["lines"]:
            lines.append([staff_id, l["order_id"], l["rule"], l["measure"], Decimal(l["units"]),
                          Decimal(l["kpi_points"]), Decimal(l["yuan"]), l["text"]])
        for e in v["excluded"]:
            excluded.append([staff_id, e["order_id"], e["reason"]])
    rejected = spreadsheet.sheet(book.create_sheet("rejected"))
    rejected.append(["order_id", "reason"])
    for r in statements["rejected"]:
        rejected.append([r["order_id"], r["reason"]])
    book.save(path)

