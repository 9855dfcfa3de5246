"""``weixi staff|tasks|sla|consent|care|outbox``: retention operations and messaging (docs/operations.md,
docs/messaging.md). Bad input exits with status 2, with what to fix; nothing is half-written."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Optional

import typer

from weixi.cli.app import app
from weixi.cli.ledger import open_engine
from weixi.cli.output import console, emit_json, fail, parse_day

staff_app = typer.Typer(help="Customer managers, agents and team leads (docs/operations.md).", no_args_is_help=True)
tasks_app = typer.Typer(help="Retention and care tasks: create, queue, outcome, escalate (docs/operations.md).",
                        no_args_is_help=True)
sla_app = typer.Typer(help="Service levels on the working-day calendar (docs/operations.md).", no_args_is_help=True)
consent_app = typer.Typer(help="Do-not-disturb, opt-outs and opt-ins with their source (docs/operations.md).",
                          no_args_is_help=True)
care_app = typer.Typer(help="The care calendar: birthdays, holidays, solar terms (docs/operations.md).",
                       no_args_is_help=True)
outbox_app = typer.Typer(help="The messaging outbox: send, list, retry, receipts (docs/messaging.md).",
                         no_args_is_help=True)
for _sub, _name in ((staff_app, "staff"), (tasks_app, "tasks"), (sla_app, "sla"), (consent_app, "consent"),
                    (care_app, "care"), (outbox_app, "outbox")):
    app.add_typer(_sub, name=_name)

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
DB = typer.Option(None, "--db", help="Database file or URL (default: $WEIXI_DB or ./weixi.db).")
DATA = typer.Option(None, "--data-dir", help="Data directory (default: $WEIXI_DATA or ./weixi-data).")
PLAN = typer.Option(None, "--plan", help="Operations plan (default: $WEIXI_OPS_PLAN or the packaged "
                                         "weixi/data/operations.yaml).")


def _data(value):
    from weixi.adapters.archive import data_dir

    return data_dir(value)


def _call(fn, as_json: bool):
    from weixi.messaging.service import MessagingError
    from weixi.messaging.templates import TemplateError
    from weixi.operations.calendar import CalendarError
    from weixi.operations.service import OperationsError

    try:
        return fn()
    except (OperationsError, MessagingError, CalendarError, TemplateError) as exc:
        fail(str(exc), as_json, code=2)


def _plan(path, as_json):
    from weixi.operations.service import plan_or_fail

    return _call(lambda: plan_or_fail(path), as_json)


def _out(data, as_json: bool, text) -> None:
    if as_json:
        emit_json(data)
    else:
        text(data)


def _kv(data: dict) -> None:
    for k, v in data.items():
        console.print(f"{k}: {v}", highlight=False)


def _when(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a time: use ISO 8601, e.g. 2026-10-12T10:00:00+08:00",
                                 param_hint=option) from None
    if parsed.tzinfo is None:
        from weixi.operations.service import TZ
        parsed = parsed.replace(tzinfo=TZ)
    return parsed


# -- staff ---------------------------------------------------------------------------------------------------

@staff_app.command("load")
def staff_load(roster: Path = typer.Argument(..., help="CSV/Parquet: staff_id, role, name, team, team_lead, shift, "
                                                       "active, joined_on, left_on."),
               db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Load (or update) the roster of managers, agents and team leads."""
    from weixi.operations import staff as ops_staff

    engine = open_engine(db, as_json)
    _out(_call(lambda: ops_staff.load_staff(engine, roster), as_json), as_json, _kv)


