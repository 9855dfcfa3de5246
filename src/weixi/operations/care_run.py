"""The care run of one day: birthday greetings and gifts (:mod:`weixi.operations.birthdays`), holidays, solar
terms, points expiring soon and the message tasks that are due, rendered from the plan's templates into the
outbox, each checked against the contact policy.

Every message has an idempotency key (``care/<date>/<occasion>/<member>``, ``task/<task id>``), so running the
same day twice queues nothing new. A template naming an unknown field stops the run before anything is queued.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import archive, duck
from weixi.adapters.duck import lit
from weixi.adapters.sql import as_date, execute
from weixi.close import store as close_store
from weixi.ledger import fold
from weixi.messaging import service as messaging
from weixi.messaging.templates import Compiled, TemplateError
from weixi.operations import birthdays, calendar, care, policy
from weixi.operations.clock import zone
from weixi.operations.errors import OperationsError
from weixi.operations.plan import OperationsPlan
from weixi.operations.service import consents, member_counts, save_run

MEMBER_COLUMNS = (
    "member_id",
    "name",
    "gender",
    "birthday",
    "lunar_birthday",
    "phone",
    "wechat",
    "city",
    "district",
    "plan_name",
)
SEND_AT = time(9, 0)  # care messages are stamped 09:00 of their day


def _snapshot(data_dir: Path, day: date) -> str | None:
    """``read_parquet([...])`` of the latest close snapshot's files up to ``day``'s month (None before a close)."""
    found = [m for m in close_store.months(data_dir, "snapshots") if m <= day.strftime("%Y-%m")]
    return close_store.source(data_dir, "snapshots", found[-1]) if found else None


def _members_sql(data_dir: Path, snap: str | None) -> str:
    members = archive.scan_sql(data_dir, "members")
    cols = ", ".join(f"m.{c}" for c in MEMBER_COLUMNS)
    if snap is None:
        return (
            f"SELECT {cols}, NULL AS tier, NULL AS star_level, NULL AS points_balance, m.manager_id, "
            f"'active' AS status FROM ({members}) m"
        )
    return (
        f"SELECT {cols}, s.tier, s.star_level, s.points_balance, coalesce(s.manager_id, m.manager_id) AS manager_id,"
        f" s.status FROM ({members}) m JOIN {snap} s ON s.member_id = m.member_id"
    )


def _context(row: dict, staff_names: dict, tier_names: dict) -> dict:
    gender = row.get("gender")
    name = row.get("name") or ""
    member = {
        k: ("" if row.get(k) is None else row.get(k))
        for k in (
            "member_id",
            "name",
            "gender",
            "birthday",
            "lunar_birthday",
            "city",
            "district",
            "plan_name",
            "tier",
            "star_level",
            "points_balance",
            "manager_id",
        )
    }
    member.update(
        surname=name[:1],
        title={"M": "先生", "F": "女士"}.get(gender, ""),
        tier_name=tier_names.get(row.get("tier"), row.get("tier") or ""),
        manager_name=staff_names.get(row.get("manager_id"), row.get("manager_id") or ""),
    )
    return {"member": member}


TIER_NAMES = {"standard": "普通会员", "silver": "银卡会员", "gold": "金卡会员", "diamond": "钻石会员"}


def run_day(engine: Engine, data_dir: Path, plan: OperationsPlan, day: date, dry_run: bool = False) -> dict:
    """Queue the day's care messages; returns counts per occasion, what the policy blocked (with the rule),
    and members skipped for want of an address."""
    data_dir = Path(data_dir)
    note = calendar.calendar_note(day, day)  # fails loudly for a year no calendar covers
    compiled = {}
    for tid, tpl in plan.templates.items():
        try:
            compiled[tid] = Compiled(tpl)
        except TemplateError as exc:
            raise _template_failed(plan, exc) from None
    at = datetime.combine(day, SEND_AT, zone(engine))
    con = duck.connect()
    con.execute(f"CREATE TEMP TABLE care_members AS {_members_sql(data_dir, _snapshot(data_dir, day))}")
    _corrected_birthdays(engine, con)
    fields = [d[0] for d in con.execute("SELECT * FROM care_members LIMIT 0").description]
    picks = _picks(engine, con, fields, plan, day)
    report = {
        "date": day.isoformat(),
        **note,
        "dry_run": dry_run,
        "queued": 0,
        "already_queued": 0,
        "by_occasion": {},
        "blocked": {},
        "blocked_examples": [],
        "no_address": 0,
        "errors": [],
    }
    rendered = _render(engine, plan, compiled, picks, day, report)
    _queue(engine, plan, rendered, day, at, dry_run, report)
    report["birthdays"] = birthdays.birthday_gifts(engine, con, plan, day, at, dry_run)
    if not dry_run:
        save_run(engine, "care_run", day.isoformat(), report)
    return report


def _corrected_birthdays(engine: Engine, con) -> None:
    """Lay the latest birthday corrections staff recorded (``member_archive_edits``, :mod:`weixi.members.archive`)
    over the archive's rows: seed 002, "客户经理需在关怀过程中对生日日期错误得客户重新进行资料录入" — the corrected
    birthday is the one greeted and gifted from then on."""
    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT e.member_id, e.field, e.new_value FROM member_archive_edits e "
            "WHERE e.field IN ('birthday', 'lunar_birthday') AND e.id = (SELECT max(x.id) FROM member_archive_edits x "
            "WHERE x.member_id = e.member_id AND x.field = e.field)",
        )
    if not rows:
        return
    import pyarrow as pa

    fixes = pa.table(
        {"member_id": [r[0] for r in rows], "field": [r[1] for r in rows], "value": [r[2] for r in rows]},
        schema=pa.schema([("member_id", pa.string()), ("field", pa.string()), ("value", pa.string())]),
    )
    con.register("care_fixes", fixes)
    con.execute(
        "UPDATE care_members SET birthday = TRY_CAST(f.value AS DATE) FROM care_fixes f "
        "WHERE f.member_id = care_members.member_id AND f.field = 'birthday'"
    )
    con.execute(
        "UPDATE care_members SET lunar_birthday = f.value FROM care_fixes f "
        "WHERE f.member_id = care_members.member_id AND f.field = 'lunar_birthday'"
    )
    con.unregister("care_fixes")


def _template_failed(plan: OperationsPlan, exc: TemplateError) -> OperationsError:
    return OperationsError("care_template_failed", source=plan.source, template=exc.template_id, error=str(exc))


def _picks(engine: Engine, con, fields: list[str], plan: OperationsPlan, day: date) -> list[tuple]:
    """Who gets which message today: (key, template, member row, occasion name, purpose, extra context)."""
    picks: list[tuple] = []

    def take(sql: str, occasion_id: str, template: str, name: str, purpose: str, extra=None):
        for r in con.execute(f"SELECT * FROM care_members WHERE status = 'active' AND ({sql})").fetchall():
            row = dict(zip(fields, r))
            picks.append(
                (f"care/{day.isoformat()}/{occasion_id}/{row['member_id']}", template, row, name, purpose, extra or {})
            )

    c = plan.care
    if c.birthday_template:
        for occasion_id, name, sql in care.birthday_filters(c.lunar_birthdays, day):
            take(sql, occasion_id, c.birthday_template, name, "care")
    for occ in care.occasions(plan, day):
        template = c.holiday_template if occ.kind == "holiday" else c.solar_term_template
        if occ.scope == "local":
            if not c.local_cities:
                continue
            take(f"city IN ({', '.join(lit(x) for x in c.local_cities)})", occ.id, template, occ.name, "care")
        else:
            take("TRUE", occ.id, template, occ.name, "care")
    expiring = _expiring(engine, day, c) if c.expiring_template else {}
    if expiring:
        con.register("care_expiring", _arrow_expiring(expiring))
        for r in con.execute(
            "SELECT m.* FROM care_members m JOIN care_expiring e ON e.member_id = m.member_id WHERE m.status = 'active'"
        ).fetchall():
            row = dict(zip(fields, r))
            pts, first = expiring[row["member_id"]]
            picks.append(
                (
                    f"care/points-expiring/{row['member_id']}/{first.isoformat()}",
                    c.expiring_template,
                    row,
                    "积分到期提醒",
                    "service",
                    {"points": {"expiring": pts, "expires_on": first.isoformat()}},
                )
            )
    picks += _due_message_tasks(engine, con, fields, day)
    return picks


def _render(engine: Engine, plan: OperationsPlan, compiled: dict, picks: list[tuple], day: date, report: dict) -> list:
    """Each pick's message rendered from its template (all or nothing: a template that does not render stops the
    run before anything is queued)."""
    with engine.connect() as conn:
        staff_names = {s: n for s, n in execute(conn, "SELECT staff_id, name FROM ops_staff") if n}
    tier_names = TIER_NAMES
    rendered = []
    for key, template, row, name, purpose, extra in picks:
        tpl = compiled.get(template)
        if tpl is None:
            report["errors"].append(f"{key}: no template {template!r} in {plan.source}")
            continue
        ctx = _context(row, staff_names, tier_names)
        ctx.update(
            occasion={
                "kind": key.split("/")[2] if key.startswith("care/") else "task",
                "name": name,
                "date": day.isoformat(),
            },
            points={"expiring": "", "expires_on": ""},
            offer={"id": "", "name": ""},
            task={"task_id": "", "reason": "", "due_on": "", "from_tier": "", "to_tier": ""},
        )
        ctx.update(extra)
        try:
            subject, body = tpl.render(ctx)
        except TemplateError as exc:
            raise _template_failed(plan, exc) from None
        rendered.append((key, tpl.template.channel, row, subject, body, purpose, template, name))
    return rendered


def _queue(
    engine: Engine, plan: OperationsPlan, rendered: list, day: date, at: datetime, dry_run: bool, report: dict
) -> None:
    """Queue the rendered messages in one transaction, within the contact policy (consents, caps)."""
    by_member: dict = {}
    for rec in consents(engine):  # read before the write transaction (SQLite has one writer)
        by_member.setdefault(rec.member_id, []).append(rec)
    with engine.begin() as conn:
        for key, channel, row, subject, body, purpose, template, name in rendered:
            recipient = (
                row.get("phone") if channel == "sms" else row.get("wechat") if channel == "wechat" else row.get("email")
            )
            if not recipient:
                report["no_address"] += 1
                continue
            block = policy.consent_block(by_member.get(row["member_id"], []), channel, purpose) or policy.cap_block(
                plan, channel, purpose, day, member_counts(conn, plan, row["member_id"], day)
            )
            if block is not None and not _queued(conn, key):
                report["blocked"][block.rule] = report["blocked"].get(block.rule, 0) + 1
                if len(report["blocked_examples"]) < 10:
                    report["blocked_examples"].append({"key": key, "rule": block.rule, "detail": block.detail})
                if key.startswith("task/"):
                    _close_task(conn, key[5:], "blocked", f"{block.rule}: {block.detail}", at)
                continue
            if dry_run:
                report["queued"] += 1
                continue
            _, created = messaging.enqueue(
                conn,
                key,
                channel,
                recipient,
                body,
                purpose=purpose,
                subject=subject,
                member_id=row["member_id"],
                source=key,
                template_id=template,
                at=at,
            )
            report["queued" if created else "already_queued"] += 1
            report["by_occasion"][name] = report["by_occasion"].get(name, 0) + int(created)
            if key.startswith("task/"):
                _close_task(conn, key[5:], "sent", None, at)
            if created:
                execute(
                    conn,
                    "INSERT INTO ops_contacts (member_id, channel, purpose, source, campaign, at) VALUES "
                    "(?, ?, ?, ?, NULL, ?) ON CONFLICT (source, channel) DO NOTHING",
                    [row["member_id"], channel, purpose, key, at],
                )


def _queued(conn, key: str) -> bool:
    return bool(execute(conn, "SELECT 1 FROM msg_outbox WHERE idempotency_key = ?", [key]))


def _close_task(conn, task_id: str, outcome: str, note: str | None, at: datetime) -> None:
    execute(
        conn,
        "UPDATE ops_tasks SET status = ?, outcome = ?, outcome_note = ?, closed_at = ?, closed_by = 'care'"
        " WHERE task_id = ? AND status = 'open'",
        ["done" if outcome == "sent" else "blocked", outcome, note, at, task_id],
    )


def _due_message_tasks(engine: Engine, con, fields: list[str], day: date) -> list:
    with engine.connect() as conn:
        rows = execute(
            conn,
            "SELECT task_id, member_id, template_id, purpose, reason, due_on, offer_id, offer_name "
            "FROM ops_tasks WHERE status = 'open' AND kind IN ('sms', 'wechat', 'email') AND "
            "(not_before IS NULL OR not_before <= ?) ORDER BY task_id",
            [day],
        )
    if not rows:
        return []
    ids = sorted({r[1] for r in rows})
    con.register("care_task_members", _arrow_ids(ids))
    members = {
        r[0]: dict(zip(fields, r))
        for r in con.execute(
            "SELECT m.* FROM care_members m JOIN care_task_members t ON t.member_id = m.member_id"
        ).fetchall()
    }
    out = []
    for task_id, member_id, template, purpose, reason, due, offer_id, offer_name in rows:
        row = members.get(member_id)
        if row is None:
            continue
        out.append(
            (
                f"task/{task_id}",
                template,
                row,
                "任务短信",
                purpose,
                {
                    "task": {
                        "task_id": task_id,
                        "reason": reason or "",
                        "due_on": str(as_date(due) or ""),
                        "from_tier": "",
                        "to_tier": "",
                    },
                    "offer": {"id": offer_id or "", "name": offer_name or ""},
                },
            )
        )
    return out


def _arrow_ids(ids):
    import pyarrow as pa

    return pa.table({"member_id": pa.array(ids, pa.string())})


def _arrow_expiring(expiring: dict):
    import pyarrow as pa

    return pa.table({"member_id": pa.array(list(expiring), pa.string())})


def _expiring(engine: Engine, day: date, c) -> dict[str, tuple[int, date]]:
    """member -> (points expiring within the plan's days, first expiry date), at least ``min_points``; with lake
    months, the SQL ``lots`` and the lake's lots no fold has brought into them."""
    end = day + timedelta(days=c.expiring_within_days)
    query = (
        "SELECT member_id, sum(remaining), min(expires_on), count(*) FROM lots WHERE remaining > 0 AND "
        "expires_on > ? AND expires_on <= ? GROUP BY member_id"
    )
    with engine.connect() as conn:
        if fold.watermark(conn)[0]:
            return _expiring_with_lake(engine, execute(conn, query, [day, end]), day, end, c.expiring_min_points)
        rows = execute(conn, query + " HAVING sum(remaining) >= ?", [day, end, c.expiring_min_points])
    return {m: (int(p), as_date(d)) for m, p, d, _ in rows}


def _expiring_with_lake(engine: Engine, rows: list, day: date, end: date, min_points: int) -> dict:
    """:func:`_expiring` over the SQL lots' sums ``rows`` and the unfolded lake lots
    (:func:`weixi.ledger.fold.expiring_by_member`)."""
    (got,) = fold.expiring_by_member(
        engine,
        rows,
        day,
        end,
        [("SELECT member_id, points, first FROM expiring WHERE points >= ?", [min_points])],
    )
    return {m: (int(p), d) for m, p, d in got}


def calendar_view(plan: OperationsPlan, month: str) -> list[dict]:
    first = date.fromisoformat(month + "-01")
    last = calendar.add_months(first, 1) - timedelta(days=1)
    return care.month_calendar(plan, first, last)
