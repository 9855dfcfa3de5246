"""``weixi campaign ...``: plan, approve, run and measure campaigns (docs/campaigns.md). Thin adapters over
:mod:`weixi.campaigns.service` and :mod:`~weixi.campaigns.report`; the mechanics while a campaign runs (draws,
gifts, referrals) are in :mod:`weixi.cli.campaign_mechanics`. Every refusal exits 1 with its coded error (the
envelope under ``--json``)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from weixi.campaigns import promotion, service
from weixi.campaigns import report as reports
from weixi.campaigns.errors import CampaignFileInvalid, CampaignInvalid
from weixi.cli.app import app
from weixi.cli.ledger import DB, JSON, open_engine
from weixi.cli.output import console, emit_json, fail, parse_day

campaign_app = typer.Typer(
    help="Campaigns (保客活动): create, approve, run, draw, refer, report.", no_args_is_help=True
)
app.add_typer(campaign_app, name="campaign")

BY = typer.Option(..., "--by", help="Who does this (recorded with the time).")
AT = typer.Option(
    None,
    "--at",
    help="When it happens, ISO 8601 (default: now). For entering what happened earlier "
    "at a counter; draws still need the window and the day's box.",
)
REQUEST = typer.Option(None, "--request-id", help="Idempotency key: a retry with the same key changes nothing.")


def at_option(value: Optional[str]) -> Optional[datetime]:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time: use ISO 8601, e.g. 2026-07-03T10:00:00+08:00", param_hint="--at"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _checked_file(as_json: bool, work):
    """A create or update: a file with errors prints each, located (file:line:col), then the coded error."""
    try:
        return work()
    except CampaignFileInvalid as exc:
        if exc.diagnostics and not as_json:
            for d in exc.diagnostics:
                console.print(d.format(), highlight=False)
        fail(exc, as_json, details=[d.to_json() for d in exc.diagnostics])


def print_result(data, as_json: bool, text: str | None = None) -> None:
    if as_json:
        emit_json(data)
    else:
        console.print(
            text if text is not None else json.dumps(data, ensure_ascii=False, indent=2, default=str), highlight=False
        )


def _read(path: Path, as_json: bool) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CampaignInvalid(
            "campaign_file_unreadable", path=str(path), detail=getattr(exc, "strerror", None) or str(exc)
        ) from None


@campaign_app.command("check")
def check(
    file: Path = typer.Argument(..., help="Campaign file (kind: campaign)."),
    at: Optional[str] = typer.Option(None, "--at", help="Check as of this time, ISO 8601 (default: now)."),
    as_json: bool = JSON,
) -> None:
    """Check a campaign file as of today: everything `weixi plan check` finds, and a window already over. Prints
    each problem as file:line:col (a list of diagnostics under --json); exits 1 on any error."""
    _, diags = service.check(_read(file, as_json), str(file), at_option(at))
    if as_json:
        emit_json([d.to_json() for d in diags])
    else:
        for d in diags:
            console.print(d.format(), highlight=False)
        if not diags:
            console.print(f"{file}: ok", highlight=False)
    if any(d.is_error for d in diags):
        raise typer.Exit(1)


@campaign_app.command("create")
def create(
    file: Path = typer.Argument(..., help="Campaign file (kind: campaign)."),
    by: str = BY,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Create a draft from a checked campaign file (errors are printed with file:line:col)."""
    engine = open_engine(db, as_json)
    out = _checked_file(as_json, lambda: service.create(engine, _read(file, as_json), str(file), by))
    print_result(out, as_json, f"created {out['campaign_id']} ({out['name']}) as draft")


