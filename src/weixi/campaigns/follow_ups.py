"""The campaign's follow-up tasks for its members (participants, winners, referrers, non-participants): into the
operations task queue (:func:`follow_up_tasks`, set-based, each member's manager) or as a CSV export
(:func:`follow_ups`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from weixi.adapters import spreadsheet
from weixi.adapters.sql import execute, executemany
from weixi.campaigns.measures import participant_ids, participants_sql
from weixi.campaigns.store import campaign_today, load
from weixi.ledger import fold


def follow_ups(engine: Engine, campaign_id: str, out: str | Path) -> dict:
    """The campaign's follow-up tasks for its members, as a CSV export (member_id, follow_up, action, due_on, note);
    :func:`follow_up_tasks` puts them in the task queue. The count per follow-up is returned."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        picked = _picked(conn, c)
        rows, counts = [], {}
        for f in c.follow_ups:
            due = c.window.end + timedelta(days=f.due_days)
            members = picked[f.who]
            counts[f.id] = len(members)
            rows += [(m, f.id, f.action, due.isoformat(), f.note) for m in members]
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = spreadsheet.csv_writer(fh)  # no cell can start a formula
        w.writerow(["campaign_id", "member_id", "follow_up", "action", "due_on", "note"])
        w.writerows((c.id, *r) for r in rows)
    tmp.replace(path)
    return {"campaign_id": c.id, "file": str(path), "tasks": len(rows), "by_follow_up": counts}


def _picked(conn, c) -> dict[str, list[str]]:
    """The members of each ``who`` its follow-ups name, sorted. The participants are
    :func:`weixi.campaigns.measures.participant_ids` (with lake months, the earners of its points rules whose bills
    are in the lake, not yet folded, too); the non-participants the treatment group without them."""
    whos = {f.who for f in c.follow_ups}
    lake = bool(c.points_rules) and bool(fold.watermark(conn)[0])
    groups = _groups(c)
    out = {
        who: sorted(r[0] for r in execute(conn, *groups[who]))
        for who in whos
        if not (lake and who in ("participants", "non_participants"))
    }
    if lake and whos & {"participants", "non_participants"}:
        took_part = participant_ids(conn, c)
        out["participants"] = took_part
        treatment = execute(
            conn, "SELECT member_id FROM campaign_members WHERE campaign_id = ? AND grp = 'treatment'", [c.id]
        )
        out["non_participants"] = sorted({r[0] for r in treatment}.difference(took_part))
    return out


def _groups(c) -> dict[str, tuple[str, list]]:
    """SQL (and params) of the members of each ``who`` of a follow-up."""
    psql, pparams = participants_sql(c)
    return {
        "participants": (f"SELECT member_id FROM ({psql}) p", pparams),
        "winners": (
            "SELECT DISTINCT member_id FROM campaign_draws WHERE campaign_id = ? AND prize_id IS NOT NULL",
            [c.id],
        ),
        "referrers": (
            "SELECT DISTINCT referrer_id FROM campaign_referrals WHERE campaign_id = ? AND status = 'rewarded'",
            [c.id],
        ),
        "non_participants": (
            f"SELECT member_id FROM campaign_members WHERE campaign_id = ? AND grp = 'treatment' "
            f"AND member_id NOT IN ({psql})",
            [c.id, *pparams],
        ),
    }


ACTION_KIND = {"call": "care_call", "sms": "sms", "visit": "visit"}
TEMPLATE = "campaign-follow-up"  # the operations plan's template of a follow-up SMS (the note is its task.reason)
PRIORITY = 200_000  # below a new star member (400,000), above the cadence (100,000)
CHUNK = 20_000
COLUMNS = (
    "task_id", "month", "member_id", "kind", "source", "sla_rule", "purpose", "reason", "reason_en", "template_id",
    "priority", "status", "assignee", "team", "created_on", "not_before", "due_on", "attempts", "created_at",
)  # fmt: skip


