"""The last readers of the SQL store alone now read the lake too (issue 21, ``WEIXI_LEDGER_STORE=lake``): points
expiring soon, a campaign's follow-up groups, and a month's totals, which read only the lake partitions that can
hold the month's days (a posted batch's ``L+n`` partition holds days after month ``L``).

Issue 21: "Balances, statements, member 360, the dashboard, reports and ``balance --at`` read one ledger view over
both stores".
"""

from __future__ import annotations

import csv
import shutil
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.integration.lake_plan import lake_plan
from weixi.adapters import lake, schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.campaigns import follow_ups
from weixi.campaigns import service as cs
from weixi.close import accrual_lake, ledger_bridge
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import catalogue
from weixi.ledger.fold import accruals_dir, ensure_folded, keys_holding
from weixi.ledger.redemption import redeem
from weixi.plans.service import apply_plan

pytestmark = pytest.mark.file_order  # a story over one module fixture: the last test adds a posted batch
TZ = ZoneInfo("Asia/Shanghai")
MONTHS = ["2026-08", "2026-09", "2026-10"]
PLAN = lake_plan("lake-readers2", gold=False)
CAMPAIGN = """\
kind: campaign
campaign: lake2
name: 湖上活动
window: {{from: 2026-09-01, to: 2026-10-31}}
objectives:
  - {{id: people, metric: participants, target: 4}}
audience:
  source: list
  members: [{members}]
  control: {{share: "0.3"}}
budget:
  - {{line: points, points: 100000}}
points_rules: [recharge]
follow_ups:
  - {{id: thanks, who: participants, action: sms, due_days: 3, note: 谢谢}}
  - {{id: win-back, who: non_participants, action: call, due_days: 7}}
"""
TODAY = date(2026, 11, 1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _members(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in execute(conn, "SELECT member_id FROM members ORDER BY member_id")]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """One operator closed three months with each store, a campaign over September and October with follow-ups.
    ``soon``: the points expiring within 61 days of 1 November right after the closes (in the lake, every lot
    unfolded). Then, in the lake, every third member folded; in both, the richest member redeeming."""
    source = tmp_path_factory.mktemp("lake-readers2") / "data"
    generate(GenerateConfig(members=160, months=3, seed=53, out=str(source), end_month=MONTHS[-1]))
    out = {}
    mp = pytest.MonkeyPatch()
    try:
        for store in ("sql", "lake"):
            mp.setenv("WEIXI_LEDGER_STORE", store)
            root = tmp_path_factory.mktemp(store)
            data = root / "data"
            shutil.copytree(source, data)
            (root / "plan.yaml").write_text(PLAN, encoding="utf-8")
            engine = make_engine(str(root / "ledger.db"))
            schema.upgrade(engine)
            apply_plan(engine, root / "plan.yaml")
            close_month(engine, data, MONTHS[0])
            audience = _members(engine)[:80]
            text = CAMPAIGN.format(members=", ".join(audience))
            cid = cs.create(engine, text, "lake2.yaml", "alice", now=at("2026-08-25T09:00"))["campaign_id"]
            for action, by in (("submit", "alice"), ("approve", "bob"), ("start", "bob")):
                cs.act(engine, cid, action, by, now=at("2026-08-25T09:00"))
            for month in MONTHS[1:]:
                close_month(engine, data, month)
            soon = catalogue.expiring_soon(engine, TODAY, 61, limit=10)
            if store == "lake":
                ensure_folded(engine, _members(engine)[::3])
            with engine.connect() as conn:
                richest = execute(conn, "SELECT member_id FROM members ORDER BY balance DESC, member_id LIMIT 1")[0][0]
            redeem(engine, richest, "gift", qty=2, at=at("2026-11-03T10:00"))
            out[store] = SimpleNamespace(engine=engine, data=data, root=root, campaign=cid, soon=soon)
    finally:
        mp.undo()
    return out


@pytest.fixture
def lake_env(monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")


def test_points_expiring_soon_are_the_same_when_every_lake_lot_is_unfolded(both, lake_env):
    want = both["sql"].soon
    assert both["lake"].soon == want
    assert want["points"] > 0 and want["members"] > 50 and len(want["top"]) == 10
    assert {t["first_expiry"] for t in want["top"]} == {"2026-12-01"}  # September's lots first


def test_points_expiring_soon_are_the_same_with_some_members_folded(both, lake_env):
    sql, lk = both["sql"].engine, both["lake"].engine
    with lk.connect() as conn, sql.connect() as sconn:
        assert execute(conn, "SELECT count(*) FROM ledger_folds")[0][0] > 40  # both stores hold lots
        assert execute(conn, "SELECT count(*) FROM lots")[0][0] < execute(sconn, "SELECT count(*) FROM lots")[0][0]
    for within, limit in ((30, 5), (61, 100), (400, 3)):
        want = catalogue.expiring_soon(sql, TODAY, within, limit)
        assert catalogue.expiring_soon(lk, TODAY, within, limit) == want, (within, limit)
    assert catalogue.expiring_soon(sql, TODAY, 61)["points"] < both["sql"].soon["points"]  # the redemption took some


def _follow_up_rows(ns, tmp_path: Path, name: str) -> list[list[str]]:
    out = tmp_path / f"{name}.csv"
    follow_ups.follow_ups(ns.engine, ns.campaign, out)
    with open(out, encoding="utf-8") as fh:
        return list(csv.reader(fh))[1:]


def test_the_follow_up_groups_count_participants_who_earned_through_lake_bills(both, lake_env, tmp_path):
    sql, lk = both["sql"], both["lake"]
    want = _follow_up_rows(sql, tmp_path, "sql")
    got = _follow_up_rows(lk, tmp_path, "lake")
    assert got == want
    thanked = {r[1] for r in want if r[2] == "thanks"}
    called = {r[1] for r in want if r[2] == "win-back"}
    assert len(thanked) > 5 and len(called) > 5 and not thanked & called
    with lk.engine.connect() as conn:
        in_journal = {
            r[0]
            for r in execute(
                conn, "SELECT DISTINCT member_id FROM journal WHERE kind = 'earn' AND rule_id = 'recharge'"
            )
        }
    assert thanked - in_journal  # some thanked only for bills the lake holds, not yet in the SQL journal
    tasks = [follow_ups.follow_up_tasks(ns.engine, ns.campaign, now=at("2026-11-02T09:00")) for ns in (sql, lk)]
    assert tasks[0]["by_follow_up"] == tasks[1]["by_follow_up"] == {"thanks": len(thanked), "win-back": len(called)}


def test_partition_keys_that_can_hold_a_month_s_days():
    keys = ["2026-08", "2026-09", "2026-09+000001", "2026-09+000002", "2026-10", "2026-10+000003", "+000004"]
    assert keys_holding(keys, "2026-08") == ["2026-08", "+000004"]
    assert keys_holding(keys, "2026-10") == ["2026-09+000001", "2026-09+000002", "2026-10", "+000004"]
    assert keys_holding(keys, "2026-11") == ["2026-09+000001", "2026-09+000002", "2026-10+000003", "+000004"]


def _post_batch(ns, key: str, day: date) -> pa.Table:
    """A posted batch's partition ``key`` (days in the open month after the last close), made of October's first
    rows under new ids and dated ``day``, committed and applied as a post is: its rows."""
    table_dir = accruals_dir(ns.data)
    october = pa.concat_tables([pq.read_table(f) for f in lake.file_uris(table_dir, partition={"month": MONTHS[-1]})])
    october = october.drop_columns([c for c in october.column_names if c == "month"])
    rows = october.filter(pc.greater(october.column("earned"), 0)).slice(0, 12)
    n = rows.num_rows
    rows = rows.set_column(0, "event_id", pa.array([f"post-{i}" for i in range(n)], pa.string()))
    rows = rows.set_column(rows.schema.get_field_index("day"), "day", pa.array([day] * n, pa.date32()))
    rows = rows.set_column(
        rows.schema.get_field_index("expires_on"), "expires_on", pa.array([date(2027, 2, 1)] * n, pa.date32())
    )
    out = lake.new_file(table_dir, {"month": key})
    pq.write_table(rows, out)
    lake.commit_files(table_dir, [out], {"month": key}, rows.schema, "weixi-post", 1)
    accrual_lake.apply(ns.engine, ns.data, key)
    return rows


def test_a_month_s_totals_read_only_the_partitions_that_can_hold_its_days(both, lake_env, tmp_path):
    lk = both["lake"]
    october = ledger_bridge.lake_totals(lk.engine, MONTHS[-1])
    november = ledger_bridge.lake_totals(lk.engine, "2026-11")
    assert october[0] > 0 and november[0] == 0 and ledger_bridge.points_earned(lk.engine, "2026-11").num_rows == 0
    posted = _post_batch(lk, f"{MONTHS[-1]}+000001", date(2026, 11, 20))
    total = sum(posted.column("earned").to_pylist())
    assert total > 0
    assert ledger_bridge.lake_totals(lk.engine, "2026-11") == (total, november[1])
    assert ledger_bridge.lake_totals(lk.engine, MONTHS[-1]) == october  # the batch's days are not October's
    by_member: dict[str, int] = {}
    for r in posted.select(["member_id", "earned"]).to_pylist():
        by_member[r["member_id"]] = by_member.get(r["member_id"], 0) + r["earned"]
    got = {r["member_id"]: r["points_earned"] for r in ledger_bridge.points_earned(lk.engine, "2026-11").to_pylist()}
    assert got == by_member
    assert ledger_bridge.month_totals(lk.engine, "2026-11")["issued"] == total
    # August's files moved away: November's and October's totals never open them
    august = [Path(f) for f in lake.file_uris(accruals_dir(lk.data), partition={"month": MONTHS[0]})]
    moved = [tmp_path / f.name for f in august]
    for f, to in zip(august, moved):
        shutil.move(f, to)
    try:
        assert ledger_bridge.lake_totals(lk.engine, "2026-11") == (total, november[1])
        assert ledger_bridge.lake_totals(lk.engine, MONTHS[-1]) == october
        with pytest.raises(duckdb.IOException):  # the month they hold does read them
            ledger_bridge.lake_totals(lk.engine, MONTHS[0])
    finally:
        for f, to in zip(august, moved):
            shutil.move(to, f)
