"""``weixi consent|care|outbox``: consents with their source, the care calendar and its daily run, and the
messaging outbox (docs/operations.md, docs/messaging.md). Bad input exits with status 2."""

from __future__ import annotations

from typing import Optional

import typer

from weixi.cli.ledger import open_engine
from weixi.cli.ops_common import (
    DATA,
    DB,
    JSON,
    PLAN,
    call,
    care_app,
    consent_app,
    data,
    kv,
    outbox_app,
    plan_of,
    respond,
    when,
)
from weixi.cli.output import console, emit_json, fail, parse_day

# -- consents ----------------------------------------------------------------------------------------------------


@consent_app.command("record")
def consent_record(
    member_id: str,
    kind: str = typer.Argument(..., help="opt_out, dnd or opt_in."),
    channel: str = typer.Option("all", "--channel", help="all, call, visit, sms, wechat, email."),
    purpose: str = typer.Option("marketing", "--purpose", help="marketing, care or all."),
    source: str = typer.Option(
        ..., "--source", help="Where the consent came from (SMS reply TD, hotline, store form...)."
    ),
    at: Optional[str] = typer.Option(None, "--at", help="When the member said it (ISO 8601; now)."),
    by: Optional[str] = typer.Option(None, "--by"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Record a do-not-disturb, an opt-out or an opt-in, with its source and time."""
    from weixi.operations import service as ops

    engine = open_engine(db, as_json)
    respond(
        call(
            lambda: ops.record_consent(engine, member_id, kind, channel, purpose, source, when(at, "--at", engine), by),
            as_json,
        ),
        as_json,
        kv,
    )


@consent_app.command("show")
def consent_show(member_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """A member's consent records, and which are in force."""
    from weixi.operations import service as ops
    from weixi.operations.policy import active_blocks

    recs = ops.consents(open_engine(db, as_json), member_id)
    active = set(map(id, active_blocks(recs)))
    rows = [{**r.__dict__, "recorded_at": r.recorded_at.isoformat(), "in_force": id(r) in active} for r in recs]
    respond(
        rows,
        as_json,
        lambda rs: [
            console.print(
                f"{r['recorded_at']}\t{r['kind']}\t{r['channel']}\t{r['purpose']}\t{r['source']}\t"
                f"{'in force' if r['in_force'] else ''}",
                highlight=False,
            )
            for r in rs
        ],
    )


# -- care ------------------------------------------------------------------------------------------------------


@care_app.command("run")
def care_run(
    date_: str = typer.Option(..., "--date", help="The day, YYYY-MM-DD."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count, queue nothing."),
    plan: Optional[str] = PLAN,
    data_dir: Optional[str] = DATA,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Queue the day's care messages (birthdays, holidays, solar terms, points expiring, due message tasks).
    On a provisional calendar (the year's holiday notice not declared) it says so."""
    from weixi.operations import calendar
    from weixi.operations import care_run as care

    engine = open_engine(db, as_json)
    p = plan_of(plan, as_json)
    day = parse_day(date_, "--date")
    with calendar.using_data_dir(data(data_dir)):
        result = call(lambda: care.run_day(engine, data(data_dir), p, day, dry_run), as_json)
    respond(result, as_json, kv)


@care_app.command("calendar")
def care_calendar(
    month: str = typer.Option(..., "--month", help="The month, YYYY-MM."),
    plan: Optional[str] = PLAN,
    data_dir: Optional[str] = DATA,
    as_json: bool = JSON,
) -> None:
    """The month's working days, holidays, solar terms and lunar dates; a day of a year whose holiday notice is
    not declared (nor in chinese-calendar) is marked provisional."""
    from weixi.operations import calendar
    from weixi.operations import care_run as care

    p = plan_of(plan, as_json)
    with calendar.using_data_dir(data(data_dir)):
        rows = call(lambda: care.calendar_view(p, month), as_json)
    respond(rows, as_json, _print_calendar)


def _print_calendar(rows: list[dict]) -> None:
    years = sorted({r["date"][:4] for r in rows if r["provisional"]})
    for year in years:
        console.print(
            f"[yellow]{year}: provisional calendar (statutory holidays by law, no swapped working days) until the "
            f"State Council's notice is declared: weixi care declare FILE[/]",
            highlight=False,
        )
    for r in rows:
        console.print(
            f"{r['date']}\t{'work' if r['working_day'] else 'rest'}{' (provisional)' if r['provisional'] else ''}"
            f"\t{r['lunar']}\t" + ", ".join(f"{o['name']} ({o['scope']})" for o in r["occasions"]),
            highlight=False,
        )


@care_app.command("declare")
def care_declare(
    file: str = typer.Argument(..., help="The calendar file (kind: calendar) of one year's holiday notice."),
    data_dir: Optional[str] = DATA,
    as_json: bool = JSON,
) -> None:
    """Declare a year's State Council holiday notice (holidays and swapped working days) from a calendar file:
    checked like a plan (file:line:col), then kept in DATA/calendars/YEAR.yaml; it replaces the provisional
    calendar and the package's for that year."""
    from weixi.operations import calendar_file

    try:
        result, warnings = calendar_file.declare(file, data(data_dir))
    except calendar_file.CalendarFileInvalid as exc:
        if not as_json:
            for d in exc.diagnostics:
                console.print(d.format(), highlight=False)
        fail(exc, as_json, code=2)
    if as_json:
        emit_json({**result, "warnings": [d.to_json() for d in warnings]})
        return
    for d in warnings:
        console.print(d.format(), highlight=False)
    console.print(
        f"{result['year']}: declared from {file} ({result['holiday_days']} holiday days, "
        f"{len(result['working_days'])} swapped working days){' - replaces the earlier declaration' if result['replaced'] else ''}",
        highlight=False,
    )


@care_app.command("years")
def care_years(
    start: int = typer.Option(..., "--from", help="First year."),
    end: Optional[int] = typer.Option(None, "--to", help="Last year (the first)."),
    data_dir: Optional[str] = DATA,
    as_json: bool = JSON,
) -> None:
    """Where each year's working-day calendar comes from: declared (a calendar file), package (chinese-calendar)
    or provisional."""
    from weixi.operations import calendar

    with calendar.using_data_dir(data(data_dir)):
        rows = call(
            lambda: [{"year": y, "calendar": calendar.source_of(y)} for y in range(start, (end or start) + 1)], as_json
        )
    respond(rows, as_json, lambda rs: [console.print(f"{r['year']}\t{r['calendar']}", highlight=False) for r in rs])


# -- outbox ----------------------------------------------------------------------------------------------------


@outbox_app.command("send")
def outbox_send(
    limit: int = typer.Option(1000, "--limit"),
    sms_gateway: Optional[str] = typer.Option(
        None, "--sms-gateway", help="HTTP SMS gateway URL ($WEIXI_SMS_GATEWAY; default: the file adapter)."
    ),
    smtp: Optional[str] = typer.Option(None, "--smtp", help="SMTP server host:port ($WEIXI_SMTP)."),
    ignore_quiet_hours: bool = typer.Option(
        False, "--ignore-quiet-hours", help="Send even in the plan's quiet hours (service notices)."
    ),
    plan: Optional[str] = PLAN,
    data_dir: Optional[str] = DATA,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Send queued messages that are due; exit 3 when a server was unreachable (messages kept for later)."""
    from weixi.messaging import service as messaging
    from weixi.operations import policy

    engine = open_engine(db, as_json)
    p = plan_of(plan, as_json)

    def quiet(at):
        b = None if ignore_quiet_hours else policy.quiet_block(p, at)
        return (b.rule, b.detail) if b else None

    r = call(
        lambda: messaging.send_due(
            engine, data(data_dir), limit=limit, quiet=quiet, sms_gateway=sms_gateway, smtp=smtp
        ),
        as_json,
    )
    respond(r, as_json, kv)
    if any(not e.get("permanent") for e in r["errors"]):
        raise typer.Exit(3)


@outbox_app.command("list")
def outbox_list(
    status: Optional[str] = typer.Option(None, "--status"),
    member: Optional[str] = typer.Option(None, "--member"),
    limit: int = typer.Option(100, "--limit"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Messages with their delivery status."""
    from weixi.messaging import service as messaging

    rows = call(lambda: messaging.listing(open_engine(db, as_json), status, member, limit), as_json)
    respond(
        rows,
        as_json,
        lambda rs: [
            console.print(
                f"{r['message_id']}\t{r['status']}\t{r['channel']}\t{r['recipient']}\t{r['idempotency_key']}\t"
                f"{r['last_error'] or ''}",
                highlight=False,
            )
            for r in rs
        ],
    )


@outbox_app.command("retry")
def outbox_retry(message_id: int, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Queue a failed or unknown message again (check with the gateway first that it was not delivered)."""
    from weixi.messaging import service as messaging

    respond(call(lambda: messaging.retry(open_engine(db, as_json), message_id), as_json), as_json, kv)


@outbox_app.command("receipt")
def outbox_receipt(
    message_id: int,
    status: str = typer.Argument(..., help="delivered or undelivered."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Record a gateway's delivery report."""
    from weixi.messaging import service as messaging

    respond(call(lambda: messaging.receipt(open_engine(db, as_json), message_id, status), as_json), as_json, kv)
