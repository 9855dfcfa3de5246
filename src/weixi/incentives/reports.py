"""Read models of the staff incentive statements for the API and the console: who may see whose statement
(own, team, all), team lists, leaderboards, totals by business, and the recompute from the month's inputs in
the data directory. Computing, publishing and diffing are :mod:`weixi.incentives.service`.

* A login's staff id is its ``staff_id`` (``weixi users create wang --role clerk --staff-id S000123``), else its
  username (``weixi users create S000123 --role clerk``): :attr:`weixi.users.repository.User.staff`.
* A staff member's team is the ``team`` of the month's roster file (the month's inputs, below), else of the
  operations roster (``weixi staff load``, table ``ops_staff``).
* The month's inputs live in ``DATA/incentives/YYYY-MM/``: every ``*.yaml`` there is a plan, and ``orders``,
  ``targets``, ``roster``, ``violations``, ``referrals``, ``scores``, ``quotas`` are read as ``NAME.csv`` or ``NAME.parquet``.
"""

from __future__ import annotations

import copy
import hashlib
from decimal import Decimal
from pathlib import Path

from weixi.adapters.kept import Kept
from weixi.adapters.sql import execute
from weixi.incentives import amounts, inputs
from weixi.incentives import service as svc
from weixi.incentives.errors import IncentiveConflict, IncentiveInvalid, NotVisible
from weixi.incentives.months import Month
from weixi.incentives.roles import canonical

INPUTS = ("orders", "targets", "roster", "violations", "referrals", "scores", "quotas", "records")
SUMS = ("mobile_units", "broadband_units", "kpi_points", "bonus_yuan")


def inputs_dir(data_dir: Path, month: str) -> Path:
    return Path(data_dir) / "incentives" / month


def month_inputs(data_dir: Path, month: str) -> dict:
    """The plans and input files of ``month`` in the data directory (missing inputs are None)."""
    base = inputs_dir(data_dir, month)
    found: dict = {"dir": base, "plans": sorted(base.glob("*.yaml")) if base.is_dir() else []}
    for name in INPUTS:
        found[name] = next((p for p in (base / f"{name}.csv", base / f"{name}.parquet") if p.is_file()), None)
    return found


def recompute(data_dir: Path, month: str, timezone: str | None = None, engine=None) -> svc.MonthResult:
    """Compute ``month`` from its inputs in the data directory (nothing is stored); ``timezone``: the active
    points plan's (:func:`zone`), else the default. Without a roster file in the month's folder, the operations
    roster (``ops_staff`` of ``engine``) is the roster: one staff list for operations and incentives. The plans
    suspended for the month by a recorded decision (``engine``'s, :mod:`weixi.incentives.suspensions`) compute
    nothing."""
    import tempfile

    from weixi.incentives.suspensions import in_force

    Month.parse(month)
    found = month_inputs(data_dir, month)
    if not found["plans"]:
        raise IncentiveConflict("incentive_no_plans_for_month", month=month, dir=str(found["dir"]))
    with tempfile.TemporaryDirectory(prefix="weixi-roster-") as tmp:
        roster_file = found["roster"] or (operations_roster(engine, Path(tmp)) if engine is not None else None)
        suspensions = in_force(engine, month) if engine is not None else None
        key = _key(found, month, timezone, roster_file, suspensions)
        kept = RESULTS.get(key, lambda: _compute(found, month, timezone, roster_file, suspensions))
        return copy.deepcopy(kept)  # the caller's own: nothing it does changes the one kept


# A month's result kept per process by what it is computed from (the publish, diff and approval pages recompute the
# month at every view: 0.4-0.7 s for 600 orders): every input file's path and content, the roster (the month's file or
# the operations roster written out), the recorded suspensions and the time zone. The computation reads nothing else.
RESULTS = Kept(8)


def _key(found: dict, month: str, timezone, roster_file, suspensions) -> tuple:
    files = [("plan", p) for p in found["plans"]] + [(name, found[name]) for name in INPUTS if name != "roster"]
    digests = tuple((name, str(path), _digest(path)) for name, path in files if path is not None)
    roster = _digest(roster_file) if roster_file is not None else None
    return (month, timezone, digests, str(found["roster"]), roster, tuple(sorted((suspensions or {}).items())))


