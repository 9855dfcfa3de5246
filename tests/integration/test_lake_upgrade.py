"""Upgrading a ledger made in ``sql`` mode to the lake in place, and ``balance --at`` from a past lake version.

Issue 21, "Migration": "an existing database and data folder upgrade in place (Alembic plus a one-off backfill of the
lake from the SQL journal), tested on a three-month operator made with today's code; nothing changes in any
balance." and "Kill -9 at any point of a close, a fold or a post, then rerun: identical to a clean run"; "any past
close re-derived from the Delta version it recorded (time travel: ``balance --at`` a past date answers from that
version)."
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import weixi.cli  # noqa: F401  (registers every command)
from tests.api.conftest import PASSWORD
from tests.integration.lake_plan import balances_of
from tests.integration.test_lake_ledger import PLAN, _ledger, _members, _statement
from weixi.adapters import lake
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.api.app import create_app
from weixi.cli.app import app
from weixi.close import lake_write, store
from weixi.close.accrual_lake import ACCRUAL_SCHEMA
from weixi.close.lake_upgrade import upgrade_to_lake
from weixi.close.months import month_end
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import queries
from weixi.ledger.fold import accruals_dir
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan
from weixi.users import service as users

MONTHS = ["2026-08", "2026-09", "2026-10", "2026-11"]
runner = CliRunner()


@pytest.fixture(scope="module")
def operator4(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("upgrade-operator") / "data"
    generate(GenerateConfig(members=300, months=4, seed=37, out=str(out), end_month="2026-11"))
    return out


def _copy(source: Path, target: Path) -> tuple:
    shutil.copytree(source, target)
    return make_engine(str(target / "ledger.db")), target / "data"


@pytest.fixture(scope="module")
def sql_three(operator4, tmp_path_factory) -> Path:
    """A ledger and data folder with three months closed in ``sql`` mode (a folder: ``ledger.db``, ``data/``)."""
    root = tmp_path_factory.mktemp("sql-three")
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "sql")
    try:
        engine, data = _ledger(root, operator4)
        for month in MONTHS[:3]:
            close_month(engine, data, month)
        engine.dispose()
    finally:
        mp.undo()
    return root


@pytest.fixture(scope="module")
def all_sql(sql_three, tmp_path_factory):
    """The same operator, the fourth month closed in ``sql`` mode too."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "sql")
    try:
        engine, data = _copy(sql_three, tmp_path_factory.mktemp("all-sql") / "run")
        close_month(engine, data, MONTHS[3])
    finally:
        mp.undo()
    return engine, data


def _upgrade_cli(root: Path, *extra: str):
    return runner.invoke(
        app, ["ledger", "upgrade-lake", "--data", str(root / "data"), "--db", str(root / "ledger.db"), *extra]
    )


def _lake_rows(data: Path) -> list[tuple]:
    files = lake.file_uris(accruals_dir(data))
    return duckdb.sql(
        f"SELECT * EXCLUDE (month), month FROM read_parquet({files!r}, hive_partitioning = true) ORDER BY event_id"
    ).fetchall()


def _switched(engine) -> tuple:
    with engine.connect() as conn:
        return (
            execute(conn, "SELECT month, accruals_version, result FROM lake_months ORDER BY month"),
            execute(conn, "SELECT member_id, month FROM ledger_folds ORDER BY member_id"),
        )


@pytest.fixture(scope="module")
def upgraded(sql_three, tmp_path_factory):
    """The three ``sql`` months upgraded by the CLI (twice: the second run changes nothing)."""
    root = tmp_path_factory.mktemp("upgraded") / "run"
    engine, data = _copy(sql_three, root)
    before = {m: queries.balance(engine, m, date(2026, 12, 31)) for m in _members(engine)}
    first = _upgrade_cli(root, "--json")
    assert first.exit_code == 0, first.output
    again = _upgrade_cli(root)
    assert again.exit_code == 0 and "nothing changed" in again.output
    return engine, data, root, json.loads(first.output), before


