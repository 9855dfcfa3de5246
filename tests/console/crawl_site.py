"""A demo-like operator for the language crawl (:mod:`tests.console.test_language_crawl`), built once per process.

The scored operator of :func:`tests.console.staff_data.retention` (600 members, six months, churn trained, August
2026 scored and its target lists built) with the telecom plan applied and August closed, a staff roster and the
month's tasks, January 2016's incentives computed and published, a campaign running and one in draft, and one
login per role (plus the incentive clerk and manager whose statements exist)."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.console import operator as op
from tests.console import staff_data as sd

ROSTER = [  # staff_id, name, role, team, team_lead, shift: the logins "agent" and "manager" are on the roster
    ("manager", "王经理", "manager", "T1", "", ""),
    ("K2", "李经理", "manager", "T2", "", ""),
    ("agent", "坐席一", "agent", "OB", "manager", ""),
    ("A2", "坐席二", "agent", "OB", "manager", ""),
]
EXTRA_LOGINS = {"clerk-staff": (sd.CLERK, "clerk"), "manager-staff": (sd.MANAGER, "manager")}


def build(root: Path, scored: Path, app_factory):
    """The app over a fresh copy of the scored operator, filled as described above."""
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine
    from weixi.campaigns import service as campaigns
    from weixi.close.run import close_month
    from weixi.incentives import publication
    from weixi.incentives import reports as incentive_reports
    from weixi.ledger.events import Event
    from weixi.ledger.posting import post_events
    from weixi.operations import monthly_tasks
    from weixi.operations import service as ops
    from weixi.operations import staff as ops_staff
    from weixi.plans import service as plans
    from weixi.users import service as users

    data, db = root / "data", root / "crawl.db"
    shutil.copytree(scored, data)
    engine = make_engine(str(db))
    try:
        schema.upgrade(engine)
        plans.apply_plan(engine, op.PLAN)
        close_month(engine, data, sd.SCORED)
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        post_events(
            engine,
            [Event("adj-0001", op.MEMBER, "adjust", now, now.date(), points=op.GRANT, attrs={"reason": "客服补偿"})],
        )
        hasher, users._hasher = users._hasher, op.cheap_hasher()
        try:
            for role, username in op.LOGINS.items():
                users.create_user(engine, username, op.PASSWORD, role, op.MEMBER if role == "member" else None)
            for username, role in EXTRA_LOGINS.values():
                users.create_user(engine, username, op.PASSWORD, role)
        finally:
            users._hasher = hasher
        roster = root / "roster.csv"
        roster.write_text(
            "\n".join(["staff_id,name,role,team,team_lead,shift"] + [",".join(r) for r in ROSTER]) + "\n",
            encoding="utf-8",
        )
        ops_staff.load_staff(engine, roster)
        monthly_tasks.create_month(engine, data, sd.SCORED, ops.plan_or_fail(None), date(2026, 8, 31))
        sd.incentives(data)
        publication.publish(engine, incentive_reports.recompute(data, sd.MONTH), "薪酬办")
        from tests.console.test_campaign_pages import campaign_file

        for cid, name in (("live-draw", "周年抽奖"), ("draft-draw", "春节抽奖")):
            text = campaign_file(cid).replace(f"name: 周年抽奖 {cid}", f"name: {name}")
            campaigns.create(engine, text, f"{cid}.yaml", "analyst")
        for step, who in (("submit", "analyst"), ("approve", "admin"), ("start", "admin")):
            campaigns.act(engine, "live-draw", step, who)
    finally:
        engine.dispose()
    return app_factory(str(db), str(data))
