"""A campaign's promotion through the messaging outbox, within the operations plan's contact policy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import duck
from weixi.adapters.sql import execute
from weixi.campaigns.errors import CampaignRefused
from weixi.campaigns.model import RUNNING
from weixi.campaigns.store import campaign_today, load, now_utc

# --- promotion through the messaging outbox, within the contact policy ---------------------------


def promote(
    engine: Engine,
    campaign_id: str,
    data_dir: str | Path | None = None,
    ops_plan: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> dict:
    """Queue every channel due by today (``send_on``) to its recipients through the outbox.

    Each message has the key ``campaign/<id>/<channel>/<member>`` (a rerun queues nothing new); a member stopped
    by do-not-disturb, a marketing opt-out or a frequency cap of the operations plan is counted under the rule's
    id and recorded in ``campaign_messages``, never silently dropped. Addresses come from the member archive
    (``phone`` for SMS; the archive has no e-mail column yet, so e-mail recipients count as ``no_address``)."""

    from weixi.adapters import archive
    from weixi.messaging import service as messaging
    from weixi.operations import policy
    from weixi.operations.service import consents, member_counts, plan_or_fail

    at = now or now_utc()
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        info, c = load(conn, campaign_id)
        if info["status"] != RUNNING:
            raise CampaignRefused("campaign_promote_not_running", campaign=campaign_id, campaign_status=info["status"])
        today = campaign_today(c, at)
        due = [ch for ch in c.channels if ch.send_on <= today]
        treatment = [
            r[0]
            for r in execute(
                conn,
                "SELECT member_id FROM campaign_members WHERE campaign_id = ? AND grp = 'treatment' ORDER BY member_id",
                [campaign_id],
            )
        ]
    report = {
        "campaign_id": campaign_id,
        "date": str(today),
        "dry_run": dry_run,
        "channels": [ch.id for ch in due],
        "queued": 0,
        "already_queued": 0,
        "blocked": {},
        "no_address": 0,
    }
    if not due:
        return report
    plan = plan_or_fail(ops_plan)
    data = archive.data_dir(data_dir)
    with duck.connect() as con:
        con.register("wanted", __import__("pyarrow").table({"member_id": treatment}))
        rows = con.execute(
            f"SELECT m.member_id, m.name, m.phone FROM ({archive.scan_sql(data, 'members')}) m "
            f"JOIN wanted w ON w.member_id = m.member_id"
        ).fetchall()
    people = {r[0]: (r[1] or "", r[2]) for r in rows}
    records: dict[str, list] = {}
    for record in consents(engine):  # read before the write transaction (SQLite has one writer)
        records.setdefault(record.member_id, []).append(record)
    with engine.begin() as conn:
        participants = None
        for ch in due:
            if ch.to == "participants" and participants is None:
                from weixi.campaigns.measures import participant_ids  # both ledger stores (issue 21)

                participants = set(participant_ids(conn, c))
            for member in treatment:
                if ch.to == "participants" and member not in participants:
                    continue
                name, phone = people.get(member, ("", None))
                key = f"campaign/{campaign_id}/{ch.id}/{member}"
                recipient = phone if ch.channel == "sms" else None
                status, reason = "queued", None
                if not recipient:
                    report["no_address"] += 1
                    status, reason = "suppressed", "no_address"
                else:
                    block = policy.consent_block(records.get(member, []), ch.channel, "marketing") or policy.cap_block(
                        plan, ch.channel, "marketing", today, member_counts(conn, plan, member, today)
                    )
                    if block is not None and not execute(
                        conn, "SELECT 1 FROM msg_outbox WHERE idempotency_key = ?", [key]
                    ):
                        report["blocked"][block.rule] = report["blocked"].get(block.rule, 0) + 1
                        status, reason = "suppressed", f"{block.rule}: {block.detail}"
                outbox_id = None
                if status == "queued" and not dry_run:
                    body = ch.template.replace("{name}", name).replace("{campaign}", c.name)
                    outbox_id, created = messaging.enqueue(
                        conn,
                        key,
                        ch.channel,
                        recipient,
                        body,
                        purpose="marketing",
                        member_id=member,
                        source=key,
                        campaign=campaign_id,
                        template_id=ch.id,
                        at=at,
                    )
                    report["queued" if created else "already_queued"] += 1
                    if created:
                        execute(
                            conn,
                            "INSERT INTO ops_contacts (member_id, channel, purpose, source, campaign, at) "
                            "VALUES (?, ?, 'marketing', ?, ?, ?) ON CONFLICT (source, channel) DO NOTHING",
                            [member, ch.channel, key, campaign_id, at],
                        )
                elif status == "queued":
                    report["queued"] += 1
                if not dry_run:
                    execute(
                        conn,
                        "DELETE FROM campaign_messages WHERE campaign_id = ? AND channel_id = ? AND member_id = ?",
                        [campaign_id, ch.id, member],
                    )
                    execute(
                        conn,
                        "INSERT INTO campaign_messages (campaign_id, channel_id, member_id, status, reason, "
                        "outbox_id, at) VALUES (?,?,?,?,?,?,?)",
                        [campaign_id, ch.id, member, status, reason, outbox_id, at],
                    )
    return report
