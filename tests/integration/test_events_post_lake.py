"""``weixi events post`` through the lake (issue 21: "`weixi events post` of bill and recharge files takes the same
batch path"): with ``WEIXI_LEDGER_STORE=lake`` a file's bills and recharges go to the lake's ``accruals`` table through
the close's statements, as a partition of their own, and the SQL ledger takes them when a member is first touched.

A story over one operator posted twice, once per store: the same files, the same closes, the same balances."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests.integration.lake_plan import member_rows
from tests.integration.test_lake_ledger import LONG_PLAN, _state, _statement
from weixi.adapters import lake, schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.cli import app
from weixi.close.run import close_month
from weixi.close.sources import scan_sql
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import queries
from weixi.ledger.fold import accruals_dir
from weixi.ledger.redemption import redeem
from weixi.ledger.reversal import reverse
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

pytestmark = pytest.mark.file_order  # a story: each test posts or closes on the ledgers the earlier ones left
STORES = ("sql", "lake")


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("post-operator") / "data"
    generate(GenerateConfig(members=700, months=3, seed=41, out=str(out), end_month="2026-10"))
    return out


def _ledger(root: Path, operator: Path):
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    shutil.copytree(operator, data)
    (root / "plan.yaml").write_text(LONG_PLAN, encoding="utf-8")
    engine = make_engine(str(root / "ledger.db"))
    schema.upgrade(engine)
    apply_plan(engine, root / "plan.yaml")
    return engine, data


def event_file(data: Path, month: str, path: Path, extra: list[dict] = ()) -> Path:
    """The month's paid bills and its recharges from the archive as an event file (same ids as the close's)."""
    bills = (
        "SELECT CAST(bill_id AS VARCHAR) AS event_id, CAST(member_id AS VARCHAR) AS member_id, 'bill' AS type, "
        "strftime(billed_on, '%Y-%m-%d') || 'T20:00:00+08:00' AS occurred_at, "
        "printf('%d.%02d', amount_fen // 100, amount_fen % 100) AS amount, "
        # a tier named on some bills: the member's tier for that bill and the later ones (the bulk path's rule)
        'CASE WHEN hash(bill_id) % 9 = 0 THEN \'{"tier": "gold"}\' WHEN hash(bill_id) % 9 = 1 '
        'THEN \'{"tier": "silver"}\' WHEN service_type IS NULL THEN NULL '
        "ELSE to_json(struct_pack(service_type := service_type))::VARCHAR END AS attrs "
        f"FROM ({scan_sql(data, 'bills', month)}) WHERE paid"
    )
    recharges = (
        "SELECT CAST(recharge_id AS VARCHAR), CAST(member_id AS VARCHAR), 'recharge', "
        "strftime(timezone('Asia/Shanghai', recharged_at), '%Y-%m-%dT%H:%M:%S') || '+08:00', "
        f"printf('%d.%02d', amount_fen // 100, amount_fen % 100), NULL FROM ({scan_sql(data, 'recharges', month)})"
    )
    rows = duckdb.sql(f"{bills} UNION ALL {recharges} ORDER BY occurred_at, event_id").fetchall()
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["event_id", "member_id", "type", "occurred_at", "amount", "attrs"])
        writer.writerows(rows)
        for row in extra:
            writer.writerow(
                [row.get(c, "") for c in ("event_id", "member_id", "type", "occurred_at", "amount", "attrs")]
            )
    return path


def post(engine_root: Path, file: Path, store: str) -> dict:
    env = {"WEIXI_LEDGER_STORE": store, "WEIXI_DATA": str(engine_root / "data")}
    result = CliRunner().invoke(
        app, ["events", "post", str(file), "--db", str(engine_root / "ledger.db"), "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def members(engine) -> list[tuple]:
    """The members' rows, each balance over both stores (the lake's SQL balances lack its unfolded points)."""
    return member_rows(engine)


def sql_events(engine, ids) -> int:
    with engine.connect() as conn:
        return sum(execute(conn, "SELECT count(*) FROM events WHERE event_id = ?", [i])[0][0] for i in ids)


@pytest.fixture(scope="module")
def story(operator, tmp_path_factory):
    """Both stores with 2026-08 closed (a lake month in the lake store)."""
    out = {}
    mp = pytest.MonkeyPatch()
    try:
        for store in STORES:
            mp.setenv("WEIXI_LEDGER_STORE", store)
            root = tmp_path_factory.mktemp(f"post-{store}")
            engine, data = _ledger(root, operator)
            close_month(engine, data, "2026-08")
            out[store] = (engine, root)
    finally:
        mp.undo()
    return out


def _ids(file: Path) -> list[str]:
    with file.open(encoding="utf-8") as fh:
        return [r["event_id"] for r in csv.DictReader(fh)]


def test_a_posted_file_goes_to_the_lake_and_ends_where_the_sql_store_ends(story, tmp_path, monkeypatch):
    file = event_file(story["lake"][1] / "data", "2026-09", tmp_path / "sep.csv")
    ids = _ids(file)
    assert len(ids) >= 1000
    out = {store: post(story[store][1], file, store) for store in STORES}
    assert out["sql"]["posted"] == out["lake"]["posted"] == len(ids)
    (sql, _), (lk, lk_root) = story["sql"], story["lake"]
    assert sql_events(sql, ids[:50]) == 50
    assert sql_events(lk, ids) == 0  # not a row in SQL: the lake holds them
    with lk.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM journal WHERE event_id LIKE 'B202609%'")[0][0] == 0
        assert [r[0] for r in execute(conn, "SELECT month FROM lake_months ORDER BY month")] == [
            "2026-08",
            "2026-08+000001",
        ]
    assert lake.app_version(accruals_dir(lk_root / "data"), "weixi-post") == 1
    assert members(lk) == members(sql)  # every balance, tier, first spend day
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    assert verify(lk)[0] == [] and verify(sql)[0] == []
    with open(file, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    who = [r["member_id"] for r in rows if r["type"] == "bill"][:5]
    for m in who:
        statement = _statement(lk, m)  # folds the member
        assert statement == _statement(sql, m)
        lines = {(line["event"], line["rule"]): line["points"] for line in statement["lines"] if line["kind"] == "earn"}
        for r in rows:
            if r["member_id"] == m and r["type"] == "bill" and float(r["amount"]) >= 10:
                assert any(e == r["event_id"] and p > 0 and rule for (e, rule), p in lines.items())
    assert verify(lk)[0] == []


def test_a_redemption_spends_the_earliest_expiring_lots_first(story, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    (sql, _), (lk, _) = story["sql"], story["lake"]
    with sql.connect() as conn:  # a member with lots of both months: the closed one and the posted one
        member = execute(
            conn,
            "SELECT member_id FROM lots GROUP BY member_id HAVING min(earned_on) < '2026-09-01' "
            "AND max(earned_on) >= '2026-09-01' AND sum(remaining) >= 100 ORDER BY sum(remaining) DESC LIMIT 1",
        )[0][0]
    lots = {}
    for store, engine in (("sql", sql), ("lake", lk)):
        redeem(engine, member, "gift", qty=1, request_id="first-lots")
        with engine.connect() as conn:
            lots[store] = execute(
                conn,
                "SELECT lot_id, expires_on, points, remaining FROM lots WHERE member_id = ? "
                "ORDER BY expires_on, lot_id",
                [member],
            )
    assert lots["lake"] == lots["sql"]
    spent = [lot[3] < lot[2] for lot in lots["lake"]]
    assert any(spent) and spent == sorted(spent, reverse=True)  # the spent lots are the earliest-expiring
    assert verify(lk)[0] == []


def test_posting_the_same_file_again_changes_nothing(story, tmp_path):
    file = event_file(story["lake"][1] / "data", "2026-09", tmp_path / "sep.csv")
    before = {store: members(story[store][0]) for store in STORES}
    for store in STORES:
        out = post(story[store][1], file, store)
        assert (out["posted"], out["duplicate"], out["rejected"]) == (0, len(_ids(file)), 0)
        assert members(story[store][0]) == before[store]
    with story["lake"][0].connect() as conn:
        assert execute(conn, "SELECT count(*) FROM lake_months")[0][0] == 2  # nothing new, no partition


def _debtor(engine, member: str) -> None:
    """The member spends every point, then a refund of a spent bill leaves them owing: the Book must handle them."""
    queries.balance(engine, member, date(2026, 12, 31))  # folds the member
    with engine.connect() as conn:
        balance = execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member])[0][0]
        bill = execute(
            conn,
            "SELECT event_id FROM events WHERE member_id = ? AND earned > 0 ORDER BY earned DESC, event_id LIMIT 1",
            [member],
        )[0][0]
    redeem(engine, member, "gift", qty=balance // 50, request_id="debtor")
    reverse(engine, bill)


def test_a_mixed_file_rejects_its_bad_rows_posts_the_debtor_through_the_book_and_the_rest_in_the_lake(
    story, tmp_path, monkeypatch
):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    (sql, _), (lk, lk_root) = story["sql"], story["lake"]
    with sql.connect() as conn:
        debtor = execute(
            conn,
            "SELECT member_id FROM members WHERE balance >= 100 AND member_id IN (SELECT member_id FROM events "
            "WHERE day >= '2026-09-01') ORDER BY member_id LIMIT 1",
        )[0][0]
    for engine in (sql, lk):
        _debtor(engine, debtor)
        with engine.connect() as conn:
            debt, balance = execute(conn, "SELECT debt, balance FROM members WHERE member_id = ?", [debtor])[0]
        assert debt > 0 or balance < 0
    bad = [
        {"event_id": "BAD-AMOUNT", "member_id": debtor, "type": "bill", "occurred_at": "2026-10-03", "amount": "1.005"},
        {"event_id": "BAD-FUTURE", "member_id": "M0000000003", "type": "bill", "occurred_at": "2099-01-01",
         "amount": "10"},
        {"event_id": "BAD-CLOSED", "member_id": "M0000000003", "type": "bill", "occurred_at": "2026-08-20",
         "amount": "10"},
    ]  # fmt: skip
    file = event_file(lk_root / "data", "2026-10", tmp_path / "oct.csv", bad)
    rows = _ids(file)
    out = {store: post(story[store][1], file, store) for store in STORES}
    for store in STORES:
        got = {(r["row"], r["event_id"], r["field"], r["code"]) for r in out[store]["rejections"]}
        n = len(rows) + 1  # the header is line 1
        assert got == {
            (n - 2, "BAD-AMOUNT", "amount", "amount_fraction_of_fen"),
            (n - 1, "BAD-FUTURE", "occurred_at", "event_in_future"),
            (n, "BAD-CLOSED", "occurred_at", "month_closed"),
        }, store
        assert out[store]["posted"] == len(rows) - 3
    with open(file, encoding="utf-8") as fh:
        debtor_ids = [
            r["event_id"] for r in csv.DictReader(fh) if r["member_id"] == debtor and "BAD" not in r["event_id"]
        ]
    others = [i for i in rows if i.startswith("B202610") and i not in debtor_ids]
    assert debtor_ids and sql_events(lk, debtor_ids) == len(debtor_ids)  # the Book posted them, in SQL
    with lk.connect() as conn:  # the rest in the lake: none in SQL unless its member was folded before
        folded = {r[0] for r in execute(conn, "SELECT member_id FROM ledger_folds")}
        in_sql = execute(conn, "SELECT member_id FROM events WHERE event_id LIKE 'B202610%'")
    assert {r[0] for r in in_sql} <= folded | {debtor} and len(in_sql) < len(others) // 10
    assert members(lk) == members(sql)
    assert verify(lk)[0] == [] and verify(sql)[0] == []


def test_a_close_after_posts_of_its_month_counts_each_bill_once(story, monkeypatch):
    for store in STORES:
        monkeypatch.setenv("WEIXI_LEDGER_STORE", store)
        engine, root = story[store]
        done = close_month(engine, root / "data", "2026-09")
        assert done["accrual"]["posted"] == 0  # every bill and recharge of the month was posted by the file
    (sql, _), (lk, lk_root) = story["sql"], story["lake"]
    files = lake.file_uris(accruals_dir(lk_root / "data"))
    dupes = duckdb.sql(
        f"SELECT event_id, count(*) FROM read_parquet({files!r}) GROUP BY 1 HAVING count(*) > 1"
    ).fetchall()
    assert dupes == []
    assert members(lk) == members(sql)
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    assert verify(lk)[0] == [] and verify(sql)[0] == []
    for m in [r[0] for r in members(sql)][::50]:
        assert queries.balance(lk, m, date(2026, 12, 31)) == queries.balance(sql, m, date(2026, 12, 31))


# ----------------------------------------------------------------------------------------------- kill -9
CHILD = """
import os, signal, sys
from pathlib import Path
from typer.testing import CliRunner
import weixi.close.accrual_lake as al
from weixi.cli import app