@staff_app.command("list")
def staff_list(db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """List the roster."""
    from weixi.operations import staff as ops_staff

    rows = ops_staff.staff_list(open_engine(db, as_json))
    _out(rows, as_json, lambda rs: [console.print(
        f"{r['staff_id']}\t{r['role']}\t{r['team'] or '-'}\t{r['name'] or ''}\t{'active' if r['active'] else 'left'}",
        highlight=False) for r in rs])


@staff_app.command("leave")
def staff_leave(staff_id: str, on: Optional[str] = typer.Option(None, "--on", help="Last day, YYYY-MM-DD (today)."),
                db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """A manager or agent leaves: their members and open tasks go to others at the next reassign."""
    from weixi.operations import service as ops
    from weixi.operations import staff as ops_staff

    day = parse_day(on, "--on") or ops.today()
    _out(_call(lambda: ops_staff.staff_leave(open_engine(db, as_json), staff_id, day), as_json), as_json, _kv)


@staff_app.command("team")
def staff_team(team: Optional[str] = typer.Option(None, "--team"), on: Optional[str] = typer.Option(None, "--on"),
               db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Workload per agent: open tasks, due today, overdue, done this month."""
    from weixi.operations import service as ops

    rows = ops.team_view(open_engine(db, as_json), team, parse_day(on, "--on"))
    _out(rows, as_json, lambda rs: [console.print(
        f"{r['team'] or '-'}\t{r['staff_id']}\topen {r['open']}\tdue today {r['due_today']}\toverdue {r['overdue']}\t"
        f"done {r['done_this_month']}", highlight=False) for r in rs])


# -- tasks ---------------------------------------------------------------------------------------------------

@tasks_app.command("create")
def tasks_create(month: str = typer.Option(..., "--month", help="The month, YYYY-MM (its close must exist)."),
                 date_: Optional[str] = typer.Option(None, "--date", help="Run date, YYYY-MM-DD (today)."),
                 targets: Optional[Path] = typer.Option(None, "--targets", help="Target list CSV/Parquet (member_id; "
                                                        "optional list, priority, reason, offer_id, offer_name, group). "
                                                        "Default: DATA/targets/month=M from weixi targets build."),
                 plan: Optional[str] = PLAN, data_dir: Optional[str] = DATA, db: Optional[str] = DB,
                 as_json: bool = JSON) -> None:
    """Assign the month's members to managers by the plan's ratios and create their tasks."""
    from weixi.operations import monthly_tasks

    engine = open_engine(db, as_json)
    p = _plan(plan, as_json)
    result = _call(lambda: monthly_tasks.create_month(engine, _data(data_dir), month, p, parse_day(date_, "--date"),
                                                      targets), as_json)
    _out(result, as_json, _print_create)


def _print_create(r: dict) -> None:
    console.print(f"{r['month']}: {r['tasks']['made']} tasks ({', '.join(f'{k} {v}' for k, v in r['tasks']['by_kind'].items())}),"
                  f" {r['tasks']['new_in_database']} new, {r['tasks']['reassigned_open_tasks']} open tasks reassigned",
                  highlight=False)
    for tier, by in r["assignment"]["by_tier"].items():
        console.print(f"  {tier}: " + ", ".join(f"{k} {v}" for k, v in by.items()), highlight=False)
    for tier, s in r["assignment"]["shortfall"].items():
        console.print(f"  [yellow]{tier}: {s['members']} members without a manager at {s['ratio']}: "
                      f"{s['managers_needed']} more manager(s) needed[/]", highlight=False)
    for rule, n in r["blocked"]["by_rule"].items():
        console.print(f"  blocked by {rule}: {n}", highlight=False)
    for e in r["blocked"]["examples"][:5]:
        console.print(f"    {e['task_id']}: {e['detail']}", highlight=False)
    if r["blocked"]["by_rule"]:
        console.print(f"  every blocked task: {r['blocked']['file']}", highlight=False)


@tasks_app.command("reassign")
def tasks_reassign(month: str = typer.Option(..., "--month"), date_: Optional[str] = typer.Option(None, "--date"),
                   plan: Optional[str] = PLAN, data_dir: Optional[str] = DATA, db: Optional[str] = DB,
                   as_json: bool = JSON) -> None:
    """Rerun the month's assignment (after a manager left or tiers changed); open tasks follow their members."""
    tasks_create(month=month, date_=date_, targets=None, plan=plan, data_dir=data_dir, db=db, as_json=as_json)


@tasks_app.command("add")
def tasks_add(member_id: str, kind: str = typer.Option(..., "--kind", help="retention_call, care_call, visit, sms, "
                                                                          "wechat, email."),
              due: str = typer.Option(..., "--due", help="Due date, YYYY-MM-DD."),
              assignee: Optional[str] = typer.Option(None, "--assignee"),
              reason: Optional[str] = typer.Option(None, "--reason"),
              purpose: str = typer.Option("marketing", "--purpose", help="service, care or marketing."),
              priority: int = typer.Option(0, "--priority"),
              plan: Optional[str] = PLAN, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Create one task by hand; refused when the contact policy stops it (the rule is named)."""
    from weixi.operations import service as ops

    engine = open_engine(db, as_json)
    p = _plan(plan, as_json)
    due_on = parse_day(due, "--due")
    _out(_call(lambda: ops.add_task(engine, p, member_id, kind, due_on, assignee, reason, purpose, priority), as_json),
         as_json, _kv)


@tasks_app.command("queue")
def tasks_queue(agent: str, on: Optional[str] = typer.Option(None, "--on", help="Day, YYYY-MM-DD (today)."),
                limit: int = typer.Option(50, "--limit"), db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """An agent's calls and visits, highest priority first, then by due date."""
    from weixi.operations import service as ops

    rows = ops.queue(open_engine(db, as_json), agent, parse_day(on, "--on"), limit)

    def show(rs):
        if not rs:
            console.print(f"{agent}: no open calls or visits", highlight=False)
        for r in rs:
            console.print(f"{r['task_id']}\t{r['kind']}\t{r['member_id']}\tdue {r['due_on']}\tpriority {r['priority']}"
                          f"\t{r['reason'] or ''}\t{r['offer_name'] or ''}", highlight=False)
    _out(rows, as_json, show)


@tasks_app.command("show")
def tasks_show(task_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """One task with its outcome."""
    from weixi.operations import service as ops

    _out(_call(lambda: ops.get_task(open_engine(db, as_json), task_id), as_json), as_json, _kv)


@tasks_app.command("outcome")
def tasks_outcome(task_id: str,
                  outcome: str = typer.Argument(..., help="reached, unreachable, accepted, declined, callback, left."),
                  by: str = typer.Option(..., "--by", help="The agent recording it (credited for an accepted offer)."),
                  reason: Optional[str] = typer.Option(None, "--reason", help="Churn reason code for declined."),
                  offer: Optional[str] = typer.Option(None, "--offer", help="Offer id for accepted (default: the "
                                                                           "task's recommended offer)."),
                  at: Optional[str] = typer.Option(None, "--at", help="Call-back time for callback (ISO 8601)."),
                  note: Optional[str] = typer.Option(None, "--note"),
                  number: Optional[str] = typer.Option(None, "--number", help="Order: the phone number (default: the "
                                                                             "member's)."),
                  cancels_subsidy: bool = typer.Option(False, "--cancels-unexpired-subsidy",
                                                       help="Order: the deal cancels an unexpired subsidy to redo it."),
                  plan: Optional[str] = PLAN, data_dir: Optional[str] = DATA, db: Optional[str] = DB,
                  as_json: bool = JSON) -> None:
    """Record what happened on a call or visit."""
    from weixi.operations import service as ops

    engine = open_engine(db, as_json)
    p = _plan(plan, as_json)
    order = {"cancels_unexpired_subsidy": cancels_subsidy, **({"number": number} if number else {})}
    result = _call(lambda: ops.record_outcome(engine, p, _data(data_dir), task_id, outcome, by, reason, offer, note,
                                              _when(at, "--at"), order), as_json)
    _out(result, as_json, _kv)


@tasks_app.command("escalate")
def tasks_escalate(on: Optional[str] = typer.Option(None, "--on", help="Day, YYYY-MM-DD (today)."),
                   plan: Optional[str] = PLAN, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Hand overdue open tasks to the team lead."""
    from weixi.operations import service as ops

    engine = open_engine(db, as_json)
    p = _plan(plan, as_json)
    _out(_call(lambda: ops.escalate(engine, p, parse_day(on, "--on")), as_json), as_json, _kv)


@tasks_app.command("orders")
def tasks_orders(month: str = typer.Option(..., "--month"), out: Path = typer.Option(..., "--out",
                 help="CSV in the incentive engine's order format (weixi incentives compute --orders)."),
                 db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Export the month's retention orders from accepted offers, credited to their agents."""
    from weixi.operations import orders as ops_orders

    _out(_call(lambda: ops_orders.export_orders(open_engine(db, as_json), month, out), as_json), as_json, _kv)


# -- SLA -------------------------------------------------------------------------------------------------------

@sla_app.command("report")
def sla_report(month: Optional[str] = typer.Option(None, "--month"), as_of: Optional[str] = typer.Option(
               None, "--as-of", help="Count tasks due by this day (today)."),
               plan: Optional[str] = PLAN, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """SLA compliance per team, manager and rule against the plan's target."""
    from weixi.operations import service as ops

    engine = open_engine(db, as_json)
    p = _plan(plan, as_json)
    r = _call(lambda: ops.sla_report(engine, p, month, parse_day(as_of, "--as-of")), as_json)

    def show(r):
        o = r["overall"]
        console.print(f"SLA as of {r['as_of']} (target {r['target_percent']}): {o['on_time']}/{o['due']} on time "
                      f"({_pct(o['compliance'])}), {o['late']} late, {o['open_overdue']} overdue, {o['missed']} missed",
                      highlight=False)
        for level, key in (("teams", "team"), ("managers", "staff_id"), ("rules", "sla_rule")):
            for g in r[level]:
                mark = "ok" if g["meets_target"] else "BELOW TARGET"
                console.print(f"  {key} {g[key]}: {g['on_time']}/{g['due']} ({_pct(g['compliance'])}) {mark}",
                              highlight=False)
    _out(r, as_json, show)


def _pct(value: str | None) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


# -- consents ----------------------------------------------------------------------------------------------------

@consent_app.command("record")
def consent_record(member_id: str, kind: str = typer.Argument(..., help="opt_out, dnd or opt_in."),
                   channel: str = typer.Option("all", "--channel", help="all, call, visit, sms, wechat, email."),
                   purpose: str = typer.Option("marketing", "--purpose", help="marketing, care or all."),
                   source: str = typer.Option(..., "--source", help="Where the consent came from (SMS reply TD, "
                                                                    "hotline, store form...)."),
                   at: Optional[str] = typer.Option(None, "--at", help="When the member said it (ISO 8601; now)."),
                   by: Optional[str] = typer.Option(None, "--by"), db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Record a do-not-disturb, an opt-out or an opt-in, with its source and time."""
    from weixi.operations import service as ops

    _out(_call(lambda: ops.record_consent(open_engine(db, as_json), member_id, kind, channel, purpose, source,
                                          _when(at, "--at"), by), as_json), as_json, _kv)


@consent_app.command("show")
def consent_show(member_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """A member's consent records, and which are in force."""
    from weixi.operations import service as ops
    from weixi.operations.policy import active_blocks

    recs = ops.consents(open_engine(db, as_json), member_id)
    active = set(map(id, active_blocks(recs)))
    rows = [{**r.__dict__, "recorded_at": r.recorded_at.isoformat(), "in_force": id(r) in active} for r in recs]
    _out(rows, as_json, lambda rs: [console.print(
        f"{r['recorded_at']}\t{r['kind']}\t{r['channel']}\t{r['purpose']}\t{r['source']}\t"
        f"{'in force' if r['in_force'] else ''}", highlight=False) for r in rs])


# -- care ------------------------------------------------------------------------------------------------------

@care_app.command("run")
def care_run(date_: str = typer.Option(..., "--date", help="The day, YYYY-MM-DD."),
             dry_run: bool = typer.Option(False, "--dry-run", help="Count, queue nothing."),
             plan: Optional[str] = PLAN, data_dir: Optional[str] = DATA, db: Optional[str] = DB,
             as_json: bool = JSON) -> None:
    """Queue the day's care messages (birthdays, holidays, solar terms, points expiring, due message tasks)."""
    from weixi.operations import care_run as care

    engine = open_engine(db, as_json)
    p = _plan(plan, as_json)
    day = parse_day(date_, "--date")
    _out(_call(lambda: care.run_day(engine, _data(data_dir), p, day, dry_run), as_json), as_json, _kv)


@care_app.command("calendar")
def care_calendar(month: str = typer.Option(..., "--month"), plan: Optional[str] = PLAN,
                  as_json: bool = JSON) -> None:
    """The month's working days, holidays, solar terms and lunar dates."""
    from weixi.operations import care_run as care

    p = _plan(plan, as_json)
    rows = _call(lambda: care.calendar_view(p, month), as_json)
    _out(rows, as_json, lambda rs: [console.print(
        f"{r['date']}\t{'work' if r['working_day'] else 'rest'}\t{r['lunar']}\t"
        + ", ".join(f"{o['name']} ({o['scope']})" for o in r["occasions"]), highlight=False) for r in rs])


# -- outbox ----------------------------------------------------------------------------------------------------

@outbox_app.command("send")
def outbox_send(limit: int = typer.Option(1000, "--limit"),
                sms_gateway: Optional[str] = typer.Option(None, "--sms-gateway", help="HTTP SMS gateway URL "
                                                          "($WEIXI_SMS_GATEWAY; default: the file adapter)."),
                smtp: Optional[str] = typer.Option(None, "--smtp", help="SMTP server host:port ($WEIXI_SMTP)."),
                ignore_quiet_hours: bool = typer.Option(False, "--ignore-quiet-hours",
                                                        help="Send even in the plan's quiet hours (service notices)."),
                plan: Optional[str] = PLAN, data_dir: Optional[str] = DATA, db: Optional[str] = DB,
                as_json: bool = JSON) -> None:
    """Send queued messages that are due; exit 3 when a server was unreachable (messages kept for later)."""
    from weixi.messaging import service as messaging
    from weixi.operations import policy

    engine = open_engine(db, as_json)
    p = _plan(plan, as_json)

    def quiet(at):
        b = None if ignore_quiet_hours else policy.quiet_block(p, at)
        return (b.rule, b.detail) if b else None
    r = _call(lambda: messaging.send_due(engine, _data(data_dir), limit=limit, quiet=quiet, sms_gateway=sms_gateway,
                                         smtp=smtp), as_json)
    _out(r, as_json, _kv)
    if any(not e.get("permanent") for e in r["errors"]):
        raise typer.Exit(3)


@outbox_app.command("list")
def outbox_list(status: Optional[str] = typer.Option(None, "--status"), member: Optional[str] = typer.Option(None, "--member"),
                limit: int = typer.Option(100, "--limit"), db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Messages with their delivery status."""
    from weixi.messaging import service as messaging

    rows = _call(lambda: messaging.listing(open_engine(db, as_json), status, member, limit), as_json)
    _out(rows, as_json, lambda rs: [console.print(
        f"{r['message_id']}\t{r['status']}\t{r['channel']}\t{r['recipient']}\t{r['idempotency_key']}\t"
        f"{r['last_error'] or ''}", highlight=False) for r in rs])


@outbox_app.command("retry")
def outbox_retry(message_id: int, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Queue a failed or unknown message again (check with the gateway first that it was not delivered)."""
    from weixi.messaging import service as messaging

    _out(_call(lambda: messaging.retry(open_engine(db, as_json), message_id), as_json), as_json, _kv)


@outbox_app.command("receipt")
def outbox_receipt(message_id: int, status: str = typer.Argument(..., help="delivered or undelivered."),
                   db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Record a gateway's delivery report."""
    from weixi.messaging import service as messaging

    _out(_call(lambda: messaging.receipt(open_engine(db, as_json), message_id, status), as_json), as_json, _kv)
