"""The close's guarantees that the SQL store's tests check through its insides, checked for the lake
(``WEIXI_LEDGER_STORE=lake``; the SQL versions in ``test_close.py`` and ``test_accrual_sql.py`` stay as they are).

Issue 21: "Kill -9 at any point of a close, a fold or a post, then rerun: identical to a clean run (extend today's
crash matrix to the lake commit and the fold)"; "each month's commit carries an application transaction id ... so a
rerun sees the month is in and skips — this replaces the accrual marker and is atomic with the data"; "Balances,
statements, member 360, the dashboard, reports ... read one ledger view over both stores".
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from tests.integration.lake_plan import balances_of
from tests.integration.test_lake_ledger import PLAN, _debtor_twist, _members, _state
from weixi.adapters import lake, schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.close import accrual_lake, lake_apply, ledger_bridge, store
from weixi.close.months import first_day, next_month
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import posting, queries
from weixi.ledger.fold import accruals_dir, ensure_folded
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

MONTHS = ["2026-08", "2026-09"]


@pytest.fixture(autouse=True)
def _lake(monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("guarantees-operator") / "data"
    generate(GenerateConfig(members=600, months=2, seed=41, out=str(out), end_month=MONTHS[-1]))
    return out


def _new_ledger(root: Path, operator: Path):
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(operator, root / "data")
    (root / "plan.yaml").write_text(PLAN, encoding="utf-8")
    engine = make_engine(str(root / "ledger.db"))
    schema.upgrade(engine)
    apply_plan(engine, root / "plan.yaml")
    return engine, root / "data"


def _copy(source: Path, target: Path):
    shutil.copytree(source, target)
    engine = make_engine(str(target / "ledger.db"))
    with engine.begin() as conn:  # the copy's watermark names its own lake
        execute(conn, "UPDATE lake_months SET lake_dir = ?", [str((target / "data" / "lake").resolve())])
    return engine, target / "data"


@pytest.fixture(scope="module")
def first_closed(operator, tmp_path_factory) -> Path:
    """The first month closed in the lake, then a member who spends every point and has a spent bill refunded: a
    debt, so the Book posts their bills of the second month (a folder: ``ledger.db``, ``data/``)."""
    root = tmp_path_factory.mktemp("first-closed") / "run"
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "lake")
    try:
        engine, data = _new_ledger(root, operator)
        close_month(engine, data, MONTHS[0])
        assert lake.app_version(accruals_dir(data), accrual_lake.APP) == 202608  # the lake took the month
        member = min(m for m, b in balances_of(engine).items() if b >= 100)  # over both stores
        _debtor_twist(engine, member)
        with engine.connect() as conn:
            owes = execute(conn, "SELECT debt, balance FROM members WHERE member_id = ?", [member])[0]
        assert owes[0] > 0 or owes[1] < 0
        engine.dispose()
    finally:
        mp.undo()
    return root


@pytest.fixture(scope="module")
def clean(first_closed, tmp_path_factory):
    """The second month closed without a crash."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "lake")
    try:
        engine, data = _copy(first_closed, tmp_path_factory.mktemp("clean") / "run")
        close_month(engine, data, MONTHS[1])
    finally:
        mp.undo()
    return engine, data


def _lake_rows(data: Path) -> list[tuple]:
    files = lake.file_uris(accruals_dir(data))
    return duckdb.sql(f"SELECT * FROM read_parquet({files!r}, hive_partitioning = true) ORDER BY event_id").fetchall()


class Crash(Exception):
    pass


CRASH_POINTS = ["before-commit", "after-commit", "apply", "book", "finish"]


def _arm(monkeypatch, where: str) -> None:
    """Make the second month's accrual fail at ``where``: the lake commit (before or after it is made), the SQL
    step that applies it, the Book's batches of the member who owes, the record of the result."""

    def boom(*args, **kwargs):
        raise Crash(where)

    real_commit = lake.commit_files

    def commit(table_dir, *args, **kwargs):
        is_accruals = Path(table_dir) == accruals_dir(Path(table_dir).parents[1])
        if is_accruals and where == "before-commit":
            raise Crash(where)
        out = real_commit(table_dir, *args, **kwargs)
        if is_accruals and where == "after-commit":
            raise Crash(where)
        return out

    if where in ("before-commit", "after-commit"):
        monkeypatch.setattr(lake, "commit_files", commit)
    elif where == "apply":
        monkeypatch.setattr(lake_apply, "apply", boom)
    elif where == "book":
        monkeypatch.setattr(posting, "post_batch", boom)
    else:
        monkeypatch.setattr(accrual_lake, "finish", boom)


@pytest.mark.parametrize("where", CRASH_POINTS)
def test_a_crash_at_the_lake_accrual_then_a_rerun_gives_what_a_clean_run_gives(
    first_closed, clean, tmp_path, monkeypatch, where
):
    """The lake counterpart of ``test_close``'s crash matrix at ``accrual`` and ``accrual-batches``."""
    clean_engine, clean_data = clean
    engine, data = _copy(first_closed, tmp_path / "run")
    with monkeypatch.context() as m:
        _arm(m, where)
        with pytest.raises(Crash):
            close_month(engine, data, MONTHS[1])
    close_month(engine, data, MONTHS[1])
    assert store.read(data, "snapshots", MONTHS[1]) == store.read(clean_data, "snapshots", MONTHS[1])
    assert _lake_rows(data) == _lake_rows(clean_data)
    assert _state(engine) == _state(clean_engine)
    assert verify(engine)[0] == []
    everyone = _members(clean_engine)  # then the SQL ledger holds every row of both: compare them all
    ensure_folded(engine, everyone)
    assert _state(engine) == _state(_folded(clean_engine, clean_data, tmp_path))
    assert verify(engine)[0] == []