@campaign_app.command("update")
def update(campaign_id: str, file: Path, by: str = BY, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Replace a draft's file."""
    engine = open_engine(db, as_json)
    out = _checked_file(as_json, lambda: service.update(engine, campaign_id, _read(file, as_json), str(file), by))
    print_result(out, as_json, f"updated {campaign_id}")


@campaign_app.command("list")
def list_(db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Every campaign with its window and status (a calendar, by start date)."""
    rows = service.list_campaigns(open_engine(db, as_json))
    if as_json:
        return emit_json(rows)
    table = Table("id", "name", "from", "to", "status", "created by")
    for r in rows:
        table.add_row(r["campaign_id"], r["name"], r["from"], r["to"], r["status"], r["created_by"])
    console.print(table)


@campaign_app.command("show")
def show(campaign_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Status, lifecycle steps with who and when, audience sizes, draw commitment (seed once closed)."""
    engine = open_engine(db, as_json)
    print_result(service.summary(engine, campaign_id), as_json)


def _lifecycle(action: str, doc: str):
    def command(
        campaign_id: str,
        by: str = BY,
        note: Optional[str] = typer.Option(None, "--note"),
        at: Optional[str] = AT,
        data: Optional[Path] = typer.Option(None, "--data", help="Data directory of closes (snapshot audience)."),
        db: Optional[str] = DB,
        as_json: bool = JSON,
    ) -> None:
        engine = open_engine(db, as_json)
        out = service.act(engine, campaign_id, action, by, note, at_option(at), data)
        extra = f"; commitment {out['commitment']}" if action == "approve" and out.get("commitment") else ""
        extra += f"; seed revealed {out['seed']}" if action in ("close", "cancel") and out.get("seed") else ""
        print_result(out, as_json, f"{campaign_id}: {out['status']}{extra}")

    command.__doc__ = doc
    campaign_app.command(action)(command)


for _action, _doc in (
    ("submit", "Submit a draft for approval."),
    ("approve", "Approve (not by its creator or submitter); a lottery's seed commitment is published."),
    ("reject", "Send a submission back to draft with a reason (--note)."),
    ("start", "Start: fix the audience and control group, fill the prize box and gift stock."),
    ("close", "Close: reveal the draw seed, credit leaderboard, streak and referral rewards."),
    ("evaluate", "Evaluate: freeze the report (objectives, cost, lift, ROI)."),
    (
        "cancel",
        "Cancel a campaign not yet ended, with the reason (--note): draws, gifts and referrals stop; what was "
        "given stays given; a started draw's seed is revealed.",
    ),
):
    _lifecycle(_action, _doc)


@campaign_app.command("promote")
def promote(
    campaign_id: str,
    data: Optional[Path] = typer.Option(None, "--data", help="Member archive (phones)."),
    ops_plan: Optional[str] = typer.Option(None, "--ops-plan", help="Operations plan (contact policy)."),
    at: Optional[str] = AT,
    dry_run: bool = typer.Option(False, "--dry-run"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Queue the channels due by today through the messaging outbox, within the contact policy."""
    engine = open_engine(db, as_json)
    out = promotion.promote(engine, campaign_id, data, ops_plan, at_option(at), dry_run)
    print_result(
        out,
        as_json,
        f"{campaign_id}: {out['queued']} queued, {out['already_queued']} already queued, blocked "
        f"{out['blocked'] or 0}, {out['no_address']} without an address",
    )


@campaign_app.command("cost")
def cost(
    campaign_id: str,
    line: str,
    yuan: str,
    by: str = BY,
    note: Optional[str] = typer.Option(None, "--note"),
    day: Optional[str] = typer.Option(None, "--day"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Record an actual cost against a budget line (venue, promotion, gifts, staff, catering, operations, other)."""
    try:
        fen = Decimal(yuan) * 100
    except InvalidOperation:
        raise CampaignInvalid("campaign_cost_not_an_amount", amount=yuan) from None
    if fen != fen.to_integral_value():
        raise CampaignInvalid("campaign_cost_fractional_fen", amount=yuan)
    engine = open_engine(db, as_json)
    out = service.record_cost(engine, campaign_id, line, int(fen), by, parse_day(day, "--day"), note)
    print_result(out, as_json, f"{campaign_id}: {yuan} yuan on {line}")


@campaign_app.command("measure")
def measure(
    campaign_id: str,
    objective_id: str,
    value: str,
    by: str = BY,
    note: Optional[str] = typer.Option(None, "--note"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Record a measured value for an objective (a satisfaction survey done outside Weixi)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise CampaignInvalid("campaign_measure_not_a_number", value=value) from None
    engine = open_engine(db, as_json)
    out = service.record_measure(engine, campaign_id, objective_id, number, by, note)
    print_result(out, as_json, f"{campaign_id}: {objective_id} = {value}")


@campaign_app.command("milestone")
def milestone(
    campaign_id: str,
    milestone_id: str,
    by: str = BY,
    note: Optional[str] = typer.Option(None, "--note"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Mark a milestone of the execution plan done."""
    engine = open_engine(db, as_json)
    out = service.milestone_done(engine, campaign_id, milestone_id, by, note)
    print_result(out, as_json, f"{campaign_id}: {milestone_id} done by {by}")


@campaign_app.command("report")
def report(
    campaign_id: str,
    html: Optional[Path] = typer.Option(None, "--html", help="Write the HTML report here."),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="Write the PDF report here."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Objectives' achievement, participants, points issued/redeemed, cost vs budget, lift with a 95% interval, ROI."""
    engine = open_engine(db, as_json)
    data = reports.report(engine, campaign_id)
    if html:
        from weixi.campaigns.report_html import render

        html.write_text(render(data), encoding="utf-8")
    if pdf:
        from weixi.campaigns.report_pdf import render as render_pdf

        pdf.write_bytes(render_pdf(data))
    if as_json:
        return emit_json(data)
    console.print(
        f"[bold]{data['name']}[/] ({campaign_id}) {data['from']} – {data['to']}, {data['status']}; "
        f"participants {data['participants']}",
        highlight=False,
    )
    table = Table("objective", "target", "actual", "achievement")
    for o in data["objectives"]:
        table.add_row(o["name"], o["target"], o["actual"] or "–", o["achievement"] or "–")
    console.print(table)
    b, lift, roi = data["budget"], data["lift"], data["roi"]
    console.print(
        f"points issued {data['points']['issued']}, redeemed {data['points']['redeemed']}; cost "
        f"{b['actual_yuan']} of {b['planned_yuan']} yuan; lift {lift['difference']} {lift['unit']} "
        f"[{lift['low']}, {lift['high']}]; ROI {roi['roi']}",
        highlight=False,
    )
    for path in (html, pdf):
        if path:
            console.print(f"wrote {path}", highlight=False)


@campaign_app.command("export-draws")
def export_draws(
    campaign_id: str,
    out: Optional[Path] = typer.Option(None, "--out", "-o"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """The commitment, the seed (after close), the prize table and every draw: what anyone needs to verify."""
    engine = open_engine(db, as_json)
    doc = reports.export_draws(engine, campaign_id)
    if out:
        out.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    if as_json or not out:
        return emit_json(doc)
    console.print(f"wrote {len(doc['draws'])} draws to {out}", highlight=False)


@campaign_app.command("verify-draws")
def verify_draws(
    campaign_id: Optional[str] = typer.Argument(None, help="A campaign in this database."),
    file: Optional[Path] = typer.Option(None, "--file", help="An export from 'export-draws' instead."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Re-verify every draw: SHA-256(seed) equals the commitment and each draw replays to the recorded prize."""
    if (campaign_id is None) == (file is None):
        raise CampaignInvalid("draw_verify_needs_one_source")

    def work():
        if file is not None:
            try:
                doc = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CampaignInvalid("draw_export_unreadable", file=str(file), detail=str(exc)) from None
            return reports.verify_export(doc)
        return reports.verify_draws(open_engine(db, as_json), campaign_id)

    out = work()
    if as_json:
        emit_json(out)
    else:
        for p in out["problems"]:
            console.print(f"[red]✗[/] {p['message']}", highlight=False)
        console.print(
            f"{'ok' if out['ok'] else 'FAILED'}: {out['draws']} draws of {out['campaign_id']} against "
            f"commitment {out['commitment']}",
            highlight=False,
        )
    if not out["ok"]:
        raise typer.Exit(1)


@campaign_app.command("follow-ups")
def follow_ups(
    campaign_id: str,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write them to this CSV instead of the queue."),
    data_dir: Optional[str] = typer.Option(
        None, "--data", help="Data directory (its latest assignment gives each member's manager; $WEIXI_DATA)."
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Follow-up tasks for participants, winners, referrers or non-participants: into the operations task queue,
    each to the member's manager (running it again adds only what is new), or with --out as a CSV."""
    from weixi.adapters.archive import data_dir as resolve_data_dir

    engine = open_engine(db, as_json)
    if out is not None:
        data = reports.follow_ups(engine, campaign_id, out)
        print_result(data, as_json, f"wrote {data['tasks']} follow-up task(s) to {out}")
        return
    from weixi.users.service import audit

    data = reports.follow_up_tasks(engine, campaign_id, resolve_data_dir(data_dir))
    audit(engine, None, "campaign.follow_ups", campaign_id, {"tasks": data["new_in_queue"], "via": "cli"})
    print_result(
        data,
        as_json,
        f"{data['tasks']} follow-up task(s) in the queue ({data['new_in_queue']} new), "
        f"{data['blocked']} stopped by do-not-disturb or opt-out, {data['without_manager']} without a manager",
    )


@campaign_app.command("incident")
def incident(
    campaign_id: str,
    at: str = typer.Option(..., "--at", help="When it happened, ISO 8601 with its offset (2026-07-03T10:00+08:00)."),
    what: str = typer.Option(..., "--what", help="What happened."),
    who: str = typer.Option(..., "--who", help="Who was involved or reported it."),
    action: str = typer.Option(..., "--action", help="The action taken."),
    by: str = BY,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Add an incident to the campaign's log (the close-out): time, what happened, who, action taken."""
    from weixi.campaigns import incidents
    from weixi.users.service import audit

    engine = open_engine(db, as_json)
    out = incidents.record_incident(engine, campaign_id, at_option(at), what, who, action, by)
    audit(engine, None, "campaign.incident", campaign_id, {"id": out["id"], "what": what, "by": by, "via": "cli"})
    print_result(out, as_json, f"{campaign_id}: incident {out['id']} recorded ({out['occurred_at']})")


@campaign_app.command("risk-outcome")
def risk_outcome(
    campaign_id: str,
    risk_id: str,
    outcome: str = typer.Option(..., "--outcome", help="occurred, mitigated or did_not_occur."),
    note: Optional[str] = typer.Option(None, "--note", help="What happened, or why it did not."),
    by: str = BY,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Record what became of one risk of the campaign's risk register (the close-out's follow-up)."""
    from weixi.campaigns import incidents
    from weixi.users.service import audit

    engine = open_engine(db, as_json)
    out = incidents.record_risk_outcome(engine, campaign_id, risk_id, outcome, note, by)
    audit(engine, None, "campaign.risk_outcome", campaign_id, {"risk": risk_id, "outcome": outcome, "via": "cli"})
    print_result(out, as_json, f"{campaign_id}: risk {risk_id} {outcome}")


@campaign_app.command("close-out")
def close_out(campaign_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """The close-out: summary, incident log (time, what happened, who, action taken) and each risk's outcome."""
    engine = open_engine(db, as_json)
    out = reports.report(engine, campaign_id)["close_out"]
    if as_json:
        emit_json(out)
        return
    s = out["summary"]
    console.print(
        f"{campaign_id}: objectives met {s.get('objectives_met', '-')}/{s.get('objectives', '-')}, participants "
        f"{s.get('participants', '-')}, cost {s.get('actual_yuan', '-')} of {s.get('planned_yuan', '-')} yuan, "
        f"ROI {s.get('roi') or '-'}; follow-up tasks {s['follow_up_tasks']} ({s['follow_up_tasks_closed']} closed); "
        f"incidents {s['incidents']}; risks occurred {s['risks_occurred']}, not followed up {s['risks_not_followed_up']}",
        highlight=False,
    )
    for i in out["incidents"]:
        console.print(f"  {i['occurred_at']}  {i['what']} — {i['who']} — {i['action']}", highlight=False)
    for r in out["risks"]:
        console.print(
            f"  risk {r['id']} ({r['level']}): {r['outcome'] or 'not followed up'} {r['note'] or ''}", highlight=False
        )


@campaign_app.command("post-awards")
def post_awards(campaign_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Credit awards still pending (e.g. when no points plan was active) through the ledger."""
    engine = open_engine(db, as_json)
    out = service.post_pending_awards(engine, campaign_id)
    print_result(out, as_json, f"{out['posted']} posted, {out['refused']} refused, {out['pending']} pending")


from weixi.cli import campaign_mechanics as _mechanics  # noqa: E402,F401  (registers its commands)
