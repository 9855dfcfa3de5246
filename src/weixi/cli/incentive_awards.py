"""``weixi incentives awards ...``: the award workflow (seed 000: nomination -> committee review -> leadership
approval -> publication; docs/incentives.md). Thin adapter over :mod:`weixi.incentives.publication`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from weixi.cli.ledger import DB, JSON, open_engine
from weixi.cli.output import console, emit_json, fail
from weixi.incentives import publication
from weixi.incentives.errors import IncentiveInvalid


def _say(text) -> None:
    console.print(text, highlight=False, markup=False)


def refusal(as_json: bool):
    from weixi.cli.incentives import refusal as refusal

    return refusal(as_json)


# --- the award workflow -------------------------------------------------------------------------

awards_app = typer.Typer(help="Award nominations: nominate -> review -> approve -> publish.", no_args_is_help=True)


@awards_app.command("nominate")
def nominate(
    staff_id: str,
    period: str = typer.Option(..., "--period"),
    award: str = typer.Option(..., "--award"),
    by: str = typer.Option(..., "--by"),
    letter: Optional[str] = typer.Option(None, "--letter", help="Nomination letter text, or @FILE."),
    form: Optional[str] = typer.Option(None, "--form", help="Nomination form as a JSON object."),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Nominate an employee for an award with a letter or a form."""
    if letter and letter.startswith("@"):
        try:
            letter = Path(letter[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            fail(IncentiveInvalid("incentive_letter_unreadable", path=letter[1:], reason=exc.strerror), as_json)
    fields = None
    if form:
        try:
            fields = json.loads(form)
        except json.JSONDecodeError as exc:
            fail(IncentiveInvalid("incentive_form_not_json", reason=exc.msg, pos=exc.pos), as_json)
        if not isinstance(fields, dict):
            fail(IncentiveInvalid("incentive_form_not_object"), as_json)
    engine = open_engine(db, as_json)
    with refusal(as_json):
        nid = publication.nominate(engine, period, staff_id, award, by, letter, fields)
    emit_json({"nomination_id": nid, "status": "nominated"}) if as_json else _say(f"nomination {nid} recorded")


def _decide(step: str):
    def command(
        nomination_id: str,
        by: str = typer.Option(..., "--by"),
        reject: bool = typer.Option(False, "--reject", help="Turn the nomination down at this step."),
        note: Optional[str] = typer.Option(None, "--note"),
        db: Optional[str] = DB,
        as_json: bool = JSON,
    ) -> None:
        engine = open_engine(db, as_json)
        with refusal(as_json):
            status = publication.decide(engine, nomination_id, step, "reject" if reject else "accept", by, note)
        emit_json({"nomination_id": nomination_id, "status": status}) if as_json else _say(f"{nomination_id}: {status}")

    return command


awards_app.command("review", help="Committee review of a nomination (accept, or --reject).")(
    _decide("committee_review")
)
awards_app.command("approve", help="Leadership approval of a reviewed nomination.")(_decide("leadership_approval"))


@awards_app.command("publish")
def publish_awards(
    period: str = typer.Option(..., "--period"),
    by: str = typer.Option(..., "--by"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Publish every approved nomination of the period."""
    engine = open_engine(db, as_json)
    with refusal(as_json):
        ids = publication.publish_awards(engine, period, by)
    emit_json({"period": period, "published": ids}) if as_json else _say(f"published {len(ids)} award(s) of {period}")


@awards_app.command("list")
def list_awards(period: str = typer.Option(..., "--period"), db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Nominations of a period with every step: who, when, what was decided."""
    engine = open_engine(db, as_json)
    rows = publication.nominations(engine, period)
    if as_json:
        emit_json({"period": period, "nominations": rows})
        return
    for n in rows:
        _say(f"{n['nomination_id']} {n['staff_id']} {n['award']}: {n['status']}")
        for s in n["steps"]:
            _say(f"  {s['step']} {s['decision']} by {s['by']} at {s['at']}{' — ' + s['note'] if s['note'] else ''}")
