"""The lake ledger (issue 21, ``WEIXI_LEDGER_STORE=lake``): the close writes a month's accruals to the Delta table
``DATA/lake/accruals`` and a member's lake months are folded into the SQL ledger when the member is first touched.

Issue 21: "inside the transaction that locks the member, read the member's unfolded months from the lake (a committed
watermark table names which months are in), insert the same events, lots and earn entries the close writes today,
and record how far the member is folded. Then the Book runs unchanged: earliest-expiring lots first, a refund from
its bill's own lot ... A fold is idempotent by ids and a crash rolls it back." and "The SQL ledger grows by at most 50
bytes per bill of a closed month (today ~400)." and "Kill -9 at any point of a close, a fold or a post, then rerun:
identical to a clean run (extend today's crash matrix to the lake commit and the fold)."
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.integration.lake_plan import balances_of, lake_plan, richest
from weixi.adapters import lake, schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.close import store
from weixi.close.accrual import accrue
from weixi.close.months import first_day, next_month
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import queries
from weixi.ledger.expire import expire
from weixi.ledger.fold import accruals_dir, ensure_folded, fold, unfolded_earned, unfolded_lots
from weixi.ledger.redemption import redeem
from weixi.ledger.reversal import reverse
from weixi.ledger.verify import verify
from weixi.plans.service import active_plan, apply_plan

pytestmark = pytest.mark.file_order  # a story over the module fixtures: the first test folds every member it reads
TZ = ZoneInfo("Asia/Shanghai")
MONTHS = ["2026-08", "2026-09", "2026-10"]
PLAN = lake_plan("lake-ledger")
LONG_PLAN = PLAN.replace("expiry: {end_of_month_after: 2}", "expiry: {end_of_month_after: 30}")


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lake-operator") / "data"
    generate(GenerateConfig(members=400, months=3, seed=29, out=str(out), end_month="2026-10"))
    return out


def _ledger(root: Path, operator: Path, plan_text: str = PLAN):
    data = root / "data"
    shutil.copytree(operator, data)
    (root / "plan.yaml").write_text(plan_text, encoding="utf-8")
    engine = make_engine(str(root / "ledger.db"))
    schema.upgrade(engine)
    apply_plan(engine, root / "plan.yaml")
    return engine, data


@pytest.fixture(scope="module")
def both(operator, tmp_path_factory):
    """The same three months closed with the SQL store and with the lake."""
    out = {}
    mp = pytest.MonkeyPatch()
    try:
        for store_name in ("sql", "lake"):
            mp.setenv("WEIXI_LEDGER_STORE", store_name)
            engine, data = _ledger(tmp_path_factory.mktemp(store_name), operator)
            for month in MONTHS:
                close_month(engine, data, month)
            out[store_name] = (engine, data)
    finally:
        mp.undo()
    return out


def _members(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in execute(conn, "SELECT member_id FROM members ORDER BY member_id")]


def _statement(engine, member_id: str) -> dict:
    out = queries.statement(engine, member_id, None, None)
    for line in out["lines"]:
        line.pop("entry")  # the journal's row id: the fold inserts a member's rows when first touched
    return out


def test_the_lake_close_gives_the_sql_close_s_figures_balances_and_statements(both, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    (sql, sql_data), (lk, lake_data) = both["sql"], both["lake"]
    for month in MONTHS:
        a, b = store.read_manifest(sql_data, month), store.read_manifest(lake_data, month)
        assert {**a["accrual"], "seconds": None} == {**b["accrual"], "seconds": None}
        assert a["expiry"] == b["expiry"]
        assert a["summary"] == b["summary"]  # the ledger totals and programme figures read both stores
    assert lake.table_version(accruals_dir(lake_data)) is not None
    assert verify(lk)[0] == []  # before any fold
    # a member's balance is the SQL balance and the lake's unfolded points; the close wrote no SQL balance
    assert balances_of(lk) == balances_of(sql) and sum(balances_of(sql).values()) > 0
    with lk.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM members WHERE balance <> 0")[0][0] == 0
    members = _members(sql)
    assert members == _members(lk)
    for member in members[::5]:
        for at in (date(2026, 9, 15), date(2026, 12, 31), date(2027, 3, 1)):
            assert queries.balance(sql, member, at) == queries.balance(lk, member, at)
        assert _statement(sql, member) == _statement(lk, member)
    assert verify(lk)[0] == []  # after folding some members
    assert verify(sql)[0] == []


def test_the_unfolded_lots_and_earn_entries_complete_the_sql_tables(both, monkeypatch):
    """What a reader of ``lots`` or of the journal's earn entries adds with the lake (churn features, care runs,
    campaign measures): SQL plus unfolded lake equals the SQL store's own tables."""
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    (sql, _), (lk, _) = both["sql"], both["lake"]
    lots, earned = unfolded_lots(lk), unfolded_earned(lk, date(2026, 8, 1), date(2026, 11, 1))
    with sql.connect() as a, lk.connect() as b:
        q_lots = "SELECT count(*), coalesce(sum(remaining), 0) FROM lots WHERE points > 0"
        q_earn = "SELECT count(*), coalesce(sum(points), 0) FROM journal WHERE kind = 'earn'"
        sql_lots, lk_lots = execute(a, q_lots)[0], execute(b, q_lots)[0]
        sql_earn, lk_earn = execute(a, q_earn)[0], execute(b, q_earn)[0]
    assert lots.num_rows and sql_lots == (
        lk_lots[0] + lots.num_rows,
        lk_lots[1] + sum(lots["remaining"].to_pylist()),
    )
    assert sql_earn == (lk_earn[0] + earned.num_rows, lk_earn[1] + sum(earned["points"].to_pylist()))


