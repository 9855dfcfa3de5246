"""Plan versions: apply a checked plan file, find the active plan."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine

from weixi.adapters.sql import execute
from weixi.errors import Conflict, Invalid
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import load_plan_text
from weixi.plans.model import Plan
from weixi.settings import DEFAULT_TIMEZONE


class PlanError(Invalid):
    """A plan that cannot be applied or loaded: a code of the error catalogue, and the plan's diagnostics (each
    with its own code and position) when it has errors."""

    def __init__(self, code: str, /, diagnostics: list[Diagnostic] | None = None, **params):
        super().__init__(code, **params)
        self.diagnostics = list(diagnostics or [])

    @property
    def details(self) -> list[dict]:
        """The diagnostics as the API lists them (``details`` of the error envelope)."""
        return [d.to_json() for d in self.diagnostics]


class PlanConflict(Conflict, PlanError):
    """A plan refused by what the ledger already holds (a reward's stock below the units already issued)."""


class NoActivePlan(Conflict):
    """No plan has been applied yet (``no_active_plan``)."""

    def __init__(self) -> None:
        super().__init__("no_active_plan")


@dataclass(frozen=True)
class Applied:
    version: int
    plan_id: str
    sha256: str
    new: bool  # False when the same content was already the active version


def load_checked(path: str | Path) -> tuple[Plan, str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError("plan_file_unreadable", path=str(path), reason=exc.strerror) from None
    return check_text(text, str(path)), text


def check_text(text: str, source: str) -> Plan:
    plan, diags = load_plan_text(text, source)
    if plan is None:
        errors = [d for d in diags if d.severity == "error"]
        raise PlanError("plan_invalid", diags, source=source, n=len(errors))
    if not isinstance(plan, Plan):  # kind: incentive, scorecard, campaign, operations, ...
        raise PlanError("plan_not_points", source=source)
    return plan


def apply_plan(engine: Engine, path: str | Path) -> Applied:
    plan, text = load_checked(path)
    return _apply(engine, plan, text, path)


def apply_plan_text(engine: Engine, text: str, source: str, name: str | None = None) -> Applied:
    """Apply a plan given as text (uploaded through the API or console); ``source`` names it in the history, and in
    errors unless ``name`` is given (the file's own name, where ``source`` also says who uploaded it)."""
    return _apply(engine, check_text(text, name or source), text, source, name)


def _apply(engine: Engine, plan: Plan, text: str, path: str | Path, name: str | None = None) -> Applied:
    digest = hashlib.sha256(text.encode()).hexdigest()
    with engine.begin() as conn:
        active = execute(conn, "SELECT version, sha256 FROM plan_versions WHERE active = ?", [True])
        if active and active[0][1] == digest:
            return Applied(active[0][0], plan.id, digest, False)
        issued = dict(execute(conn, "SELECT reward_id, issued FROM rewards"))
        short = [r for r in plan.rewards if r.stock is not None and issued.get(r.id, 0) > r.stock]
        if len(short) == 1:
            r = short[0]
            raise PlanConflict(
                "plan_stock_below_issued", source=name or str(path), reward=r.id, stock=r.stock, issued=issued[r.id]
            )
        if short:
            raise PlanConflict("plan_stocks_below_issued_for", source=name or str(path), rewards=[r.id for r in short])
        execute(conn, "UPDATE plan_versions SET active = ? WHERE active = ?", [False, True])
        execute(
            conn,
            "INSERT INTO plan_versions (plan_id, name, sha256, source, content, applied_at, active) "
            "VALUES (?,?,?,?,?,?,?)",
            [plan.id, plan.name, digest, str(path), text, datetime.now(timezone.utc), True],
        )
        version = execute(conn, "SELECT max(version) FROM plan_versions")[0][0]
        for reward in plan.rewards:
            execute(
                conn,
                "INSERT INTO rewards (reward_id, stock_total, issued) VALUES (?,?,0) "
                "ON CONFLICT (reward_id) DO UPDATE SET stock_total = excluded.stock_total",
                [reward.id, reward.stock],
            )
    return Applied(version, plan.id, digest, True)


_PARSED: dict[tuple[str, str], Plan] = {}  # (sha256 of the content, source) -> the parsed plan
_PARSED_MAX = 16


def active_plan(conn: Connection) -> tuple[int, Plan]:
    """The active version and its plan, read in the transaction of ``conn``.

    Every call asks the database which version is active (a plan applied by another process or connection is
    seen by the next transaction), but not for its content: a plan already parsed in this process is found by
    the version's ``sha256`` and source, so a transaction of the API writer reads one short row, not the plan
    file, and does not hash it. Applying another plan changes the active row, hence the key: nothing to
    invalidate by hand. A stored content whose digest is not its ``sha256`` is parsed each time, never cached."""
    rows = execute(conn, "SELECT version, sha256, source FROM plan_versions WHERE active = ?", [True])
    if not rows:
        raise NoActivePlan()
    version, digest, source = rows[0]
    return version, _cached(conn, version, digest, source)


def plan_at(conn: Connection, version: int) -> Plan | None:
    """The plan of ``version`` (None: the ledger has no such version), read in the transaction of ``conn`` and
    parsed once per content, as :func:`active_plan`."""
    rows = execute(conn, "SELECT sha256, source FROM plan_versions WHERE version = ?", [version])
    if not rows:
        return None
    return _cached(conn, version, *rows[0])


def _cached(conn: Connection, version: int, digest: str, source: str) -> Plan:
    """The plan of ``version`` (whose ``sha256`` and source are given) from the parsed plans, else read and parsed
    (and kept when the content's digest is its ``sha256``)."""
    plan = _PARSED.get((digest, source))
    if plan is None:
        content = execute(conn, "SELECT content FROM plan_versions WHERE version = ?", [version])[0][0]
        plan = _parse(content, source)
        if hashlib.sha256(content.encode()).hexdigest() == digest:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[(digest, source)] = plan
    return plan


def plan_zone(bind: Engine | Connection | None) -> ZoneInfo:
    """The active plan's timezone; :data:`weixi.settings.DEFAULT_TIMEZONE` before any plan is applied (or with no
    database at hand). Read through ``bind``: an engine, or a connection already open (so that a write transaction
    opens no second connection)."""
    if bind is None:
        return ZoneInfo(DEFAULT_TIMEZONE)
    try:
        if isinstance(bind, Connection):
            return ZoneInfo(active_plan(bind)[1].timezone)
        with bind.connect().execution_options(readonly=True) as conn, conn.begin():
            return ZoneInfo(active_plan(conn)[1].timezone)
    except NoActivePlan:
        return ZoneInfo(DEFAULT_TIMEZONE)


def _parse(content: str, source: str) -> Plan:
    plan, diags = load_plan_text(content, source)
    if plan is None:
        raise PlanError("plan_stored_broken", diags, source=source)
    return plan


VERSION_COLS = "version, plan_id, name, sha256, source, applied_at, active"


def _version_row(row) -> dict:
    version, plan_id, name, sha256, source, applied_at, active = row[:7]
    out = {
        "version": int(version),
        "plan_id": plan_id,
        "name": name,
        "sha256": sha256,
        "source": source,
        "applied_at": applied_at.isoformat() if hasattr(applied_at, "isoformat") else str(applied_at),
        "active": bool(active) if not isinstance(active, str) else active.lower() in ("1", "true", "t"),
    }
    if len(row) > 7:
        out["content"] = row[7]
    return out


def versions(engine: Engine) -> list[dict]:
    """Every applied plan version, newest first (without the file content)."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        return [
            _version_row(r) for r in execute(conn, f"SELECT {VERSION_COLS} FROM plan_versions ORDER BY version DESC")
        ]


def version(engine: Engine, number: int) -> dict | None:
    """One plan version with the exact file content that was applied."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        rows = execute(conn, f"SELECT {VERSION_COLS}, content FROM plan_versions WHERE version = ?", [number])
    return _version_row(rows[0]) if rows else None