def _folded(clean_engine, clean_data: Path, tmp_path: Path):
    """A copy of the clean run with every member folded (the clean run itself stays unfolded for the others)."""
    clean_engine.dispose()
    engine, _ = _copy(clean_data.parent, tmp_path / "clean-copy")
    ensure_folded(engine, _members(engine))
    return engine


def test_a_ledger_made_anew_does_not_trust_the_lake_watermark_of_another_database(operator, tmp_path):
    """The SQL store's accrual marker is replaced by the lake's application transaction and ``lake_months``: a
    database made anew beside a lake that holds the month takes the month from the lake (nothing posted twice,
    nothing skipped) instead of believing it is in."""
    engine, data = _new_ledger(tmp_path / "run", operator)
    close_month(engine, data, MONTHS[0])
    rows = _lake_rows(data)
    with engine.connect() as conn:
        before = execute(conn, "SELECT member_id, balance, first_spend_on, paid FROM members ORDER BY member_id")
    balances = {m: queries.balance(engine, m, date(2026, 9, 30)) for m in _members(engine)[::7]}
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):  # the same database file (same URL), deleted and made anew
        Path(str(tmp_path / "run" / "ledger.db") + suffix).unlink(missing_ok=True)
    shutil.rmtree(data / "close" / "closes")  # and the month not closed any more
    again = make_engine(str(tmp_path / "run" / "ledger.db"))
    schema.upgrade(again)
    apply_plan(again, tmp_path / "run" / "plan.yaml")
    with again.connect() as conn:
        assert execute(conn, "SELECT count(*) FROM lake_months")[0][0] == 0
    done = close_month(again, data, MONTHS[0])
    assert done["accrual"]["posted"] + done["accrual"]["duplicates"] > 0
    assert _lake_rows(data) == rows  # nothing posted twice
    with again.connect() as conn:
        assert [r[0] for r in execute(conn, "SELECT month FROM lake_months")] == [MONTHS[0]]
        assert (
            execute(conn, "SELECT member_id, balance, first_spend_on, paid FROM members ORDER BY member_id") == before
        )
    assert {m: queries.balance(again, m, date(2026, 9, 30)) for m in balances} == balances
    assert verify(again)[0] == []
    again.dispose()


def test_the_months_ledger_totals_count_that_month_only(clean):
    """Points earned and the month's totals count the month's rows only: the SQL journal's entries dated in it
    and the lake's unfolded rows of it, never the other month's."""
    engine, data = clean
    month = MONTHS[1]
    with engine.connect() as conn:
        folds = execute(conn, "SELECT member_id, month FROM ledger_folds")
        sql_earned = {
            m: execute(
                conn,
                "SELECT coalesce(sum(points), 0) FROM journal WHERE kind = 'earn' AND day >= ? AND day < ?",
                [first_day(m).isoformat(), first_day(next_month(m)).isoformat()],
            )[0][0]
            for m in MONTHS
        }
    con = duckdb.connect()
    con.register("folds", pa.table({"member_id": [f[0] for f in folds], "month": [f[1] for f in folds]}))
    lake_earned = {
        m: con.execute(
            f"SELECT coalesce(sum(a.earned), 0) FROM read_parquet({lake.file_uris(accruals_dir(data), partition={'month': m})!r}) a "
            f"LEFT JOIN folds f USING (member_id) WHERE coalesce(f.month, '') < '{m}'"
        ).fetchone()[0]
        for m in MONTHS
    }
    assert len(folds) == 1 and all(lake_earned.values()) and sql_earned[month] > 0  # the debtor's bills: SQL
    with engine.connect() as conn:  # the SQL side reads the month's entries through the day index
        for sql in (
            "SELECT member_id, sum(points) FROM journal WHERE kind = 'earn' AND day >= ? AND day < ? "
            "GROUP BY member_id",
            "SELECT kind, coalesce(sum(points), 0) FROM journal WHERE day >= ? AND day < ? GROUP BY kind",
        ):
            plan = " ".join(
                str(r[-1])
                for r in execute(conn, "EXPLAIN QUERY PLAN " + sql, [first_day(month), first_day(next_month(month))])
            )
            assert "ix_journal_day" in plan and "SCAN journal" not in plan, plan
    earned = ledger_bridge.points_earned(engine, month)
    assert sum(earned["points_earned"].to_pylist()) == lake_earned[month] + sql_earned[month]
    assert ledger_bridge.lake_totals(engine, month)[0] == lake_earned[month]
    assert ledger_bridge.month_totals(engine, month)["issued"] >= lake_earned[month] + sql_earned[month]
    first = ledger_bridge.points_earned(engine, MONTHS[0])  # and the first month its own rows
    assert sum(first["points_earned"].to_pylist()) == lake_earned[MONTHS[0]] + sql_earned[MONTHS[0]]
    assert ledger_bridge.lake_totals(engine, MONTHS[0])[0] == lake_earned[MONTHS[0]]