def _digest(path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def operations_roster(engine, folder: Path) -> Path | None:
    """The operations roster (``weixi staff load``) as a roster file of the incentive inputs, or None when empty."""
    import csv

    with engine.connect() as conn:
        rows = execute(conn, "SELECT staff_id, name, role, team, shift, joined_on, left_on FROM ops_staff")
    if not rows:
        return None
    path = folder / "roster.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(inputs.ROSTER_COLUMNS)
        w.writerows([["" if v is None else str(v) for v in r] for r in rows])
    return path


def _compute(found: dict, month: str, timezone, roster_file, suspensions=None) -> svc.MonthResult:
    return svc.compute_month(
        found["plans"],
        month,
        found["orders"],
        found["targets"],
        roster_file,
        found["violations"],
        found["referrals"],
        timezone,
        scores=found["scores"],
        quotas=found["quotas"],
        records=found["records"],
        suspensions=suspensions,
    )


def approval_plans(data_dir: Path, month: str) -> list:
    """The month's plans (its folder) that have an approval chain; a plan file that does not load is left to the
    statements, which report it."""
    from weixi.incentives.errors import IncentiveError

    found = []
    for path in month_inputs(data_dir, month)["plans"]:
        try:
            plan = svc.load_incentive_plan(path)
        except IncentiveError:
            continue
        if plan.approval:
            found.append(plan)
    return found


def zone(engine) -> str:
    """The active points plan's timezone (the default before any plan is applied): the days of the month's
    orders are counted in it."""
    from weixi.plans.service import plan_zone

    return plan_zone(engine).key


def published_months(engine) -> list[dict]:
    """Months with published statements, newest first, with their latest version."""
    with engine.connect() as conn:
        rows = execute(
            conn, "SELECT month, max(version), count(*) FROM incentive_publications GROUP BY month ORDER BY month DESC"
        )
    return [{"month": m, "version": v, "versions": n} for m, v, n in rows]


def roster(engine, data_dir: Path, month: str) -> dict[str, dict]:
    """staff_id -> {name, team, role} from the month's roster file, else the operations roster."""
    path = month_inputs(data_dir, month)["roster"]
    if path is not None:
        con = inputs.connect()
        try:
            inputs.load_roster(con, path)
            rows = con.execute("SELECT staff_id, name, team, role FROM roster").fetchall()
        finally:
            con.close()
    else:
        with engine.connect() as conn:
            rows = execute(conn, "SELECT staff_id, name, team, role FROM ops_staff")
    return {s: {"name": n, "team": t, "role": canonical(r)} for s, n, t, r in rows}


def team_of(people: dict[str, dict], staff_id: str) -> str | None:
    return (people.get(staff_id) or {}).get("team")


def scope(user, people: dict[str, dict], team: str | None = None) -> tuple[str | None, set[str] | None]:
    """(team, staff ids) a user may list: analysts and admins everyone (or ``team``); a manager only their own
    team; None staff ids = everyone."""
    if user.role in ("admin", "analyst"):
        if team is None:
            return None, None
        return team, {s for s, p in people.items() if p.get("team") == team}
    own = team_of(people, user.staff)
    if own is None:
        raise NotVisible("incentive_manager_without_team", user=user.username)
    if team is not None and team != own:
        raise NotVisible("incentive_other_team", user=user.username, own=own, team=team)
    return own, {s for s, p in people.items() if p.get("team") == own}


def may_see(user, people: dict[str, dict], staff_id: str) -> bool:
    """Own statement: everyone; a manager: their team's; analysts and admins: all."""
    if user.staff == staff_id or user.role in ("admin", "analyst"):
        return True
    if user.role == "manager":
        own = team_of(people, user.staff)
        return own is not None and team_of(people, staff_id) == own
    return False


def rows(statements: dict, people: dict[str, dict], staff_ids: set[str] | None = None) -> list[dict]:
    """One row per staff member (of ``staff_ids``), ranked by bonus then KPI points (ties share a rank)."""
    out = []
    for staff_id, s in statements["staff"].items():
        if staff_ids is not None and staff_id not in staff_ids:
            continue
        p = people.get(staff_id) or {}
        out.append(
            {
                "staff_id": staff_id,
                "name": p.get("name"),
                "team": p.get("team"),
                "role": s["role"],
                **{k: s[k] for k in SUMS},
                "counted": len(s["lines"]),
                "excluded": len(s["excluded"]),
            }
        )
    out.sort(key=lambda r: (-Decimal(r["bonus_yuan"]), -Decimal(r["kpi_points"]), r["staff_id"]))
    rank, last = 0, None
    for i, r in enumerate(out, 1):
        key = (r["bonus_yuan"], r["kpi_points"])
        rank = rank if key == last else i
        r["rank"], last = rank, key
    return out


def by_business(statements: dict, staff_ids: set[str] | None = None) -> list[dict]:
    """Units and yuan per rule (an incentive plan has one rule per business; discipline and referral plans are
    their own business), from the explanation lines."""
    totals: dict[str, dict] = {}
    for staff_id, s in statements["staff"].items():
        if staff_ids is not None and staff_id not in staff_ids:
            continue
        for line in s["lines"]:
            t = totals.setdefault(
                line["rule"],
                {
                    "rule": line["rule"],
                    "lines": 0,
                    "units": Decimal(0),
                    "kpi_points": Decimal(0),
                    "yuan": Decimal(0),
                    "staff": set(),
                },
            )
            t["lines"] += 1
            t["units"] += Decimal(line.get("units") or 0)
            t["kpi_points"] += Decimal(line.get("kpi_points") or 0)
            t["yuan"] += Decimal(line.get("yuan") or 0)
            t["staff"].add(staff_id)
    return [
        {
            "rule": t["rule"],
            "lines": t["lines"],
            "units": amounts.units(t["units"]),
            "kpi_points": amounts.units(t["kpi_points"]),
            "yuan": amounts.yuan(t["yuan"]),
            "staff": len(t["staff"]),
        }
        for t in sorted(totals.values(), key=lambda t: t["rule"])
    ]


def totals(table: list[dict]) -> dict:
    return {
        "staff": len(table),
        **{
            k: (amounts.yuan if k == "bonus_yuan" else amounts.units)(sum((Decimal(r[k]) for r in table), Decimal(0)))
            for k in SUMS
        },
    }


def export_bytes(statements: dict, fmt: str, staff_ids: set[str] | None = None) -> bytes:
    """The payroll export (:func:`weixi.incentives.service.export_statements`) as bytes."""
    import tempfile

    if fmt not in ("csv", "xlsx"):
        raise IncentiveInvalid("incentive_export_format", format=fmt)
    chosen = (
        statements
        if staff_ids is None
        else {**statements, "staff": {s: v for s, v in statements["staff"].items() if s in staff_ids}}
    )
    with tempfile.TemporaryDirectory(prefix="weixi-incentives-") as tmp:
        path = Path(tmp) / f"statements.{fmt}"
        svc.export_statements(chosen, path)
        return path.read_bytes()