db, file = sys.argv[1:3]
real = al.lake.commit_files
def commit_then_die(*a, **k):
    real(*a, **k)
    os.kill(os.getpid(), signal.SIGKILL)  # the Delta commit is in, the SQL step not yet
al.lake.commit_files = commit_then_die
CliRunner().invoke(app, ["events", "post", file, "--db", db], catch_exceptions=False)
"""


def test_kill_9_between_the_lake_commit_and_the_sql_step_then_a_rerun_gives_the_clean_run(
    operator, tmp_path, monkeypatch
):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    runs = {}
    for name in ("clean", "crash"):
        engine, data = _ledger(tmp_path / name, operator)
        file = event_file(data, "2026-09", tmp_path / f"{name}.csv")
        if name == "crash":
            engine.dispose()
            env = {**os.environ, "WEIXI_DATA": str(data), "PYTHONPATH": os.pathsep.join(sys.path)}
            child = subprocess.run(
                [sys.executable, "-c", CHILD, str(tmp_path / name / "ledger.db"), str(file)], env=env
            )
            assert child.returncode == -9
            assert lake.app_version(accruals_dir(data), "weixi-post") == 1
            with engine.connect() as conn:
                assert execute(conn, "SELECT count(*) FROM lake_months")[0][0] == 0
                assert execute(conn, "SELECT count(*) FROM members")[0][0] == 0
        out = post(tmp_path / name, file, "lake")
        if name == "crash":  # the rerun applies the committed post first: every row is then a duplicate
            assert (out["posted"], out["duplicate"]) == (0, len(_ids(file)))
        runs[name] = engine
    assert _state(runs["crash"]) == _state(runs["clean"])
    assert verify(runs["crash"])[0] == []
