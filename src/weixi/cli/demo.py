"""``weixi demo``: build the demo operator ``make run`` serves, so that every console page has data.

A generated operator closed month by month under the telecom plan; churn trained and the last month scored; its
target lists built; a staff roster and the month's tasks; the month's incentives computed and published; campaigns
in each state of their lifecycle (draft, awaiting approval, approved, running, closed, cancelled), members taking
part in the started ones (:mod:`weixi.cli.demo_campaigns`); one login per role. For demos only: the data are
synthetic and the logins share one password.
"""

from __future__ import annotations

import math
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from weixi.cli import demo_campaigns
from weixi.cli.app import app
from weixi.cli.output import console, emit_json
from weixi.settings import DEFAULT_TIMEZONE

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "plans" / "examples"
DEMO_MEMBER = "M0000000002"
# The staff of the demo (operations roster): the logins "manager" and "agent" are on it, so their pages have work.
TEAM_LEADS = (("lead", "周组长"),)
AGENTS = (("agent", "孙坐席"), ("A02", "钱坐席"), ("A03", "吴坐席"), ("A04", "郑坐席"))
MANAGER_NAMES = "王敏 李强 张静 刘洋 陈杰 杨帆 黄丽 赵磊 吴婷 周涛 徐芳 孙鹏 马超 朱琳 胡军 郭娜 何平 林欣 罗斌 高雪"


