"""What the operations and messaging commands share: the sub-apps, options, and running a use case with its
refusals printed as coded errors (exit status 2: bad input, nothing half-written)."""

from __future__ import annotations

from datetime import datetime

import typer

from weixi.cli.app import app
from weixi.cli.output import console, emit_json, fail

staff_app = typer.Typer(help="Customer managers, agents and team leads (docs/operations.md).", no_args_is_help=True)
tasks_app = typer.Typer(
    help="Retention and care tasks: create, queue, outcome, escalate (docs/operations.md).", no_args_is_help=True
)
sla_app = typer.Typer(help="Service levels on the working-day calendar (docs/operations.md).", no_args_is_help=True)
consent_app = typer.Typer(
    help="Do-not-disturb, opt-outs and opt-ins with their source (docs/operations.md).", no_args_is_help=True
)
care_app = typer.Typer(
    help="The care calendar: birthdays, holidays, solar terms (docs/operations.md).", no_args_is_help=True
)
outbox_app = typer.Typer(
    help="The messaging outbox: send, list, retry, receipts (docs/messaging.md).", no_args_is_help=True
)
for _sub, _name in (
    (staff_app, "staff"),
    (tasks_app, "tasks"),
    (sla_app, "sla"),
    (consent_app, "consent"),
    (care_app, "care"),
    (outbox_app, "outbox"),
):
    app.add_typer(_sub, name=_name)

JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")
DB = typer.Option(None, "--db", help="Database file or URL (default: $WEIXI_DB or ./weixi.db).")
DATA = typer.Option(None, "--data-dir", help="Data directory (default: $WEIXI_DATA or ./weixi-data).")
PLAN = typer.Option(
    None, "--plan", help="Operations plan (default: $WEIXI_OPS_PLAN or the packaged weixi/data/operations.yaml)."
)


def data(value):
    from weixi.adapters.archive import data_dir

    return data_dir(value)


def call(fn, as_json: bool):
    """``fn()``; a refusal of operations or messaging (bad input, a closed task, a template that does not render)
    prints its coded error and exits 2."""
    from weixi.messaging.service import MessagingError
    from weixi.messaging.templates import TemplateError
    from weixi.operations.calendar import CalendarError
    from weixi.operations.errors import OperationsError
    from weixi.operations.outcomes import OutcomeError

    try:
        return fn()
    except (OperationsError, MessagingError, CalendarError, TemplateError, OutcomeError) as exc:
        fail(exc, as_json, code=2)


def plan_of(path, as_json):
    from weixi.operations.service import plan_or_fail

    return call(lambda: plan_or_fail(path), as_json)


def respond(result, as_json: bool, text) -> None:
    if as_json:
        emit_json(result)
    else:
        text(result)


def kv(result: dict) -> None:
    for k, v in result.items():
        console.print(f"{k}: {v}", highlight=False)


def when(value: str | None, option: str, engine=None) -> datetime | None:
    """An ISO 8601 time; one without a zone is in the plan's timezone (read through ``engine``)."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a time: use ISO 8601, e.g. 2026-10-12T10:00:00+08:00", param_hint=option
        ) from None
    if parsed.tzinfo is None:
        from weixi.operations.clock import zone

        parsed = parsed.replace(tzinfo=zone(engine))
    return parsed