def _file_bytes(path: Path) -> int:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]


def test_the_sql_ledger_grows_by_at_most_50_bytes_per_bill_of_a_closed_month(operator, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path, operator)
    close_month(engine, data, MONTHS[0])  # the members arrive (one row each, not one per bill)
    engine.dispose()
    before = _file_bytes(tmp_path / "ledger.db")
    result = close_month(engine, data, MONTHS[1])
    engine.dispose()
    grown = _file_bytes(tmp_path / "ledger.db") - before
    bills = result["accrual"]["bills"] + result["accrual"]["recharges"]
    assert bills > 500
    assert grown / bills <= 50, (grown, bills)


def _counts(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            execute(conn, f"SELECT count(*) FROM {t}")[0][0] for t in ("events", "lots", "journal", "ledger_folds")
        )


def test_a_fold_is_idempotent_and_rolled_back_with_its_transaction(both, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, _ = both["lake"]
    member = _members(engine)[-1]
    before = _counts(engine)
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            assert fold(conn, [member]) > 0
            raise RuntimeError("crash")
    assert _counts(engine) == before
    assert ensure_folded(engine, [member]) > 0
    once = _counts(engine)
    assert once[0] > before[0]
    with engine.begin() as conn:
        assert fold(conn, [member]) == 0
    assert ensure_folded(engine, [member]) == 0
    assert _counts(engine) == once
    assert verify(engine)[0] == []
    with engine.begin() as conn:  # a folded lot that no longer says what the lake gave it is found
        lot = execute(conn, "SELECT lot_id, points FROM lots WHERE member_id = ? LIMIT 1", [member])[0]
        execute(conn, "UPDATE lots SET points = points + 1 WHERE lot_id = ?", [lot[0]])
    assert [(m.what, m.key, m.expected, m.found) for m in verify(engine)[0]] == [
        ("lake-lot", lot[0], lot[1], lot[1] + 1)
    ]
    with engine.begin() as conn:
        execute(conn, "UPDATE lots SET points = points - 1 WHERE lot_id = ?", [lot[0]])


def _accrue_months(engine, data: Path, months: list[str]) -> None:
    """The ledger's part of the close, month by month: the accrual into the lake, then expiry."""
    with engine.connect() as conn, conn.begin():
        version, plan = active_plan(conn)
    for month in months:
        accrue(engine, data, month, TZ, None, plan, version)
        expire(engine, first_day(next_month(month)))


@pytest.fixture(scope="module")
def twelve(tmp_path_factory):
    """Twelve lake months of a small operator, with expiry 30 months after: every lot still live."""
    root = tmp_path_factory.mktemp("twelve")
    source = root / "source"
    generate(GenerateConfig(members=40, months=12, seed=31, out=str(source), end_month="2026-10"))
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "lake")
    try:
        engine, data = _ledger(root / "ledger", source, LONG_PLAN)
        months = [f"2025-{m:02d}" for m in range(11, 13)] + [f"2026-{m:02d}" for m in range(1, 11)]
        _accrue_months(engine, data, months)
    finally:
        mp.undo()
    return engine, data, months