def follow_up_tasks(engine: Engine, campaign_id: str, data_dir: str | Path | None = None, now=None) -> dict:
    """The campaign's follow-ups as tasks in the operations queue ("跟进"), each to the member's manager (the latest
    month's assignment under ``data_dir``; a member without one is left to the team's pool, unassigned): a call,
    SMS or visit per member of each follow-up's group, not before the day after the window, due ``due_days`` after
    it. Task ids are ``campaign/ID/FOLLOW-UP/MEMBER``: running it again adds only what is new. A member who asked
    not to be disturbed (or opted out of marketing, for non-participants) gets no task: counted in ``blocked``."""
    import pyarrow as pa

    from weixi.adapters import duck
    from weixi.operations.clock import now as clock_now
    from weixi.operations.monthly_inputs import blocks_arrow

    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        _, c = load(conn, campaign_id)
        groups = _picked(conn, c)
        picked = {f.id: groups[f.who] for f in c.follow_ups}
    at = now or clock_now(engine)
    day = campaign_today(c, at)
    cand = pa.table(
        {
            "member_id": pa.array([m for f in c.follow_ups for m in picked[f.id]], pa.string()),
            "follow_up": pa.array([f.id for f in c.follow_ups for _ in picked[f.id]], pa.string()),
        }
    )
    specs = [
        (
            f.id,
            ACTION_KIND[f.action],
            "marketing" if f.who == "non_participants" else "care",
            (f.note or f"感谢您参与{c.name}活动。") if f.action == "sms" else f"活动「{c.name}」跟进:{f.note or f.id}",
            f"Campaign {c.id} follow-up: {f.note or f.id}",
            TEMPLATE if f.action == "sms" else None,
            max(day, c.window.end + timedelta(days=1)),
            c.window.end + timedelta(days=f.due_days),
        )
        for f in c.follow_ups
    ]
    con = duck.connect()
    con.register("fu_cand", cand)
    con.register("fu_blocks", blocks_arrow(engine))
    con.execute(
        "CREATE TEMP TABLE fu_spec (follow_up VARCHAR, kind VARCHAR, purpose VARCHAR, reason VARCHAR, "
        "reason_en VARCHAR, template_id VARCHAR, not_before DATE, due_on DATE)"
    )
    if specs:
        con.executemany("INSERT INTO fu_spec VALUES (?, ?, ?, ?, ?, ?, ?, ?)", specs)
    managers = _latest_assignments(Path(data_dir) if data_dir else None)
    con.execute(f"""CREATE TEMP TABLE fu_tasks AS
        SELECT {_lit("campaign/" + c.id + "/")} || s.follow_up || '/' || f.member_id AS task_id,
               {_lit(day.strftime("%Y-%m"))} AS month, f.member_id, s.kind, 'campaign' AS source,
               s.follow_up AS sla_rule, s.purpose, s.reason, s.reason_en, s.template_id,
               CAST({PRIORITY} AS BIGINT) AS priority, 'open' AS status, a.staff_id AS assignee, a.team,
               DATE {_lit(day)} AS created_on, s.not_before, s.due_on,
               EXISTS (SELECT 1 FROM fu_blocks b WHERE b.member_id = f.member_id
                        AND b.channel IN ('all', CASE s.kind WHEN 'sms' THEN 'sms' WHEN 'visit' THEN 'visit'
                                                  ELSE 'call' END)
                        AND (b.kind = 'dnd' OR b.purpose IN ('all', s.purpose))) AS blocked
        FROM fu_cand f JOIN fu_spec s USING (follow_up)
        LEFT JOIN ({managers}) a ON a.member_id = f.member_id""")
    cols = ", ".join(COLUMNS)
    sql = f"INSERT INTO ops_tasks ({cols}) VALUES ({', '.join('?' * len(COLUMNS))}) ON CONFLICT (task_id) DO NOTHING"
    cur = con.execute(f"SELECT {cols.replace('attempts, created_at', '0, NULL')} FROM fu_tasks WHERE NOT blocked")
    with engine.begin() as conn:
        before = execute(conn, "SELECT count(*) FROM ops_tasks WHERE source = 'campaign' AND task_id LIKE ?",
                         [f"campaign/{c.id}/%"])[0][0]  # fmt: skip
        while batch := cur.fetchmany(CHUNK):
            executemany(conn, sql, [(*r[:-1], at) for r in batch])
        after = execute(conn, "SELECT count(*) FROM ops_tasks WHERE source = 'campaign' AND task_id LIKE ?",
                        [f"campaign/{c.id}/%"])[0][0]  # fmt: skip
    counts = dict(con.execute("SELECT sla_rule, count(*) FROM fu_tasks WHERE NOT blocked GROUP BY 1").fetchall())
    blocked, unassigned = con.execute(
        "SELECT count(*) FILTER (WHERE blocked), count(*) FILTER (WHERE NOT blocked AND assignee IS NULL) FROM fu_tasks"
    ).fetchone()
    con.close()
    return {
        "campaign_id": c.id,
        "tasks": int(sum(counts.values())),
        "new_in_queue": int(after - before),
        "by_follow_up": {f.id: int(counts.get(f.id, 0)) for f in c.follow_ups},
        "blocked": int(blocked),
        "without_manager": int(unassigned),
    }


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _latest_assignments(data_dir: Path | None) -> str:
    """SQL of (member_id, staff_id, team): the newest month's assignment file (members with a manager)."""
    empty = "SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS staff_id, NULL::VARCHAR AS team WHERE FALSE"
    if data_dir is None:
        return empty
    files = sorted(
        (data_dir / "operations" / "assignments").glob("month=[0-9][0-9][0-9][0-9]-[0-9][0-9]/part-0.parquet")
    )
    if not files:
        return empty
    return f"SELECT member_id, staff_id, team FROM read_parquet({_lit(files[-1])}) WHERE staff_id IS NOT NULL"