def test_the_upgrade_backfills_the_closed_months_and_changes_no_balance(upgraded, sql_three):
    engine, data, _, done, before = upgraded
    assert done["months"] == MONTHS[:3] and not done["already"]
    with engine.connect() as conn:
        bills = execute(conn, "SELECT count(*) FROM events WHERE type IN ('bill', 'recharge')")[0][0]
        members = execute(conn, "SELECT count(*) FROM members")[0][0]
    assert done["members"] == members > 0
    assert 0.9 * bills < done["rows"] <= bills  # the Book's cases (debt repaid, a negative lot) stay in SQL only
    assert lake.app_version(accruals_dir(data), "weixi-accrual") == 202610
    months, folds = _switched(engine)
    assert [m[0] for m in months] == MONTHS[:3] and {f[1] for f in folds} == {MONTHS[2]}
    assert all(json.loads(m[2])["result"]["posted"] > 0 for m in months)
    # the lake holds the rows the lake close would have written: each bill with its points and earn entries
    row = duckdb.sql(
        f"SELECT event_id, earned, list_sum([e.points FOR e IN entries]) FROM "
        f"read_parquet({lake.file_uris(accruals_dir(data))!r}) WHERE earned > 0 LIMIT 1"
    ).fetchone()
    assert row[1] == row[2]
    with engine.connect() as conn:
        assert execute(conn, "SELECT earned FROM events WHERE event_id = ?", [row[0]])[0][0] == row[1]
    after = {m: queries.balance(engine, m, date(2026, 12, 31)) for m in _members(engine)}
    assert after == before  # nothing changes in any balance
    assert verify(engine)[0] == []


def test_after_the_upgrade_the_next_close_writes_to_the_lake_and_equals_an_all_sql_run(
    upgraded, all_sql, tmp_path, monkeypatch
):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    _, _, root, _, _ = upgraded
    engine, data = _copy(root, tmp_path / "run")
    with engine.begin() as conn:  # the copy's watermark names its own lake
        execute(conn, "UPDATE lake_months SET lake_dir = ?", [str((data / "lake").resolve())])
    close_month(engine, data, MONTHS[3])
    assert lake.app_version(accruals_dir(data), "weixi-accrual") == 202611
    sql, sql_data = all_sql
    with engine.connect() as a, sql.connect() as b:
        q = "SELECT count(*) FROM events WHERE day >= '2026-11-01'"
        assert execute(a, q)[0][0] < execute(b, q)[0][0]  # the month's bills are in the lake, not in SQL
    mine, theirs = store.read_manifest(data, MONTHS[3]), store.read_manifest(sql_data, MONTHS[3])
    assert {**mine["accrual"], "seconds": None} == {**theirs["accrual"], "seconds": None}
    assert mine["summary"] == theirs["summary"]
    assert store.read(data, "snapshots", MONTHS[3]) == store.read(sql_data, "snapshots", MONTHS[3])
    assert verify(engine)[0] == []  # before any fold
    for member in _members(sql)[::3]:
        for at in (date(2026, 10, 31), date(2026, 11, 30), date(2027, 3, 1)):
            assert queries.balance(engine, member, at) == queries.balance(sql, member, at)
        assert _statement(engine, member) == _statement(sql, member)
    assert verify(engine)[0] == []  # after folding a third of the members
    result = runner.invoke(app, ["verify", "--db", str(tmp_path / "run" / "ledger.db"), "--data", str(data)])
    assert result.exit_code == 0, result.output


