"""Ledger commands: init, plan apply, events post, redeem, redemption, balance, statement, expire, reverse,
verify, simulate, settlement."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Optional
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from weixi.adapters import schema
from weixi.adapters.db import database_url, make_engine
from weixi.adapters.eventfiles import EventFileError, read_events, write_quarantine
from weixi.cli.app import app, events_app, plan_app
from weixi.cli.db import DB, JSON, open_engine
from weixi.cli.output import console, emit_json, fail, parse_day
from weixi.close.post_lake import post_file_events
from weixi.errors import Invalid, NotFound, Where
from weixi.i18n import gettext
from weixi.ledger import queries, redemption, reversal
from weixi.ledger.expire import expire as run_expiry
from weixi.ledger.simulate import simulate as run_simulation
from weixi.ledger.verify import verify as run_verify
from weixi.members.member360 import ledger_note
from weixi.plans.service import NoActivePlan, PlanError, active_plan, apply_plan


def plan_failed(exc: PlanError, as_json: bool):
    """A plan that does not load: every diagnostic with its position, then exit 1."""
    if not as_json:
        for d in exc.diagnostics:
            console.print(d.format(), highlight=False)
    fail(exc, as_json, details=[d.to_json() for d in exc.diagnostics])


def _plan(engine, as_json: bool):
    try:
        with engine.connect().execution_options(readonly=True) as conn, conn.begin():
            return active_plan(conn)
    except NoActivePlan as exc:  # 409 no_active_plan
        fail(exc, as_json)


def _today(engine, as_json: bool):
    _, plan = _plan(engine, as_json)
    return datetime.now(ZoneInfo(plan.timezone)).date()


@app.command("init")
def init(db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Create or upgrade the ledger database (safe to run again)."""
    engine = make_engine(db)
    revision = schema.upgrade(engine)
    if as_json:
        emit_json({"database": database_url(db), "revision": revision})
    else:
        console.print(f"database {database_url(db)} ready (schema {revision})")


@plan_app.command("apply")
def plan_apply(
    file: Path = typer.Argument(..., help="Plan file (YAML)."), db: Optional[str] = DB, as_json: bool = JSON
) -> None:
    """Check a plan and make it the active plan version. Applying the active content again changes nothing."""
    engine = open_engine(db, as_json)
    try:
        applied = apply_plan(engine, file)
    except PlanError as exc:
        plan_failed(exc, as_json)
    data = {"version": applied.version, "plan": applied.plan_id, "sha256": applied.sha256, "new": applied.new}
    if as_json:
        emit_json(data)
    elif applied.new:
        console.print(f"plan {applied.plan_id} applied as version {applied.version}")
    else:
        console.print(f"plan {applied.plan_id} is already active as version {applied.version}: nothing changed")


