"""``weixi incentives approvals ...``: a plan's approval chain for a month's pay (docs/incentives.md, issue 19 §6).
Thin adapter over :mod:`weixi.incentives.approvals`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from weixi.cli.ledger import DB, JSON, open_engine
from weixi.cli.output import console, emit_json
from weixi.incentives import approvals
from weixi.incentives import service as svc
from weixi.incentives.months import Month

approvals_app = typer.Typer(
    help="Approval chains of incentive plans: approve or return a month's pay, step by step.", no_args_is_help=True
)
PLAN = typer.Option(..., "--plan", help="The incentive plan file (its approval: steps).")
MONTH = typer.Option(..., "--month", help="The month of pay, YYYY-MM.")


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)


def _show(month: str, plan_id: str, state: dict) -> None:
    _say(f"{plan_id} {month}: " + ("approved by every step" if state["complete"] else f"next {state['next']['id']}"))
    for s in state["steps"]:
        a = s["approved"]
        done = f"approved by {a['by']} ({a['role']}) at {a['at']}" if a else "waiting"
        _say(f"  {s['id']} ({s['name']}; {', '.join(s['roles'])}): {done}")
    if state["returned"]:
        r = state["returned"]
        _say(f"  last returned at {r['step']} by {r['by']} ({r['role']}) at {r['at']}: {r['note']}")
    if state.get("suspended"):
        r = state["suspended"]
        _say(f"  suspended this month by {r['by']} ({r['role']}) at {r['at']}: {r['note']}")
    if state.get("deadline"):
        d = state["deadline"]
        _say(f"  the {d['period']} awards are published before {d['deadline']} (the next quarter)")


@approvals_app.command("status")
def status(plan: Path = PLAN, month: str = MONTH, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Each step of the plan's chain for the month: who approved it and when, what is next, the last return."""
    from weixi.cli.incentives import refusal

    with refusal(as_json):
        Month.parse(month)
        p = svc.load_incentive_plan(plan)
    engine = open_engine(db, as_json)
    state = approvals.state(engine, month, p)
    emit_json({"month": month, "plan": p.id, **state}) if as_json else _show(month, p.id, state)


def _decide(decision: str):
    def command(
        step: str = typer.Argument(..., help="The step id (the next one of the chain)."),
        plan: Path = PLAN,
        month: str = MONTH,
        by: str = typer.Option(..., "--by", help="Who decides (recorded with the time)."),
        role: str = typer.Option(..., "--role", help="The decider's staff role; the step must name it."),
        note: Optional[str] = typer.Option(None, "--note", help="A note; the reason, for a return."),
        db: Optional[str] = DB,
        as_json: bool = JSON,
    ) -> None:
        from weixi.cli.incentives import refusal

        with refusal(as_json):
            Month.parse(month)
            p = svc.load_incentive_plan(plan)
        engine = open_engine(db, as_json)
        with refusal(as_json):
            state = approvals.decide(engine, month, p, step, decision, by, role, note)
        emit_json({"month": month, "plan": p.id, **state}) if as_json else _show(month, p.id, state)

    return command


approvals_app.command("approve", help="Approve the next step of the plan's chain for the month.")(_decide("approve"))
approvals_app.command("return", help="Return the plan to its first step, with a reason (--note).")(_decide("return"))


def _suspension(decision: str):
    def command(
        plan: Path = PLAN,
        month: str = MONTH,
        by: str = typer.Option(..., "--by", help="Who decides (recorded with the time)."),
        role: str = typer.Option(..., "--role", help="The decider's staff role; the chain's last step must name it."),
        reason: Optional[str] = typer.Option(None, "--reason", help="Why (required to suspend)."),
        db: Optional[str] = DB,
        as_json: bool = JSON,
    ) -> None:
        from weixi.cli.incentives import refusal
        from weixi.incentives import suspensions

        with refusal(as_json):
            Month.parse(month)
            p = svc.load_incentive_plan(plan)
        engine = open_engine(db, as_json)
        with refusal(as_json):
            state = suspensions.record(engine, month, p, decision, by, role, reason)
        emit_json({"month": month, "plan": p.id, **state}) if as_json else _show(month, p.id, state)

    return command


approvals_app.command(
    "suspend", help="Suspend the plan's pay for the month, with a reason (--reason): no pay is computed from it."
)(_suspension("suspend"))
approvals_app.command("resume", help="Lift the month's recorded suspension of the plan.")(_suspension("resume"))