CHILD = """
import os, signal, sys
from pathlib import Path
from weixi.adapters import lake
from weixi.adapters.db import make_engine
from weixi.close import lake_upgrade

where, db, data = sys.argv[1:4]
def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
if where == "second-commit":
    real, calls = lake.commit_files, []
    def commit(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            real(*a, **k)
            die()
        return real(*a, **k)
    lake_upgrade.lake.commit_files = commit
elif where == "before-commit":
    lake_upgrade.lake.commit_files = die
else:  # every month in the lake, the SQL switch not made
    lake_upgrade._switch = die
lake_upgrade.upgrade_to_lake(make_engine(db), Path(data))
"""


@pytest.mark.parametrize("where", ["before-commit", "second-commit", "switch"])
def test_kill_9_during_the_upgrade_then_a_rerun_gives_the_clean_upgrade(upgraded, sql_three, tmp_path, where):
    clean, clean_data, _, _, _ = upgraded
    engine, data = _copy(sql_three, tmp_path / "run")
    engine.dispose()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, "-c", CHILD, where, str(tmp_path / "run" / "ledger.db"), str(data)]
    assert subprocess.run(args, env=env).returncode == -9
    with engine.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM lake_months")[0][0] == 0  # the switch is all or nothing
    done = upgrade_to_lake(engine, data)
    assert done.months == MONTHS[:3]
    assert _lake_rows(data) == _lake_rows(clean_data)
    mine, theirs = _switched(engine), _switched(clean)
    assert [m[0] for m in mine[0]] == [m[0] for m in theirs[0]] and mine[1] == theirs[1]
    assert verify(engine)[0] == []


# ------------------------------------------------------------------------------------ balance --at, time travel


@pytest.fixture(scope="module")
def lake_three(operator4, tmp_path_factory):
    """The same three months closed in ``lake`` mode from the start."""
    root = tmp_path_factory.mktemp("lake-three")
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "lake")
    try:
        engine, data = _ledger(root, operator4)
        for month in MONTHS[:3]:
            close_month(engine, data, month)
    finally:
        mp.undo()
    return engine, data, root


def test_a_big_month_is_backfilled_in_member_range_files_with_the_same_rows(upgraded, sql_three, tmp_path, monkeypatch):
    # as the close writes a month of more than lake_write.FILE_ROWS rows: files by member range, so a fold of an
    # upgraded month parses the footer of one file, not of one holding every member
    _, whole, _, _, _ = upgraded
    engine, data = _copy(sql_three, tmp_path / "run")
    monkeypatch.setattr(lake_write, "FILE_ROWS", 300)
    upgrade_to_lake(engine, data)
    for month in MONTHS[:3]:
        files = lake.file_uris(accruals_dir(data), partition={"month": month})
        assert len(files) >= 2
        spans = [duckdb.sql(f"SELECT min(member_id), max(member_id) FROM '{f}'").fetchone() for f in files]
        assert all(a[1] < b[0] for a, b in zip(sorted(spans), sorted(spans)[1:]))  # disjoint ranges
    assert _lake_rows(data) == _lake_rows(whole)
    assert verify(engine)[0] == []
    engine.dispose()


def test_the_backfilled_rows_are_the_rows_the_lake_close_writes(upgraded, lake_three):
    _, upgraded_data, _, _, _ = upgraded
    _, lake_data, _ = lake_three
    mine = {r[0]: r for r in _lake_rows(upgraded_data)}
    theirs = {r[0]: r for r in _lake_rows(lake_data)}
    seq = ACCRUAL_SCHEMA.names.index("seq")
    same = [e for e in theirs if e in mine]
    assert same and set(mine) == set(theirs)  # no debtor here: every bill of the months is a lake row
    assert all(mine[e][:seq] + mine[e][seq + 1 :] == theirs[e][:seq] + theirs[e][seq + 1 :] for e in same)
    month = len(ACCRUAL_SCHEMA.names)  # the partition column, after the file's columns
    member = ACCRUAL_SCHEMA.names.index("member_id")
    # the posting order of each member's rows within each month (the close numbers its rows in member order, the
    # backfill in the SQL ledger's order: the numbers differ, each member's order does not)
    assert sorted(same, key=lambda e: (mine[e][month], mine[e][member], mine[e][seq])) == sorted(
        same, key=lambda e: (theirs[e][month], theirs[e][member], theirs[e][seq])
    )


