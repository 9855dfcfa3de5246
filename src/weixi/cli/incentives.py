"""``weixi incentives ...``: staff incentive statements (docs/incentives.md). Thin adapter over
:mod:`weixi.incentives.service`."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional

import typer

from weixi.cli.app import app
from weixi.cli.incentive_approvals import approvals_app
from weixi.cli.incentive_awards import awards_app
from weixi.cli.ledger import DB, JSON, open_engine
from weixi.cli.output import console, emit_json, fail
from weixi.incentives import publication, reports, scoring
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveError, IncentiveNotFound

incentives_app = typer.Typer(
    help="Staff incentive and KPI statements: compute, explain, publish, export.", no_args_is_help=True
)
app.add_typer(incentives_app, name="incentives")

PLANS = typer.Option(
    ...,
    "--plan",
    help="Incentive plan file; repeat for several (orders, discipline, referral, scorecard, key_account).",
)
PLANS_OPT = typer.Option(
    None, "--plan", help="Incentive plan file(s); with inputs, compute instead of reading the published statement."
)
MONTH = typer.Option(..., "--month", help="The month, YYYY-MM.")
ORDERS = typer.Option(None, "--orders", help="CRM retention orders, CSV or Parquet.")
TARGETS = typer.Option(None, "--targets", help="Target lists (customer_id, month, status), CSV or Parquet.")
ROSTER = typer.Option(None, "--roster", help="Staff roster (staff_id, name, role, team, shift, hired_on, left_on).")
VIOLATIONS = typer.Option(None, "--violations", help="Violation records for discipline plans.")
REFERRALS = typer.Option(None, "--referrals", help="Referral records for referral plans.")
SCORES = typer.Option(
    None, "--scores", help="Scores (staff_id, metric, score, plan) for scorecard and key-account plans."
)
QUOTAS = typer.Option(None, "--quotas", help="Monthly KPI quotas (staff_id, measure, quota), for the over-quota bonus.")
RECORDS = typer.Option(None, "--records", help="Surveys and complaints with the staff id of who served.")


def _say(text) -> None:
    """Print as plain text: names, ids and reasons are data, not Rich markup."""
    console.print(text, highlight=False, markup=False)


def _rejected(rows: list[dict]) -> None:
    for r in rows:
        _say(f"rejected {r['order_id']}: {r['reason']}")


@contextmanager
def refusal(as_json: bool):
    """A service refusal (:class:`IncentiveError`) inside the block ends the command with exit code 1: the plan's
    diagnostics (or an input file's bad rows) one per line on stderr, then ``error: MESSAGE``; with ``--json`` the
    error envelope on stdout, the diagnostics or rows as its ``details``."""
    try:
        yield
    except IncentiveError as exc:
        rows = getattr(exc, "problems", [])
        if not as_json:
            for d in exc.diagnostics:
                typer.echo(d.format(), err=True)
        details = [d.to_json() for d in exc.diagnostics] + [p.to_json() for p in rows]
        fail(exc, as_json, details=details)


def _compute(
    plans,
    month,
    orders,
    targets,
    roster,
    violations,
    referrals,
    as_json,
    timezone: str | None = None,
    scores=None,
    quotas=None,
    records=None,
    engine=None,
) -> svc.MonthResult:
    """The month computed; ``timezone``: the database's active points plan's where a command has a database
    (publish, diff), else the default; with ``engine``, the plans suspended for the month by a recorded decision
    compute nothing."""
    from weixi.incentives.suspensions import in_force

    with refusal(as_json):
        return svc.compute_month(
            plans,
            month,
            orders,
            targets,
            roster,
            violations,
            referrals,
            timezone,
            scores=scores,
            quotas=quotas,
            records=records,
            suspensions=in_force(engine, month) if engine is not None else None,
        )


@incentives_app.command("compute")
def compute(
    plan: List[Path] = PLANS,
    month: str = MONTH,
    orders: Optional[Path] = ORDERS,
    targets: Optional[Path] = TARGETS,
    roster: Optional[Path] = ROSTER,
    violations: Optional[Path] = VIOLATIONS,
    referrals: Optional[Path] = REFERRALS,
    scores: Optional[Path] = SCORES,
    quotas: Optional[Path] = QUOTAS,
    records: Optional[Path] = RECORDS,
    as_json: bool = JSON,
) -> None:
    """Every employee's units by business, KPI points, bonus, excluded orders and explanation lines."""
    result = _compute(
        plan, month, orders, targets, roster, violations, referrals, as_json, None, scores, quotas, records
    )
    if as_json:
        emit_json(result.to_json())
        return
    from rich.table import Table

    table = Table(title=f"Incentive statements {result.month} ({', '.join(result.plans)})")
    for col in ("staff", "role", "mobile units", "broadband units", "KPI points", "bonus yuan", "counted", "excluded"):
        table.add_column(col, justify="left" if col in ("staff", "role") else "right")
    for staff_id, s in sorted(result.staff.items()):
        j = s.to_json()
        table.add_row(
            staff_id,
            s.role,
            j["mobile_units"],
            j["broadband_units"],
            j["kpi_points"],
            j["bonus_yuan"],
            str(len(s.lines)),
            str(len(s.excluded)),
        )
    _say(table)
    totals = result.totals()
    _say(f"{totals['staff']} staff, {totals['bonus_yuan']} yuan in bonuses, {totals['rejected']} rejected row(s)")
    for r in result.rejected[:50]:
        _say(f"  rejected {r['order_id'] or '-'}: {r['reason']}")
    if len(result.rejected) > 50:
        _say(f"  ... and {len(result.rejected) - 50} more (see --json)")


def _statements(
    month, plan, orders, targets, roster, violations, referrals, db, as_json, scores=None, quotas=None, records=None
) -> tuple[dict, str]:
    """Computed statements when plans are given, else the published ones from the database."""
    if plan:
        found = _compute(
            plan, month, orders, targets, roster, violations, referrals, as_json, None, scores, quotas, records
        )
        return found.to_json(), "computed"
    engine = open_engine(db, as_json)
    pub = publication.published(engine, month)
    if pub is None:
        fail(IncentiveNotFound("incentive_month_not_published", month=month), as_json)
    return pub["statements"], f"published version {pub['version']} by {pub['published_by']} at {pub['published_at']}"


@incentives_app.command("statement")
def statement(
    staff_id: str,
    month: str = MONTH,
    plan: Optional[List[Path]] = PLANS_OPT,
    orders: Optional[Path] = ORDERS,
    targets: Optional[Path] = TARGETS,
    roster: Optional[Path] = ROSTER,
    violations: Optional[Path] = VIOLATIONS,
    referrals: Optional[Path] = REFERRALS,
    scores: Optional[Path] = SCORES,
    quotas: Optional[Path] = QUOTAS,
    records: Optional[Path] = RECORDS,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """One employee's statement, every unit and yuan with the order and rule that produced it."""
    data, source = _statements(
        month, plan, orders, targets, roster, violations, referrals, db, as_json, scores, quotas, records
    )
    s = data["staff"].get(staff_id)
    if s is None:
        fail(IncentiveNotFound("incentive_no_statement_in", staff=staff_id, month=month, source=source), as_json)
    if as_json:
        emit_json({"month": month, "staff_id": staff_id, "source": source, **s})
        return
    out = [
        f"Incentive statement {month} — {staff_id} ({s['role']})   [{source}]",
        f"  mobile units     {s['mobile_units']:>10}",
        f"  broadband units  {s['broadband_units']:>10}",
        f"  KPI points       {s['kpi_points']:>10}",
        f"  bonus (yuan)     {s['bonus_yuan']:>10}",
    ]
    for measure, k in (s.get("kpi") or {}).items():
        quota = f"quota {k['quota']}, {k['completion_pct']}% done" if k["quota"] is not None else "no quota"
        out.append(
            f"  KPI {measure} units {k['units']} ({quota}); over-quota bonus: {k['over_quota_counted_units']}"
            f" unit(s) count into it, {k['over_quota_units']} above the quota, {k['over_quota_yuan']} yuan"
        )
    for sc in s.get("scores") or []:
        grade = f", grade {sc['grade_name']}" if sc.get("grade_name") else ""
        award = f", {sc['award_name']}" if sc.get("award_name") else ""
        out.append(f"  score {sc['plan_name']} {sc['period']}: {sc['total']} of {sc['scale']}{grade}{award}")
    for p in data.get("suspended") or []:
        out.append(f"  plan {p['plan_name']} ({p['plan']}) is suspended this month: {p['reason']}")
    out += ["", f"Lines ({len(s['lines'])}):"]
    out += [f"  {l['text']}" for l in s["lines"]] or ["  (none)"]
    out += ["", f"Not counted ({len(s['excluded'])}):"]
    out += [f"  order {e['order_id']}: {e['reason']}" for e in s["excluded"]] or ["  (none)"]
    typer.echo("\n".join(out))


@incentives_app.command("export")
def export(
    month: str = MONTH,
    out: Path = typer.Option(
        ...,
        "--out",
        help="FILE.csv (one row per employee, column ids) or FILE.xlsx (for payroll: Chinese headers and lines).",
    ),
    plan: Optional[List[Path]] = PLANS_OPT,
    orders: Optional[Path] = ORDERS,
    targets: Optional[Path] = TARGETS,
    roster: Optional[Path] = ROSTER,
    violations: Optional[Path] = VIOLATIONS,
    referrals: Optional[Path] = REFERRALS,
    scores: Optional[Path] = SCORES,
    quotas: Optional[Path] = QUOTAS,
    records: Optional[Path] = RECORDS,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """All statements of the month for payroll, as CSV (one row per employee) or XLSX (with lines)."""
    data, source = _statements(
        month, plan, orders, targets, roster, violations, referrals, db, as_json, scores, quotas, records
    )
    with refusal(as_json):
        n = svc.export_statements(data, out)
    if as_json:
        emit_json({"month": month, "file": str(out), "staff": n, "source": source})
    else:
        _say(f"wrote {n} statements of {month} to {out} ({source})")


@incentives_app.command("publish")
def publish(
    month: str = MONTH,
    plan: List[Path] = PLANS,
    orders: Optional[Path] = ORDERS,
    targets: Optional[Path] = TARGETS,
    roster: Optional[Path] = ROSTER,
    violations: Optional[Path] = VIOLATIONS,
    referrals: Optional[Path] = REFERRALS,
    scores: Optional[Path] = SCORES,
    quotas: Optional[Path] = QUOTAS,
    records: Optional[Path] = RECORDS,
    by: str = typer.Option(..., "--by", help="Who publishes (recorded with the time)."),
    supersede: bool = typer.Option(False, "--supersede", help="Publish a correction as a new version."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Why a correction is published."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Publish the month's statements; a published month changes only by a new, explained version."""
    engine = open_engine(db, as_json)
    zone = reports.zone(engine)
    result = _compute(
        plan, month, orders, targets, roster, violations, referrals, as_json, zone, scores, quotas, records, engine
    )
    with refusal(as_json):
        done = publication.publish(engine, result, by, supersede, reason)
    if as_json:
        emit_json(done)
    elif done["new"]:
        _say(f"published {month} as version {done['version']} by {by}")
    else:
        _say(f"{month} version {done['version']} is already published with the same content: nothing changed")


@incentives_app.command("diff")
def diff(
    month: str = MONTH,
    plan: List[Path] = PLANS,
    orders: Optional[Path] = ORDERS,
    targets: Optional[Path] = TARGETS,
    roster: Optional[Path] = ROSTER,
    violations: Optional[Path] = VIOLATIONS,
    referrals: Optional[Path] = REFERRALS,
    scores: Optional[Path] = SCORES,
    quotas: Optional[Path] = QUOTAS,
    records: Optional[Path] = RECORDS,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Recompute the month (e.g. with late orders) and show how it differs from the published statements."""
    engine = open_engine(db, as_json)
    zone = reports.zone(engine)
    result = _compute(
        plan, month, orders, targets, roster, violations, referrals, as_json, zone, scores, quotas, records, engine
    )
    with refusal(as_json):
        out = publication.diff(engine, result)
    if as_json:
        emit_json(out)
        return
    _say(
        f"{month}: recompute against published version {out['published_version']}"
        f" ({out['published_by']}, {out['published_at']}); the published statements are unchanged"
    )
    if not out["changes"]:
        _say("no differences")
    for staff_id, c in out["changes"].items():
        nums = ", ".join(
            f"{k} {v['published']} -> {v['recomputed']} ({v['difference']})"
            for k, v in c.items()
            if isinstance(v, dict)
        )
        _say(f"{staff_id}: {nums or 'same totals'}")
        for l in c["added"]:
            _say(f"  + {l['text']}")
        for l in c["removed"]:
            _say(f"  - {l['text']}")
        for e in c["newly_excluded"]:
            _say(f"  excluded {e['order_id']}: {e['reason']}")
    _say(f"{out['unchanged']} staff unchanged")


@incentives_app.command("score")
def score(
    plan: Path = typer.Option(..., "--plan", help="A scorecard or key_account plan."),
    period: str = typer.Option(..., "--period", help="YYYY-MM, YYYY-Qn for quarterly plans, or YYYY for yearly plans."),
    scores: Path = typer.Option(..., "--scores", help="staff_id, metric, score rows (CSV or Parquet)."),
    previous: Optional[Path] = typer.Option(None, "--previous", help="Last period's scores (improvement award)."),
    roster: Optional[Path] = ROSTER,
    as_json: bool = JSON,
) -> None:
    """Weighted scorecards: totals, grades, bonus by role, rank awards and team awards; key-account scores."""
    with refusal(as_json):
        out = scoring.score_period(plan, period, scores, previous, roster)
    if as_json:
        emit_json(out)
        return
    for staff_id, s in out["staff"].items():
        head = ", ".join(
            f"{k} {s[k]}" for k in ("total", "grade", "bonus_yuan", "rank", "award") if s.get(k) is not None
        )
        _say(f"{staff_id}: {head}")
        for line in s["lines"]:
            _say(f"  {line}")
    for t in out["teams"]:
        _say(f"team {t['team']}: average {t['average']}, rank {t['rank']}, award {t['award']}")
    if out.get("notice"):
        _say(f"notice of {out['period']} (通报), by rank:")
        for n in out["notice"]:
            met = "met" if n["met_monthly_standard"] else "below"
            short = f", short weeks {n['short_weeks']}" if n["short_weeks"] else ""
            _say(f"  {n['rank']}. {n['staff_id']}: {n['total']} points, {n['customers']} customers ({met}){short}")
    _rejected(out["rejected"])


@incentives_app.command("split")
def split_cmd(
    plan: Path = typer.Option(..., "--plan", help="A commission_split plan."),
    month: str = MONTH,
    payments: Path = typer.Option(
        ..., "--payments", help="Member payments (txn_id, member_id, card, amount, maintainer, on_shift, paid_on)."
    ),
    roster: Optional[Path] = ROSTER,
    as_json: bool = JSON,
) -> None:
    """Commission shares between the maintaining staff member and the one on shift."""
    with refusal(as_json):
        out = scoring.split_month(plan, month, payments, roster)
    if as_json:
        emit_json(out)
        return
    for staff_id, s in out["staff"].items():
        money = f", commission {s['commission_yuan']} yuan" if s["commission_yuan"] is not None else ""
        _say(f"{staff_id}: base {s['base_yuan']} yuan{money}")
        for line in s["lines"]:
            _say(f"  {line}")
    for e in out["excluded"]:
        _say(f"not credited {e['txn_id']}: {e['reason']}")
    _rejected(out["rejected"])


@incentives_app.command("referrals")
def referral_cmd(
    plan: Path = typer.Option(..., "--plan", help="A referral plan."),
    month: str = MONTH,
    referrals: Path = typer.Option(..., "--referrals", help="Referral records."),
    roster: Optional[Path] = ROSTER,
    post: bool = typer.Option(
        False, "--post", help="Post the customers' points into the points ledger (once per referral id; safe to rerun)."
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Referral rewards: customers' points (or gift), employees' cash, fines for fabricated referrals."""
    result = _compute([plan], month, None, None, roster, None, referrals, as_json)
    awards = [
        {
            "referral_id": a.referral_id,
            "customer_id": a.customer_id,
            "points": a.points,
            "gift": a.gift,
            "event_id": a.event_id,
            "approved_by": a.approved_by,
        }
        for a in result.customer_awards
    ]
    out = {"month": result.month, "customers": awards, "staff": result.to_json()["staff"], "rejected": result.rejected}
    if post:
        engine = open_engine(db, as_json)
        posted = svc.post_referral_points(engine, result.customer_awards, result.plans[0])
        out["posted"] = {
            "posted": posted.posted,
            "duplicates": posted.duplicates,
            "rejected": [{"event_id": r.event_id, "reason": r.reason} for r in posted.rejected],
        }
    if as_json:
        emit_json(out)
        return
    for a in awards:
        what = f"{a['points']} points" if a["points"] else f"gift: {a['gift']}"
        _say(f"customer {a['customer_id']}: {what} for referral {a['referral_id']}")
    for staff_id, s in out["staff"].items():
        for line in s["lines"]:
            _say(f"{staff_id}: {line['text']}")
    _rejected(result.rejected)
    if post:
        p = out["posted"]
        _say(f"ledger: {p['posted']} posted, {len(p['duplicates'])} already posted, {len(p['rejected'])} rejected")


incentives_app.add_typer(awards_app, name="awards")
incentives_app.add_typer(approvals_app, name="approvals")