def test_a_redemption_of_a_member_with_twelve_unfolded_months_spends_the_earliest_expiring_lots_first(
    twelve, monkeypatch
):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, _, months = twelve
    with engine.connect() as conn:
        assert [r[0] for r in execute(conn, "SELECT month FROM lake_months ORDER BY month")] == months
        assert execute(conn, "SELECT count(*) FROM lots")[0][0] == 0  # nothing of the lake in SQL yet
    member = richest(engine)
    balance = balances_of(engine)[member]  # over both stores: the SQL balance lacks the unfolded months
    with engine.connect() as conn:
        assert execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member])[0][0] == 0
    qty = balance // 50
    assert qty >= 2
    out = redeem(engine, member, "gift", qty=qty, at=datetime(2026, 11, 3, 10, tzinfo=TZ))
    assert out.redemption["points"] == 50 * qty
    with engine.connect() as conn:
        lots = execute(
            conn,
            "SELECT lot_id, expires_on, points, remaining FROM lots WHERE member_id = ? "
            "ORDER BY expires_on, earned_on, lot_id",
            [member],
        )
        folded = execute(conn, "SELECT month FROM ledger_folds WHERE member_id = ?", [member])[0][0]
        after = execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member])[0][0]
    assert folded == months[-1]
    assert len({str(l[1])[:7] for l in lots}) >= 10  # lots of many lake months came in
    taken = [l[2] - l[3] for l in lots]
    emptied = [t == p for t, (_, _, p, _) in zip(taken, lots)]
    # earliest-expiring first: every lot before the last one touched is emptied, none after it is touched
    last = max(i for i, t in enumerate(taken) if t)
    assert all(emptied[:last]) and not any(taken[last + 1 :])
    assert sum(taken) == 50 * qty and after == balance - 50 * qty >= 0
    assert verify(engine)[0] == []


def test_a_refund_of_a_lake_bill_takes_its_own_lot(twelve, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data, months = twelve
    with engine.connect() as conn:
        folded = {r[0] for r in execute(conn, "SELECT member_id FROM ledger_folds")}
    files = lake.file_uris(accruals_dir(data), partition={"month": months[-2]})
    import duckdb

    rows = duckdb.sql(
        f"SELECT event_id, member_id, earned FROM read_parquet({files!r}) WHERE earned > 0 ORDER BY member_id, seq"
    ).fetchall()
    event_id, member, earned = next(r for r in rows if r[1] not in folded)
    result = reverse(engine, event_id, at=datetime(2026, 11, 4, 9, tzinfo=TZ))
    assert not result.duplicate
    with engine.connect() as conn:
        lot = execute(conn, "SELECT points, remaining FROM lots WHERE lot_id = ?", [event_id])[0]
        entries = execute(
            conn, "SELECT kind, points, lot_id FROM journal WHERE event_id = ? ORDER BY id", [f"reverse:{event_id}"]
        )
    assert lot == (earned, 0)
    assert entries and all(e[2] == event_id for e in entries) and sum(e[1] for e in entries) == -earned
    assert verify(engine)[0] == []


# ----------------------------------------------------------------------------------------------- kill -9
CHILD = """
import os, signal, sys
from pathlib import Path
from weixi.adapters import lake
from weixi.adapters.db import make_engine
from weixi.close.run import close_month
from weixi.ledger import fold as fold_mod

where, db, data, month = sys.argv[1:5]
if where.endswith("-held"):  # the members' update in its own child, held open while the files are written
    import weixi.close.accrual_lake as held
    held.APPLY_CHILD_MIN = 0
    where = where[: -len("-held")]
def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
if where == "before-commit":
    lake.commit_files = die
elif where == "after-commit":
    real = lake.commit_files
    def commit_then_die(*a, **k):
        real(*a, **k)
        if "accruals" in str(a[0]):
            die()
    lake.commit_files = commit_then_die
    import weixi.close.accrual_lake as al
    al.lake.commit_files = commit_then_die
elif where == "fold":
    real_many = fold_mod.executemany
    calls = []
    def many_then_die(conn, sql, rows):
        real_many(conn, sql, rows)
        calls.append(sql)
        if len(calls) == 3:  # events, lots and journal rows inserted; the fold mark not yet
            die()
    fold_mod.executemany = many_then_die
    from weixi.ledger.fold import ensure_folded
    ensure_folded(make_engine(db), [month])
    sys.exit(0)
close_month(make_engine(db), Path(data), month)
"""


def _child(where: str, db: Path, data: Path, arg: str) -> int:
    env = {**os.environ, "WEIXI_LEDGER_STORE": "lake", "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-c", CHILD, where, str(db), str(data), arg], env=env).returncode


def _state(engine) -> dict:
    with engine.connect() as conn:
        return {
            "members": execute(
                conn, "SELECT member_id, tier, first_spend_on, paid, balance, debt FROM members ORDER BY 1"
            ),
            "events": execute(conn, "SELECT * FROM events ORDER BY event_id"),
            "lots": execute(conn, "SELECT * FROM lots ORDER BY lot_id"),
            "journal": execute(
                conn,
                "SELECT member_id, day, kind, points, lot_id, event_id, rule_id, note FROM journal "
                "ORDER BY member_id, day, kind, lot_id, rule_id, points",
            ),
            "lake_months": execute(conn, "SELECT month, accruals_version FROM lake_months ORDER BY 1"),
            "folds": execute(conn, "SELECT * FROM ledger_folds ORDER BY 1"),
        }