def test_balance_at_a_past_date_answers_from_the_lake_version_its_month_s_close_recorded(lake_three, all_sql):
    engine, data, root = lake_three
    versions = {m: store.close_versions(data, m)["lake/accruals"] for m in MONTHS[:3]}
    assert versions[MONTHS[0]] < versions[MONTHS[1]] < versions[MONTHS[2]]
    sql, _ = all_sql
    with engine.connect() as conn:
        untouched = execute(
            conn,
            "SELECT m.member_id FROM members m WHERE m.member_id NOT IN (SELECT member_id FROM ledger_folds) "
            "AND m.member_id NOT IN (SELECT member_id FROM events) ORDER BY m.member_id",
        )
    both = balances_of(engine)  # over both stores: the member's SQL balance is 0 until a fold
    member = next(m for (m,) in untouched if both[m] > 0)
    at = month_end(MONTHS[1])
    past = queries.balance(engine, member, at, lake_version=versions[MONTHS[1]])
    expected = queries.balance(sql, member, at)
    assert {**past, "recorded_balance": None} == {**expected, "recorded_balance": None}
    assert past["recorded_balance"] == both[member] > 0  # today's balance over both stores
    assert past["balance"] > 0
    # read at the version month 1's close recorded, month 2's lots are not there: the version is the one read
    earlier = queries.balance(engine, member, at, lake_version=versions[MONTHS[0]])
    assert earlier["balance"] == sum(
        lot["remaining"] for lot in expected["lots"] if lot["earned_on"] <= str(month_end(MONTHS[0]))
    )
    with engine.connect() as conn:  # time travel reads: the member is still never touched
        assert not execute(conn, "SELECT 1 FROM ledger_folds WHERE member_id = ?", [member])
        assert not execute(conn, "SELECT 1 FROM events WHERE member_id = ?", [member])
    # the CLI finds the version from the close of the date's month
    out = runner.invoke(
        app,
        ["balance", member, "--at", str(at), "--db", str(root / "ledger.db"), "--data", str(data), "--json"],
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["balance"] == expected["balance"]
    # and so does the API
    api = create_app(str(root / "ledger.db"), str(data))
    token = users.issue_token(api.state.engine, users.create_user(api.state.engine, "analyst", PASSWORD, "analyst"))
    with TestClient(api) as client:
        got = client.get(
            f"/api/members/{member}/balance", params={"at": str(at)}, headers={"Authorization": f"Bearer {token}"}
        )
    assert got.status_code == 200, got.text
    assert got.json()["balance"] == expected["balance"]
    with engine.connect() as conn:
        assert not execute(conn, "SELECT 1 FROM ledger_folds WHERE member_id = ?", [member])


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_postgresql_ledger_upgrades_to_the_lake_too(operator4, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "sql")
    data = tmp_path / "data"
    shutil.copytree(operator4, data)
    (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
    engine = make_engine(db_url)
    apply_plan(engine, tmp_path / "plan.yaml")
    for month in MONTHS[:2]:
        close_month(engine, data, month)
    members = _members(engine)
    before = {m: queries.balance(engine, m, date(2026, 12, 31)) for m in members[::4]}
    done = upgrade_to_lake(engine, data)
    assert done.months == MONTHS[:2] and done.rows > 0 and done.members == len(members)
    assert upgrade_to_lake(engine, data).already
    assert {m: queries.balance(engine, m, date(2026, 12, 31)) for m in before} == before
    assert verify(engine)[0] == []
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    close_month(engine, data, MONTHS[2])
    assert lake.app_version(accruals_dir(data), "weixi-accrual") == 202610
    assert verify(engine)[0] == []
    engine.dispose()
