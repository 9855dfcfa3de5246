"""The Typer application every CLI module registers its commands on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="weixi",
    help="Weixi (维系): points ledger, plans, tiers and retention for telecom operators and membership businesses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
plan_app = typer.Typer(help="Check and apply plan files.", no_args_is_help=True)
events_app = typer.Typer(help="Post event files to the ledger.", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(events_app, name="events")