def test_kill_9_during_a_fold_rolls_it_back_and_the_rerun_folds_once(both, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    clean, clean_data = both["lake"]
    root = tmp_path / "copy"
    shutil.copytree(clean_data.parent, root)
    clean.dispose()
    engine = make_engine(str(root / "ledger.db"))
    with engine.begin() as conn:  # the copy's watermark names its own lake
        execute(conn, "UPDATE lake_months SET lake_dir = ?", [str((root / "data" / "lake").resolve())])
    member = _members(engine)[1]
    before = _state(engine)
    engine.dispose()
    assert _child("fold", root / "ledger.db", root / "data", member) == -9
    assert _state(engine) == before
    assert ensure_folded(engine, [member]) > 0
    assert ensure_folded(engine, [member]) == 0
    assert verify(engine)[0] == []
    assert queries.balance(engine, member, date(2026, 12, 31)) == queries.balance(clean, member, date(2026, 12, 31))


@pytest.mark.parametrize("where", ["before-commit", "after-commit", "before-commit-held", "after-commit-held"])
def test_kill_9_during_the_lake_commit_then_a_rerun_gives_the_clean_run(both, operator, tmp_path, monkeypatch, where):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    clean, _ = both["lake"]
    engine, data = _ledger(tmp_path, operator)
    engine.dispose()
    for month in MONTHS:
        if month == MONTHS[1]:
            assert _child(where, tmp_path / "ledger.db", data, month) == -9
        close_month(engine, data, month)
    everyone = _members(clean)
    ensure_folded(engine, everyone)  # the SQL ledger then holds every row of both: compare them all
    ensure_folded(clean, everyone)
    assert _state(engine) == _state(clean)
    assert lake.app_version(accruals_dir(data), "weixi-accrual") == 202610
    assert verify(engine)[0] == []


def _debtor_twist(engine, member: str) -> None:
    """The member spends every point, then a refund of a spent bill leaves them owing: the Book must handle them."""
    with engine.connect() as conn:
        bill = execute(
            conn, "SELECT event_id FROM events WHERE member_id = ? AND earned > 0 ORDER BY event_id LIMIT 1", [member]
        )
    if not bill:  # the lake holds it: the first of the member's lake bills
        assert queries.balance(engine, member, date(2026, 9, 1)) is not None  # folds the member
        with engine.connect() as conn:
            bill = execute(
                conn,
                "SELECT event_id FROM events WHERE member_id = ? AND earned > 0 ORDER BY event_id LIMIT 1",
                [member],
            )
    with engine.connect() as conn:  # folded: the SQL balance holds every point
        balance = execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member])[0][0]
    redeem(engine, member, "gift", qty=balance // 50, request_id="twist", at=datetime(2026, 9, 2, 10, tzinfo=TZ))
    reverse(engine, bill[0][0], at=datetime(2026, 9, 2, 11, tzinfo=TZ))


def test_a_member_the_book_must_handle_goes_through_the_book_and_ends_where_the_sql_store_ends(
    operator, tmp_path, monkeypatch
):
    ends = {}
    for store_name in ("sql", "lake"):
        monkeypatch.setenv("WEIXI_LEDGER_STORE", store_name)
        engine, data = _ledger(tmp_path / store_name, operator)
        _accrue_months(engine, data, MONTHS[:1])
        member = min(m for m, b in balances_of(engine).items() if b >= 100)  # over both stores
        _debtor_twist(engine, member)
        with engine.connect() as conn:
            owes = execute(conn, "SELECT debt, balance FROM members WHERE member_id = ?", [member])[0]
        assert owes[0] > 0 or owes[1] < 0  # a debt or a negative balance: the Book's case
        _accrue_months(engine, data, MONTHS[1:])
        if store_name == "lake":
            with engine.connect() as conn:  # the member's later months went through the Book, into SQL
                assert (
                    execute(conn, "SELECT count(*) FROM events WHERE member_id = ? AND day >= '2026-09-01'", [member])[
                        0
                    ][0]
                    > 1
                )
        assert verify(engine)[0] == []
        ends[store_name] = (engine, member)
    (sql, member), (lk, _) = ends["sql"], ends["lake"]
    for m in [member, *_members(sql)[::20]]:
        assert queries.balance(sql, m, date(2026, 12, 31)) == queries.balance(lk, m, date(2026, 12, 31))
        assert _statement(sql, m) == _statement(lk, m)
    assert verify(lk)[0] == []