def _previous_month(today: date) -> str:
    first = today.replace(day=1) - timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def _months(end: str, count: int) -> list[str]:
    year, month = map(int, end.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


_quiet = False


def _step(text: str) -> None:
    if not _quiet:
        console.print(f"[bold]demo:[/] {text}", highlight=False)


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option("--out", help="Data directory to create (replaced if it exists).")] = Path(
        "var/operator"
    ),
    db: Annotated[Path, typer.Option("--db", help="SQLite database file to create (replaced if it exists).")] = Path(
        "var/operator.db"
    ),
    members: Annotated[int, typer.Option("--members", help="Number of members.")] = 20_000,
    months: Annotated[int, typer.Option("--months", help="Months of history, closed one by one.")] = 6,
    end_month: Annotated[
        str | None, typer.Option("--end-month", help="Last month, YYYY-MM (default: last month).")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the generated operator.")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was built as JSON.")] = False,
) -> None:
    """Build the demo operator: closes, churn, target lists, roster and tasks, incentives, campaigns, logins."""
    from weixi.adapters import schema
    from weixi.adapters.db import make_engine
    from weixi.generator.run import GenerateConfig, generate

    global _quiet
    _quiet = as_json
    zone = ZoneInfo(DEFAULT_TIMEZONE)
    today = datetime.now(zone).date()
    end = end_month or _previous_month(today)
    shutil.rmtree(out, ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    summary: dict = {"data": str(out), "db": str(db), "end_month": end}

    _step(f"generating {members:,} members × {months} months ending {end}")
    generate(GenerateConfig(members=members, months=months, seed=seed, out=str(out), end_month=end))
    engine = make_engine(str(db))
    try:
        schema.upgrade(engine)
        campaigns = demo_campaigns.Campaigns(engine, out, EXAMPLES, today, zone, datetime.now(zone), _step)
        summary["closes"] = _close(engine, out, end, months, campaigns.before_close)
        summary["churn"] = _churn(out, end)
        summary["redemptions"] = _redemptions(engine, out, end, today, zone)
        summary["staff"], summary["tasks"] = _operations(engine, out, end, today)
        summary["logins"] = _logins(engine)
        summary["incentives"] = _incentives(engine, out, end)
        summary["campaigns"] = campaigns.build()
    finally:
        engine.dispose()
    if as_json:
        emit_json(summary)
        return
    _step(f"ready: {db} and {out}")


def _close(engine, data: Path, end: str, months: int, before_close) -> list[dict]:
    """Each month closed in turn under the telecom plan; ``before_close(month)`` first (the campaigns that run while
    their months are open, :class:`weixi.cli.demo_campaigns.Campaigns`)."""
    from weixi.close.run import close_month
    from weixi.plans import service as plans

    plans.apply_plan(engine, EXAMPLES / "telecom-points.yaml")
    closes = []
    for month in _months(end, months):
        before_close(month)
        _step(f"closing {month}")
        result = close_month(engine, data, month)
        closes.append({"month": month, "members": result.get("members")})
    return closes


def _churn(data: Path, end: str) -> dict:
    from weixi.churn import service as churn
    from weixi.targets import service as targets

    _step(f"training the churn model on the history known at the end of {end}, scoring {end}")
    trained = churn.train_operator(data, end)
    scored = churn.score_month(data, end)
    _step(f"building the target lists of {end}")
    built = targets.build(data, end)
    return {"model_version": trained["model_version"], "scored": scored["members"], "lists": _jsonable(built)}


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else str(value)


def _operations(engine, data: Path, end: str, today: date) -> tuple[int, dict]:
    from weixi.operations import monthly_tasks
    from weixi.operations import service as ops
    from weixi.operations import staff as ops_staff

    plan = ops.plan_or_fail(None)
    rows = ["staff_id,name,role,team,team_lead,shift"]
    rows += [f"{sid},{name},lead,OB,," for sid, name in TEAM_LEADS]
    rows += [f"{sid},{name},agent,OB,lead," for sid, name in AGENTS]
    names = MANAGER_NAMES.split()
    count = _managers_needed(engine, data, end, plan, len(names))
    rows.append(f"manager,{names[0]},manager,KM,lead,")
    rows += [f"K{n:02d},{names[n]},manager,KM,lead," for n in range(1, count)]
    roster = data / "roster.csv"
    roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
    _step(f"loading the roster ({len(rows) - 1} staff) and creating the tasks of {end}")
    ops_staff.load_staff(engine, roster)
    tasks = monthly_tasks.create_month(engine, data, end, plan, today)
    return len(rows) - 1, _jsonable(tasks)


def _managers_needed(engine, data: Path, end: str, plan, most: int) -> int:
    """Enough managers for the plan's ratios over the month's members by tier (at least 3, at most ``most``)."""
    import duckdb

    from weixi.adapters import duck
    from weixi.close import store as close_store

    snapshot = close_store.uris(data, "snapshots", end)
    if not snapshot:
        return min(most, 8)
    con = duck.connect()
    try:
        tiers = dict(
            con.execute(
                "SELECT tier, COUNT(*) FROM read_parquet(?) GROUP BY tier", [[str(p) for p in snapshot]]
            ).fetchall()
        )
    except duckdb.Error:
        return min(most, 8)
    finally:
        con.close()
    need = 0.0
    for rule in plan.tiers:
        tier, ratio = getattr(rule, "tier", None), getattr(rule, "ratio", None)
        if tier and ratio:
            need += tiers.get(tier, 0) / ratio
    return max(3, min(most, math.ceil(need) + 1))


def _redemptions(engine, data: Path, end: str, today: date, zone: ZoneInfo) -> dict:
    """Members spending their points this month (so that the dashboard's redemption rate and breakage, and the
    member pages, show a programme in use): one active member in 25 with at least 100 points, and the demo member,
    take 1-3 yuan of bill credit (100 points a yuan) when they still have the points, dated over the month's days
    so far. Each goes through the ledger as a redemption at the counter would (the member's lake months folded
    first)."""
    from weixi.adapters import duck
    from weixi.close import store
    from weixi.errors import WeixiError
    from weixi.ledger import queries, redemption

    files = store.uris(data, "snapshots", end)
    if not files:
        return {"redemptions": 0, "points": 0}
    with duck.reader() as con:
        rows = con.execute(
            "SELECT member_id, points_balance FROM read_parquet(?) WHERE status = 'active' AND points_balance >= 100 "
            "AND (CAST(substr(member_id, 2) AS BIGINT) % 25 = 0 OR member_id = ?) ORDER BY member_id",
            [files, DEMO_MEMBER],
        ).fetchall()
    _step(f"{len(rows):,} members chosen to redeem points this month")
    made, points = 0, 0
    for n, (member_id, _) in enumerate(rows):
        day = today - timedelta(days=n % today.day)
        qty = min(queries.balance(engine, member_id, day)["balance"] // 100, 3)  # today's points, not October's
        if qty < 1:
            continue
        at = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=9 + n % 10)
        try:
            found = redemption.redeem(engine, member_id, "bill-credit", qty=qty, request_id=f"demo-{n}", at=at)
        except WeixiError:  # refused by the plan (a limit, say): this member does not redeem
            continue
        made, points = made + 1, points + int(found.redemption["points"])
    return {"redemptions": made, "points": points}


def _logins(engine) -> list[str]:
    from weixi.users import service as users

    made = users.ensure_demo_users(engine, DEMO_MEMBER)
    return [m["username"] for m in made]


def _incentives(engine, data: Path, month: str) -> dict:
    from weixi.adapters import duck
    from weixi.incentives import publication, synthetic
    from weixi.incentives import reports as incentive_reports

    _step(f"computing and publishing the incentives of {month}")
    month_dir = data / "incentives" / month
    synthetic.generate(month_dir, staff=40, orders=600, month=month, fmt="csv")
    shutil.copy(EXAMPLES / "retention-2016.yaml", month_dir / "retention-2016.yaml")
    # The "clerk" login is one of the month's clerks (the counter's own statement has orders behind it) and the
    # "manager" login one of its center managers (the incentive page shows that manager's team).
    con = duck.connect()
    try:
        roster, orders = str(month_dir / "roster.csv"), str(month_dir / "orders.csv")
        for role, login in (("clerk", "clerk"), ("center_manager", "manager")):
            first = con.execute(
                "SELECT staff_id FROM read_csv(?, all_varchar=true) WHERE role = ? ORDER BY staff_id LIMIT 1",
                [roster, role],
            ).fetchone()
            if not first:
                continue
            for path in (roster, orders):
                con.execute(
                    f"COPY (SELECT * REPLACE (CASE WHEN staff_id = ? THEN ? ELSE staff_id END AS staff_id) "
                    f"FROM read_csv(?, all_varchar=true)) TO '{path}.new' (FORMAT CSV, HEADER)",
                    [first[0], login, path],
                )
                Path(path + ".new").replace(path)
    finally:
        con.close()
    result = incentive_reports.recompute(data, month)
    published = publication.publish(engine, result, "admin")
    return {"month": month, "version": published.get("version")}
