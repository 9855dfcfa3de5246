"""``weixi staff|tasks|sla``: retention operations (docs/operations.md); ``consent``, ``care`` and ``outbox`` are
:mod:`weixi.cli.care_outbox`. Bad input exits with status 2, with what to fix; nothing is half-written."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from weixi.cli import care_outbox as _care_outbox  # noqa: F401  (registers consent, care, outbox)
from weixi.cli.ledger import open_engine
from weixi.cli.ops_common import (
    DATA,
    DB,
    JSON,
    PLAN,
    call,
    data,
    kv,
    plan_of,
    respond,
    sla_app,
    staff_app,
    tasks_app,
    when,
)
from weixi.cli.output import console, parse_day

# -- staff ---------------------------------------------------------------------------------------------------


@staff_app.command("load")
def staff_load(
    roster: Path = typer.Argument(
        ..., help="CSV/Parquet: staff_id, role, name, team, team_lead, shift, active, joined_on, left_on."
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Load (or update) the roster of managers, agents and team leads."""
    from weixi.operations import staff as ops_staff

    engine = open_engine(db, as_json)
    respond(call(lambda: ops_staff.load_staff(engine, roster), as_json), as_json, kv)


@staff_app.command("list")
def staff_list(db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """List the roster."""
    from weixi.operations import staff as ops_staff

    rows = ops_staff.staff_list(open_engine(db, as_json))
    respond(
        rows,
        as_json,
        lambda rs: [
            console.print(
                f"{r['staff_id']}\t{r['role']}\t{r['team'] or '-'}\t{r['name'] or ''}\t{'active' if r['active'] else 'left'}",
                highlight=False,
            )
            for r in rs
        ],
    )


@staff_app.command("leave")
def staff_leave(
    staff_id: str,
    on: Optional[str] = typer.Option(None, "--on", help="Last day, YYYY-MM-DD (today)."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """A manager or agent leaves: their members and open tasks go to others at the next reassign."""
    from weixi.operations import service as ops
    from weixi.operations import staff as ops_staff

    engine = open_engine(db, as_json)
    day = parse_day(on, "--on") or ops.today(engine)
    respond(call(lambda: ops_staff.staff_leave(engine, staff_id, day), as_json), as_json, kv)


@staff_app.command("team")
def staff_team(
    team: Optional[str] = typer.Option(None, "--team"),
    on: Optional[str] = typer.Option(None, "--on"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Workload per agent: open tasks, due today, overdue, done this month."""
    from weixi.operations import sla

    rows = sla.team_view(open_engine(db, as_json), team, parse_day(on, "--on"))
    respond(
        rows,
        as_json,
        lambda rs: [
            console.print(
                f"{r['team'] or '-'}\t{r['staff_id']}\topen {r['open']}\tdue today {r['due_today']}\toverdue {r['overdue']}\t"
                f"done {r['done_this_month']}",
                highlight=False,
            )
            for r in rs
        ],
    )


# -- tasks ---------------------------------------------------------------------------------------------------


@tasks_app.command("create")
def tasks_create(
    month: str = typer.Option(..., "--month", help="The month, YYYY-MM (its close must exist)."),
    date_: Optional[str] = typer.Option(None, "--date", help="Run date, YYYY-MM-DD (today)."),
    targets: Optional[Path] = typer.Option(
        None,
        "--targets",
        help="Target list CSV/Parquet (member_id; "
        "optional list, priority, reason, offer_id, offer_name, group). "
        "Default: DATA/targets/month=M from weixi targets build.",
    ),
    introductions: Optional[Path] = typer.Option(
        None,
        "--introductions",
        help="CSV/Parquet: member_id, staff_id, introduced_at — who introduced a member first keeps them "
        "(plan: assignment.share_out.introduced_first).",
    ),
    lots_seed: Optional[str] = typer.Option(
        None, "--lots-seed", help="The seed of the lot drawn (plan: assignment.share_out.lots); default PLAN/MONTH."
    ),
    plan: Optional[str] = PLAN,
    data_dir: Optional[str] = DATA,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Assign the month's members to managers by the plan's ratios and create their tasks. With --date D the work
    is stamped at D (created, bound, due dates), as if run that day; a provisional calendar is said so. A lot drawn
    or introductions used are written to the audit log with the seed."""
    from weixi.operations import calendar, monthly_tasks
    from weixi.users import service as users

    engine = open_engine(db, as_json)
    p = plan_of(plan, as_json)
    with calendar.using_data_dir(data(data_dir)):
        result = call(
            lambda: monthly_tasks.create_month(
                engine, data(data_dir), month, p, parse_day(date_, "--date"), targets, introductions, lots_seed
            ),
            as_json,
        )
    shared = result["assignment"].get("share_out")
    if shared:
        users.audit(engine, None, "operations.share_out", month, {**shared, "plan": p.id, "via": "cli"})
    respond(result, as_json, _print_create)


def _print_create(r: dict) -> None:
    for year in sorted(y for y, source in r.get("calendar", {}).items() if source == "provisional"):
        console.print(
            f"[yellow]{year}: due dates on a provisional calendar (the holiday notice is not declared: "
            "weixi care declare FILE)[/]",
            highlight=False,
        )
    console.print(
        f"{r['month']}: {r['tasks']['made']} tasks ({', '.join(f'{k} {v}' for k, v in r['tasks']['by_kind'].items())}),"
        f" {r['tasks']['new_in_database']} new, {r['tasks']['reassigned_open_tasks']} open tasks reassigned",
        highlight=False,
    )
    for tier, by in r["assignment"]["by_tier"].items():
        console.print(f"  {tier}: " + ", ".join(f"{k} {v}" for k, v in by.items()), highlight=False)
    shared = r["assignment"].get("share_out")
    if shared:
        lot = f"drawn by lot (seed {shared['lots_seed']}): {shared['drawn']}" if shared["lots_seed"] else ""
        console.print(f"  introduced first: {shared['introduced']}; {lot}".rstrip("; "), highlight=False)
    for tier, s in r["assignment"]["shortfall"].items():
        console.print(
            f"  [yellow]{tier}: {s['members']} members without a manager at {s['ratio']}: "
            f"{s['managers_needed']} more manager(s) needed[/]",
            highlight=False,
        )
    for rule, n in r["blocked"]["by_rule"].items():
        console.print(f"  blocked by {rule}: {n}", highlight=False)
    for e in r["blocked"]["examples"][:5]:
        console.print(f"    {e['task_id']}: {e['detail']}", highlight=False)
    if r["blocked"]["by_rule"]:
        console.print(f"  every blocked task: {r['blocked']['file']}", highlight=False)


@tasks_app.command("reassign")
def tasks_reassign(
    month: str = typer.Option(..., "--month"),
    date_: Optional[str] = typer.Option(None, "--date"),
    plan: Optional[str] = PLAN,
    data_dir: Optional[str] = DATA,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Rerun the month's assignment (after a manager left or tiers changed); open tasks follow their members."""
    tasks_create(month=month, date_=date_, targets=None, plan=plan, data_dir=data_dir, db=db, as_json=as_json)


@tasks_app.command("add")
def tasks_add(
    member_id: str,
    kind: str = typer.Option(..., "--kind", help="retention_call, care_call, visit, sms, wechat, email."),
    due: str = typer.Option(..., "--due", help="Due date, YYYY-MM-DD."),
    assignee: Optional[str] = typer.Option(None, "--assignee"),
    reason: Optional[str] = typer.Option(None, "--reason"),
    purpose: str = typer.Option("marketing", "--purpose", help="service, care or marketing."),
    priority: int = typer.Option(0, "--priority"),
    plan: Optional[str] = PLAN,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Create one task by hand; refused when the contact policy stops it (the rule is named)."""
    from weixi.operations import service as ops

    engine = open_engine(db, as_json)
    p = plan_of(plan, as_json)
    due_on = parse_day(due, "--due")
    respond(
        call(lambda: ops.add_task(engine, p, member_id, kind, due_on, assignee, reason, purpose, priority), as_json),
        as_json,
        kv,
    )


@tasks_app.command("queue")
def tasks_queue(
    agent: str,
    on: Optional[str] = typer.Option(None, "--on", help="Day, YYYY-MM-DD (today)."),
    limit: int = typer.Option(50, "--limit"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """An agent's calls and visits: past their SLA due date first, then by due date, then priority."""
    from weixi.operations import service as ops

    rows = ops.queue(open_engine(db, as_json), agent, parse_day(on, "--on"), limit)

    def show(rs):
        if not rs:
            console.print(f"{agent}: no open calls or visits", highlight=False)
        for r in rs:
            console.print(
                f"{r['task_id']}\t{r['kind']}\t{r['member_id']}\tdue {r['due_on']}\tpriority {r['priority']}"
                f"\t{r['reason'] or ''}\t{r['offer_name'] or ''}",
                highlight=False,
            )

    respond(rows, as_json, show)


@tasks_app.command("show")
def tasks_show(task_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """One task with its outcome."""
    from weixi.operations import service as ops

    respond(call(lambda: ops.get_task(open_engine(db, as_json), task_id), as_json), as_json, kv)


@tasks_app.command("outcome")
def tasks_outcome(
    task_id: str,
    outcome: str = typer.Argument(..., help="reached, unreachable, accepted, declined, callback, left."),
    by: str = typer.Option(..., "--by", help="The agent recording it (credited for an accepted offer)."),
    reason: Optional[str] = typer.Option(None, "--reason", help="Churn reason code for declined."),
    offer: Optional[str] = typer.Option(
        None, "--offer", help="Offer id for accepted (default: the task's recommended offer)."
    ),
    at: Optional[str] = typer.Option(None, "--at", help="Call-back time for callback (ISO 8601)."),
    note: Optional[str] = typer.Option(None, "--note"),
    number: Optional[str] = typer.Option(None, "--number", help="Order: the phone number (default: the member's)."),
    cancels_subsidy: bool = typer.Option(
        False, "--cancels-unexpired-subsidy", help="Order: the deal cancels an unexpired subsidy to redo it."
    ),
    plan: Optional[str] = PLAN,
    data_dir: Optional[str] = DATA,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Record what happened on a call or visit."""
    from weixi.operations import task_outcomes

    engine = open_engine(db, as_json)
    p = plan_of(plan, as_json)
    order = {"cancels_unexpired_subsidy": cancels_subsidy, **({"number": number} if number else {})}
    result = call(
        lambda: task_outcomes.record_outcome(
            engine, p, data(data_dir), task_id, outcome, by, reason, offer, note, when(at, "--at", engine), order
        ),
        as_json,
    )
    respond(result, as_json, kv)


@tasks_app.command("escalate")
def tasks_escalate(
    on: Optional[str] = typer.Option(None, "--on", help="Day, YYYY-MM-DD (today)."),
    plan: Optional[str] = PLAN,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Hand overdue open tasks to the team lead."""
    from weixi.operations import sla

    engine = open_engine(db, as_json)
    p = plan_of(plan, as_json)
    respond(call(lambda: sla.escalate(engine, p, parse_day(on, "--on")), as_json), as_json, kv)


@tasks_app.command("orders")
def tasks_orders(
    month: str = typer.Option(..., "--month"),
    out: Path = typer.Option(
        ..., "--out", help="CSV in the incentive engine's order format (weixi incentives compute --orders)."
    ),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Export the month's retention orders from accepted offers, credited to their agents."""
    from weixi.operations import orders as ops_orders

    respond(call(lambda: ops_orders.export_orders(open_engine(db, as_json), month, out), as_json), as_json, kv)


# -- SLA -------------------------------------------------------------------------------------------------------


@sla_app.command("report")
def sla_report(
    month: Optional[str] = typer.Option(None, "--month"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Count tasks due by this day (today)."),
    plan: Optional[str] = PLAN,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """SLA compliance per team, manager and rule against the plan's target."""
    from weixi.operations import sla

    engine = open_engine(db, as_json)
    p = plan_of(plan, as_json)
    r = call(lambda: sla.sla_report(engine, p, month, parse_day(as_of, "--as-of")), as_json)

    def show(r):
        o = r["overall"]
        console.print(
            f"SLA as of {r['as_of']} (target {r['target_percent']}): {o['on_time']}/{o['due']} on time "
            f"({_pct(o['compliance'])}), {o['late']} late, {o['open_overdue']} overdue, {o['missed']} missed",
            highlight=False,
        )
        for level, key in (("teams", "team"), ("managers", "staff_id"), ("rules", "sla_rule")):
            for g in r[level]:
                mark = "ok" if g["meets_target"] else "BELOW TARGET"
                console.print(
                    f"  {key} {g[key]}: {g['on_time']}/{g['due']} ({_pct(g['compliance'])}) {mark}", highlight=False
                )

    respond(r, as_json, show)


def _pct(value: str | None) -> str:
    return "-" if value is None else f"{float(value) * 100:.1f}%"


# -- survey (调研) ---------------------------------------------------------------------------------------------

survey_app = typer.Typer(help="Questionnaires (调研): create, send, answer, satisfaction (docs/operations.md).")


@survey_app.command("create")
def survey_create(
    file: Path = typer.Argument(..., help="Survey file (kind: survey)."),
    by: str = typer.Option("cli", "--by", help="Who creates it."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Keep a checked survey (the same id with other content is refused)."""
    from weixi.operations import surveys
    from weixi.users.service import audit

    engine = open_engine(db, as_json)
    out = call(lambda: surveys.save_survey(engine, file.read_text(encoding="utf-8"), str(file), by), as_json)
    audit(engine, None, "survey.create", out["survey_id"], {"file": str(file), "by": by, "via": "cli"})
    respond(out, as_json, lambda r: console.print(f"{r['survey_id']}: {r['questions']} question(s)", highlight=False))


@survey_app.command("send")
def survey_send(
    survey_id: str,
    date_: Optional[str] = typer.Option(None, "--date", help="Day of the invitation, YYYY-MM-DD (today)."),
    data_dir: Optional[str] = DATA,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Queue the invitation through the outbox for the survey's audience, once per member, within consents."""
    from weixi.operations import surveys
    from weixi.operations.clock import today
    from weixi.users.service import audit

    engine = open_engine(db, as_json)
    day = parse_day(date_, "--date") or today(engine)
    out = call(lambda: surveys.send_survey(engine, data(data_dir), survey_id, day), as_json)
    audit(engine, None, "survey.send", survey_id, {**{k: v for k, v in out.items() if k != "survey_id"}, "via": "cli"})
    respond(out, as_json, kv)


@survey_app.command("answer")
def survey_answer(
    survey_id: str,
    member_id: str,
    answers: list[str] = typer.Argument(..., help="QUESTION=VALUE pairs (a score, an option or text)."),
    by: str = typer.Option("cli", "--by", help="Who records them."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Record a member's answers (a paper form, a call); a complete questionnaire earns the survey points once."""
    from weixi.operations import surveys
    from weixi.users.service import audit

    engine = open_engine(db, as_json)
    pairs = dict(a.split("=", 1) for a in answers if "=" in a)
    out = call(lambda: surveys.record_answers(engine, survey_id, member_id, pairs, by), as_json)
    audit(engine, None, "survey.answer", survey_id, {"member": member_id, "by": by, "via": "cli"})
    respond(out, as_json, kv)


@survey_app.command("satisfaction")
def survey_satisfaction(
    survey_id: str,
    month: Optional[str] = typer.Option(None, "--month", help="Per customer manager of this month's assignment."),
    data_dir: Optional[str] = DATA,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Responses, average score, share satisfied and the distribution (per manager with --month)."""
    from weixi.operations import surveys

    engine = open_engine(db, as_json)
    out = call(lambda: surveys.satisfaction(engine, survey_id, data(data_dir), month), as_json)
    respond(out, as_json, lambda r: kv({k: v for k, v in r.items() if k != "by_manager"}))


def _register_survey() -> None:
    from weixi.cli.app import app

    app.add_typer(survey_app, name="survey")


_register_survey()
