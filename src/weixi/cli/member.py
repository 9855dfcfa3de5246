"""``weixi member show``: member 360 (masked personal data unless revealed)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from weixi.cli.app import app
from weixi.cli.close import DATA, data_dir
from weixi.cli.ledger import DB, JSON
from weixi.cli.output import console, emit_json, fail
from weixi.errors import NotFound

member_app = typer.Typer(help="Member 360 and member lookups.", no_args_is_help=True)
app.add_typer(member_app, name="member")


@member_app.command("show")
def show(
    member: str,
    data: Optional[str] = DATA,
    db: Optional[str] = DB,
    reveal: bool = typer.Option(
        False,
        "--reveal",
        help="Show phone and ID numbers in clear (roles that need them); written to the database's audit log.",
    ),
    as_json: bool = JSON,
) -> None:
    """Profile, tier and its history, segments, points and lots expiring soon, recent activity, complaints, contract."""
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine
    from weixi.members.member360 import member_360

    if reveal:  # written to the audit log, like every view in clear (weixi.cli.reveal)
        from weixi.cli.reveal import auditor
        from weixi.members.search import show as show_audited

        engine, who = auditor(db, as_json)
        found = show_audited(engine, data_dir(data), who, member, reveal=True)
    else:
        engine = make_engine(db)
        try:
            ready = schema.current(engine) == schema.head()
        except Exception:
            ready = False
        found = member_360(engine if ready else None, data_dir(data), member)
    if found is None:
        fail(NotFound("unknown_member", member=member), as_json)
    if as_json:
        emit_json(found)
        return
    p = found["profile"] or {}
    console.print(
        f"[bold]{member}[/] {p.get('name', '')} {p.get('gender', '')} {p.get('phone', '')} {p.get('id_number', '')}",
        highlight=False,
    )
    if p:
        console.print(
            f"{p.get('city')}/{p.get('district')} · {p.get('plan_name')} ({p.get('monthly_rent_fen', 0) / 100:.2f} 元/月) · "
            f"{p.get('payment_type')} · {p.get('card_role')} · {p.get('network')} · broadband {p.get('broadband')} · "
            f"joined {p.get('join_date')} · manager {found['manager_id']}",
            highlight=False,
        )
        c = found["contract"]
        console.print(
            f"contract {c['contract_start'] or '-'} .. {c['contract_end'] or '-'}, subsidy ends {c['subsidy_end'] or '-'}",
            highlight=False,
        )
    t, s = found["tier"], found["segments"] or {}
    console.print(
        f"tier [bold]{t['current'] or '-'}[/] since {t['since'] or '-'}"
        + (f", grace until {t['grace_until']}" if t["grace_until"] else "")
        + f" · star {s.get('star_level', '-')} · value {s.get('value_grade', '-')} · {s.get('activity_grade', '-')}"
        + f" · RFM {s.get('rfm', '-')} · key account {s.get('key_account', '-')}",
        highlight=False,
    )
    for e in t["events"]:
        console.print(f"  {e['month']}: {e['event']} {e['from_tier']} → {e['to_tier']} (effective {e['effective_on']})")
    pts = found["points"]
    if pts:
        soon = ", ".join(f"{l['remaining']} on {l['expires_on']}" for l in pts["lots"] if l["expires_on"])[:200]
        console.print(
            f"points {pts['balance']} ({pts['expiring_within_90_days']} expire within 90 days){': ' + soon if soon else ''}"
        )
    if found["recent_activity"]:
        table = Table("month", "spend (元)", "recharge (元)", "touches", "last active", "points")
        for r in found["recent_activity"]:
            table.add_row(
                r["month"],
                f"{r['spend_fen'] / 100:.2f}",
                f"{r['recharge_fen'] / 100:.2f}",
                str(r["touches"]),
                str(r["last_active_on"] or "-"),
                str(r["points_earned"]),
            )
        console.print(table)
    for c in found["complaints"][:10]:
        console.print(
            f"complaint {c['complaint_id']} {c['opened_at']} {c['category']} via {c['channel']}: "
            f"{'resolved' if c['resolved'] else '[red]open[/]'}",
            highlight=False,
        )