@events_app.command("post")
def events_post(
    file: Path = typer.Argument(..., help="Event file: .csv, .jsonl or .parquet."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Post an event file. Good rows post; rejected rows go to FILE.rejected.csv with a reason; reruns are safe.
    Events dated in the future or in a closed month are rejected, and birthday events off the member's archive
    birthday (read from WEIXI_DATA)."""
    engine = open_engine(db, as_json)
    _, plan = _plan(engine, as_json)
    try:
        now = datetime.now(timezone.utc)
        result = post_file_events(engine, read_events(file, ZoneInfo(plan.timezone), now))
    except EventFileError as exc:
        fail(exc, as_json)
    quarantine = write_quarantine(file, result.rejected)
    data = {
        "file": str(file),
        "posted": result.posted,
        "duplicate": len(result.duplicates),
        "rejected": len(result.rejected),
        "quarantine": str(quarantine) if quarantine else None,
        "plan_version": result.plan_version,
    }
    if as_json:
        emit_json({**data, "rejections": [r.to_json() for r in result.rejected]})
        return
    console.print(f"posted {result.posted} / duplicate {len(result.duplicates)} / rejected {len(result.rejected)}")
    for r in result.rejected[:20]:
        console.print(f"  {file}:{r.row}: {r.event_id or '-'}: {r.reason}", highlight=False)
    if len(result.rejected) > 20:
        console.print(f"  ... and {len(result.rejected) - 20} more")
    if quarantine:
        console.print(f"rejected rows written to {quarantine}")


@app.command("redeem")
def redeem(
    member: str,
    reward: str,
    qty: int = typer.Option(1, "--qty", min=1, help="Units to redeem."),
    request_id: Optional[str] = typer.Option(None, "--request-id", help="Idempotency key: a retry changes nothing."),
    merchant: Optional[str] = typer.Option(None, "--merchant", help="Partner merchant (merchant rewards)."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Redeem a reward for a member, taking the earliest-expiring points first."""
    engine = open_engine(db, as_json)
    try:
        outcome = redemption.redeem(
            engine, member, reward, qty, request_id, attrs={"merchant": merchant} if merchant else None
        )
    except (redemption.RedemptionError, NoActivePlan) as exc:
        fail(exc, as_json)
    data = {**outcome.redemption, "duplicate": outcome.duplicate}
    if as_json:
        emit_json(data)
        return
    r = outcome.redemption
    prefix = "already redeemed (same request id): " if outcome.duplicate else ""
    console.print(
        f"{prefix}{r['qty']} x {r['reward_id']} for {r['member_id']}: {r['points']} points "
        f"(redemption {r['redemption_id']})",
        highlight=False,
    )
    for key, value in r["details"].items():
        if key != "lots":
            console.print(f"  {key}: {value}", highlight=False)
    console.print("  from lots: " + ", ".join(f"{lot} ({n})" for lot, n in r["details"]["lots"]), highlight=False)


redemption_app = typer.Typer(help="Look up and cancel redemptions.", no_args_is_help=True)
app.add_typer(redemption_app, name="redemption")


@redemption_app.command("show")
def redemption_show(redemption_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Show one redemption and the lots its points came from."""
    engine = open_engine(db, as_json)
    found = redemption.redemption(engine, redemption_id)
    if found is None:
        fail(redemption.UnknownRedemption("unknown_redemption", redemption=redemption_id), as_json)
    emit_json(found) if as_json else console.print_json(data=found)


@redemption_app.command("cancel")
def redemption_cancel(
    redemption_id: str,
    reason: str = typer.Option(
        redemption.FULFILMENT_FAILED, "--reason", help="fulfilment_failed, or any text for refundable rewards."
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Cancel a redemption whose fulfilment failed: the points return to the very lots they came from."""
    engine = open_engine(db, as_json)
    try:
        found = redemption.cancel(engine, redemption_id, reason)
    except (redemption.RedemptionError, NoActivePlan) as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(found)
    else:
        console.print(
            f"redemption {redemption_id} cancelled; {found['points']} points returned to "
            + ", ".join(f"{lot} ({n})" for lot, n in found["details"]["lots"]),
            highlight=False,
        )


@app.command("balance")
def balance(
    member: str,
    at: Optional[str] = typer.Option(None, "--at", help="Balance at the end of this day (YYYY-MM-DD)."),
    data_dir: Optional[str] = typer.Option(
        None,
        "--data",
        help="Data directory (default: $WEIXI_DATA or ./weixi-data): a day of a closed month is answered from the "
        "lake version that month's close recorded.",
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """A member's balance and the lots that make it up (what expires when)."""
    engine = open_engine(db, as_json)
    day = parse_day(at, "--at") or _today(engine, as_json)
    data = queries.balance(engine, member, day, lake_version=_closed_lake_version(data_dir, day) if at else None)
    if data is None:
        fail(NotFound("unknown_member", member=member), as_json)
    if as_json:
        emit_json(data)
        return
    console.print(
        f"[bold]{member}[/] balance at {day}: [bold]{data['balance']}[/] points"
        + (f", debt {data['debt']}" if data["debt"] else "")
        + (f" ({data['expiring_within_90_days']} expire within 90 days)" if data["expiring_within_90_days"] else "")
    )
    table = Table("lot", "earned on", "expires on", "remaining")
    for lot in data["lots"]:
        table.add_row(lot["lot_id"], lot["earned_on"], lot["expires_on"] or "never", str(lot["remaining"]))
    console.print(table)


def _closed_lake_version(data_dir: str | None, day) -> int | None:
    """The ``accruals`` version the close of ``day``'s month recorded (None: not closed, or closed without it)."""
    from weixi import settings
    from weixi.close import store

    folder = Path(data_dir or settings.DATA.value())
    return store.close_versions(folder, day.isoformat()[:7]).get("lake/accruals") if folder.is_dir() else None


@app.command("statement")
def statement(
    member: str,
    start: Optional[str] = typer.Option(None, "--from", help="First day (YYYY-MM-DD)."),
    end: Optional[str] = typer.Option(None, "--to", help="Last day (YYYY-MM-DD)."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Every journal entry of a member in a period, with the rule, lot and running balance."""
    engine = open_engine(db, as_json)
    data = queries.statement(engine, member, parse_day(start, "--from"), parse_day(end, "--to"))
    if data is None:
        fail(NotFound("unknown_member", member=member), as_json)
    if as_json:
        emit_json(data)
        return
    console.print(
        f"[bold]{member}[/] statement {data['from'] or 'start'} .. {data['to'] or 'today'}: "
        f"opening {data['opening_balance']}, closing {data['closing_balance']}"
        + (f", debt {data['closing_debt']}" if data["closing_debt"] else "")
    )
    table = Table("day", "kind", "points", "balance", "event", "rule", "lot", "note")
    for line in data["lines"]:
        table.add_row(
            line["day"],
            line["kind"],
            f"{line['points']:+d}",
            str(line["balance"]),
            line["event"] or "",
            line["rule"] or "",
            line["lot"] or "",
            note_text(line["note"]),
        )
    console.print(table)
    t = data["totals"]
    console.print(f"earned {t['earned']}, redeemed {t['redeemed']}, expired {t['expired']}, reversed {t['reversed']}")


# a campaign's award note (its code and parameters, weixi.members.member360.ledger_note) in the console's English
_NOTES = {
    "lottery_prize": "lottery draw %(seq)s of %(campaign)s: %(prize)s",
    "lottery_chances": "%(n)s lottery chances bought in %(campaign)s",
    "campaign_leaderboard": "leaderboard rank %(rank)s of %(campaign)s (%(points)s points earned)",
    "campaign_streak": "%(days)s-day check-in streak in %(campaign)s",
    "referee": "joining by invitation in %(campaign)s",
    "referrer": "inviting a new member in %(campaign)s",
}


def note_text(note: str) -> str:
    """A journal note as a person reads it: a campaign's award note (stored as its code and parameters) as the
    console's English sentence; any other note as written."""
    said = ledger_note({"reason": note}) if note.startswith("campaign ") else None
    if said is None:
        return note
    key = said.get("role") if said["code"] == "campaign_referral" else said["code"]
    params = {**said, "campaign": said["campaign_id"], "n": said.get("chances")}
    return gettext("en", _NOTES[key]) % params if key in _NOTES else note


@app.command("expire")
def expire(
    as_of: str = typer.Option(..., "--as-of", help="Expire every lot with expires_on on or before this day."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Expire points set-based: one journal entry per lot. Rerunning for the same day changes nothing."""
    engine = open_engine(db, as_json)
    result = run_expiry(engine, parse_day(as_of, "--as-of"))
    data = {"as_of": str(result.as_of), "lots": result.lots, "points": result.points, "members": result.members}
    emit_json(data) if as_json else console.print(
        f"expired {result.points} points in {result.lots} lots of {result.members} members as of {result.as_of}"
    )


@app.command("reverse")
def reverse(event_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Reverse all points an event earned (a full refund), following the plan's reversal policy."""
    engine = open_engine(db, as_json)
    _plan(engine, as_json)
    try:
        done = reversal.reverse(engine, event_id)
    except reversal.ReverseError as exc:
        fail(exc, as_json)
    data = {"event_id": event_id, "reversal": done.reversal, "duplicate": done.duplicate, "member_id": done.member_id}
    if as_json:
        emit_json(data)
    elif done.duplicate:
        console.print(f"event {event_id} was already reversed: nothing changed")
    else:
        console.print(f"reversed the points of {event_id} for {done.member_id}; see 'weixi statement {done.member_id}'")


@app.command("verify")
def verify(
    db: Optional[str] = DB,
    data: Optional[str] = typer.Option(
        None, "--data", help="Data directory whose lake tables are checked too (default: $WEIXI_DATA or ./weixi-data)."
    ),
    lake: bool = typer.Option(
        False,
        "--lake",
        help="Check only the lake: each file every Delta table's current version lists exists, has the size its "
        "log says and reads as Parquet (every row group), without the database.",
    ),
    as_json: bool = JSON,
) -> None:
    """Rebuild every balance, debt, lot and reward stock from the journal, and check the lake's files under the
    data directory (a file deleted or changed by hand is named); with a lake ledger, each closed lake month
    recomputed from its source bills equals its accruals both ways and the latest snapshot's balances are
    re-derived from the versions its close recorded. Exit 1 on any mismatch or damaged file."""
    from weixi import messages, settings
    from weixi.close import store
    from weixi.close.verify_lake import verify_lake
    from weixi.errors import Conflict

    mismatches, counts = [], {}
    folder = Path(data or settings.DATA.value())
    damaged = store.damage(folder, deep=True) if folder.is_dir() else []
    if not lake:
        engine = open_engine(db, as_json)
        mismatches, counts = run_verify(engine)
        if folder.is_dir() and not damaged:  # the lake ledger against the close's files (on sound files only)
            found, lake_counts = verify_lake(engine, folder)
            mismatches, counts = mismatches + found, {**counts, **lake_counts}
    counts["lake_tables"] = len(store.lake_tables(folder)) if folder.is_dir() else 0
    lake_problems = [Conflict(d["code"], table=d["table"], file=d["file"], count=len(damaged)) for d in damaged]
    if as_json:
        emit_json(
            {
                "ok": not mismatches and not damaged,
                "checked": counts,
                "mismatches": [m.__dict__ for m in mismatches],
                "lake": [{**d, "message": messages.render(p)} for d, p in zip(damaged, lake_problems)],
            }
        )
    else:
        for m in mismatches:
            console.print(f"[red]mismatch[/] {m.describe()}", highlight=False)
        for p in lake_problems:
            console.print(f"[red]damaged[/] {messages.render(p)}", highlight=False)
        bad = len(mismatches) + len(damaged)
        console.print(
            ("[green]ok[/]" if not bad else f"[red]{bad} mismatch(es)[/]")
            + ": "
            + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
            + " checked"
        )
    if mismatches or damaged:
        raise typer.Exit(1)


@app.command("simulate")
def simulate(
    plan: Path = typer.Option(..., "--plan", help="Plan file."),
    events: Path = typer.Option(..., "--events", help="Event file (.csv, .jsonl, .parquet)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Expire as of this day (default: last event's day)."),
    as_json: bool = JSON,
) -> None:
    """Run a plan over events in a throwaway in-memory ledger and show what it does, per member."""
    try:
        data = run_simulation(plan, events, parse_day(as_of, "--as-of"))
    except PlanError as exc:
        plan_failed(exc, as_json)
    except EventFileError as exc:
        fail(exc, as_json)
    if as_json:
        emit_json(data)
        return
    table = Table(
        "member",
        "balance",
        "earned",
        "redeemed",
        "expired",
        "reversed",
        "lots (earned → expires: remaining)",
        title=f"simulation as of {data['as_of']}",
    )
    for member_id, m in data["members"].items():
        lots = "; ".join(f"{l['earned_on']} → {l['expires_on'] or 'never'}: {l['remaining']}" for l in m["lots"])
        table.add_row(
            member_id,
            str(m["balance"]),
            str(m["earned"]),
            str(m["redeemed"]),
            str(m["expired"]),
            str(m["reversed"]),
            lots,
        )
    console.print(table)
    totals = {
        k: sum(m[k] for m in data["members"].values()) for k in ("balance", "earned", "redeemed", "expired", "reversed")
    }
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    for r in data["rejected"]:
        console.print(
            f"[yellow]rejected[/] {r['event_id'] or '-'} (row {r.get('row', '?')}): {r['reason']}", highlight=False
        )
    if data["duplicates"]:
        console.print(f"[yellow]duplicates[/]: {', '.join(data['duplicates'])}")


@app.command("settlement")
def settlement(
    month: str = typer.Option(..., "--month", help="YYYY-MM"), db: Optional[str] = DB, as_json: bool = JSON
) -> None:
    """Monthly settlement per partner merchant: points spent there and what the operator owes, in yuan."""
    engine = open_engine(db, as_json)
    try:
        data = queries.settlement(engine, month)
    except ValueError:
        fail(Invalid("bad_settlement_month", Where(field="--month"), month=month), as_json)
    if as_json:
        emit_json(data)
        return
    table = Table("merchant", "redemptions", "points", "settle (yuan)", title=f"merchant settlement {month}")
    for m in data["merchants"]:
        table.add_row(m["merchant"], str(m["redemptions"]), str(m["points"]), m["settle_yuan"])
    console.print(table)
    console.print(f"total {data['total_points']} points, {data['total_yuan']} yuan")
