"""``weixi campaign ...`` for the mechanics while a campaign runs: draws, chances, prize and gift stock, gifts on
visits, referral codes, referrals and their review, the leaderboard (docs/campaigns.md). Thin adapters over
:mod:`weixi.campaigns.lottery_service`, :mod:`~weixi.campaigns.gifts`, :mod:`~weixi.campaigns.referral_service`
and :mod:`~weixi.campaigns.report`; a refusal exits 1 with its coded error (the envelope under ``--json``)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from weixi.campaigns import gifts, lottery_service
from weixi.campaigns import referral_service as referrals
from weixi.campaigns import report as reports
from weixi.cli.campaigns import AT, BY, REQUEST, at_option, campaign_app, print_result
from weixi.cli.ledger import DB, JSON, open_engine
from weixi.cli.output import console, emit_json, parse_day


@campaign_app.command("draw")
def draw(
    campaign_id: str,
    member_id: str,
    request_id: Optional[str] = REQUEST,
    at: Optional[str] = AT,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Draw once from today's box. Refused with a reason: unknown member, no chances, outside the window, no stock."""
    engine = open_engine(db, as_json)
    out = lottery_service.draw(engine, campaign_id, member_id, at_option(at), request_id)
    print_result(
        out,
        as_json,
        f"draw {out['seq']}: {member_id} — {out['prize']} (ticket {out['ticket']} of {out['tickets']});"
        f" {out['chances_left']} chance(s) left",
    )


@campaign_app.command("chances")
def chances(campaign_id: str, member_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """A member's chances: granted, from spend, bought; used and left."""
    engine = open_engine(db, as_json)
    out = lottery_service.chances(engine, campaign_id, member_id)
    print_result(out, as_json, f"{member_id}: {out['explain']}; {out['left']} left")


@campaign_app.command("buy-chances")
def buy_chances(
    campaign_id: str,
    member_id: str,
    n: int = typer.Option(1, "--n", min=1),
    request_id: Optional[str] = REQUEST,
    at: Optional[str] = AT,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Buy chances with points (the ledger takes the points first)."""
    engine = open_engine(db, as_json)
    out = lottery_service.buy_chances(engine, campaign_id, member_id, n, request_id, at_option(at))
    print_result(out, as_json, f"{member_id}: bought {n} for {out['points']} points; {out['left']} left")


@campaign_app.command("stock")
def stock(
    campaign_id: str, day: Optional[str] = typer.Option(None, "--day"), db: Optional[str] = DB, as_json: bool = JSON
) -> None:
    """Prize box per day and gift stock ('*'): quantity, issued, left."""
    engine = open_engine(db, as_json)
    rows = lottery_service.stock(engine, campaign_id, parse_day(day, "--day"))
    if as_json:
        return emit_json(rows)
    table = Table("day", "item", "quantity", "issued", "left")
    for r in rows:
        table.add_row(r["day"], r["item"], str(r["quantity"]), str(r["issued"]), str(r["left"]))
    console.print(table)


@campaign_app.command("gift")
def gift(
    campaign_id: str,
    member_id: str,
    gift_id: str,
    qty: int = typer.Option(1, "--qty", min=1),
    by: str = BY,
    request_id: Optional[str] = REQUEST,
    at: Optional[str] = AT,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Hand out a gift on a visit: from its stock, within its per-member limit."""
    engine = open_engine(db, as_json)
    out = gifts.claim_gift(engine, campaign_id, member_id, gift_id, qty, by, at_option(at), request_id)
    print_result(out, as_json, f"{member_id}: {qty} x {gift_id}")


@campaign_app.command("referral-code")
def referral_code(
    campaign_id: str,
    member_id: str,
    phone: Optional[str] = typer.Option(None, "--phone"),
    id_number: Optional[str] = typer.Option(None, "--id-number"),
    device: Optional[str] = typer.Option(None, "--device"),
    at: Optional[str] = AT,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """A member's referral code and link (identifiers given are kept as fingerprints for fraud checks). The first
    time records the day it was issued: only members who join on or after it can be referred with it."""
    engine = open_engine(db, as_json)
    out = referrals.code(engine, campaign_id, member_id, phone, id_number, device, at_option(at))
    print_result(out, as_json, f"{out['code']}  {out['link']}")


@campaign_app.command("refer")
def refer(
    campaign_id: str,
    code: str,
    referee_id: str,
    phone: Optional[str] = typer.Option(None, "--phone"),
    id_number: Optional[str] = typer.Option(None, "--id-number"),
    device: Optional[str] = typer.Option(None, "--device"),
    at: Optional[str] = AT,
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Attribute a new member to a referral code; flagged referrals go to the review queue."""
    engine = open_engine(db, as_json)
    out = referrals.refer(engine, campaign_id, code, referee_id, phone, id_number, device, at_option(at))
    flags = f" — flagged: {'; '.join(out['flags'])}" if out["flags"] else ""
    print_result(out, as_json, f"{referee_id} referred by {out['referrer_id']}: {out['status']}{flags}")


@campaign_app.command("referrals")
def referrals_(
    campaign_id: str,
    status: Optional[str] = typer.Option(None, "--status", help="pending|review|approved|rejected|rewarded"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Referrals and the review queue (--status review)."""
    engine = open_engine(db, as_json)
    rows = referrals.queue(engine, campaign_id, status)
    if as_json:
        return emit_json(rows)
    table = Table("referee", "referrer", "status", "flags", "reviewed by")
    for r in rows:
        table.add_row(r["referee_id"], r["referrer_id"], r["status"], "; ".join(r["flags"]), r["reviewed_by"] or "")
    console.print(table)


@campaign_app.command("review")
def review(
    campaign_id: str,
    referee_id: str,
    approve: bool = typer.Option(..., "--approve/--reject", help="Decide a flagged referral."),
    by: str = BY,
    note: Optional[str] = typer.Option(None, "--note"),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Approve or reject a referral in the review queue."""
    engine = open_engine(db, as_json)
    out = referrals.review(engine, campaign_id, referee_id, approve, by, note)
    print_result(out, as_json, f"{referee_id}: {out['status']}")


@campaign_app.command("settle-referrals")
def settle_referrals(campaign_id: str, db: Optional[str] = DB, as_json: bool = JSON) -> None:
    """Reward referrals whose referee has registered (and paid, when required) and that passed checks or review."""
    engine = open_engine(db, as_json)
    out = referrals.settle(engine, campaign_id)
    print_result(out, as_json, f"{out['rewarded']} referral(s) rewarded, {out['posted']} award(s) posted")


@campaign_app.command("leaderboard")
def leaderboard(
    campaign_id: str,
    top: Optional[int] = typer.Option(None, "--top", min=1),
    db: Optional[str] = DB,
    as_json: bool = JSON,
) -> None:
    """Points earned in the window by the audience, ranked (ties share a rank), with each rank's reward."""
    engine = open_engine(db, as_json)
    out = reports.leaderboard(engine, campaign_id, top)
    if as_json:
        return emit_json(out)
    table = Table("rank", "member", "points", "reward")
    for r in out["rows"]:
        table.add_row(str(r["rank"]), r["member_id"], str(r["points"]), str(r["reward"] or ""))
    console.print(table)
