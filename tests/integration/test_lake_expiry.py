"""The expiry of lots the lake holds unfolded (issue 21: "Expiry of lots never folded is derived in the lake at the
close (a deterministic ``expiries`` table), with no SQL writes; folded lots expire as today" and "verify checks both
stores: ... no lot both folded and expired in the lake").

The run writes the due lots to the lake, then records them in SQL (``lake_expiries``) in a transaction no fold can
interleave with. A member folded between the two steps took its lots to SQL whole, where the SQL expiry takes them:
the lake's run must not count them, and every point that was due expires once."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.integration.lake_plan import balances_of, lake_plan
from weixi.adapters import duck, schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.close import lake_write
from weixi.close.accrual import accrue
from weixi.close.months import first_day, next_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import expire_lake
from weixi.ledger import fold as fold_module
from weixi.ledger.expire import expire
from weixi.ledger.fold import EXPIRIES, fold, lake_sql, watermark
from weixi.ledger.verify import verify
from weixi.plans.service import active_plan, apply_plan

TZ = ZoneInfo("Asia/Shanghai")
MONTHS = ["2026-08", "2026-09"]
AS_OF = date(2026, 10, 1)  # a month's expiry: August's lots are due on 2026-09-30


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("expiry-operator") / "data"
    generate(GenerateConfig(members=60, months=2, seed=41, out=str(out), end_month="2026-09"))
    return out


BOTH = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def _planned(engine, folder: Path) -> tuple:
    """The lake plan (lots expire at the end of the month after) applied to ``engine``: its version and plan."""
    (folder / "plan.yaml").write_text(lake_plan("lake-expiry", expiry_months=1), encoding="utf-8")
    apply_plan(engine, folder / "plan.yaml")
    with engine.connect() as conn, conn.begin():
        return active_plan(conn)


@pytest.fixture
def ledger(db_url, operator, tmp_path, monkeypatch):
    """Two lake months accrued (no member folded), nothing expired yet; ``db_url`` says on which database."""
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    data = tmp_path / "data"
    shutil.copytree(operator, data)
    engine = make_engine(db_url)
    try:
        version, plan = _planned(engine, tmp_path)
        for month in MONTHS:
            accrue(engine, data, month, TZ, None, plan, version)
        yield engine
    finally:
        engine.dispose()


def _recorded(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(execute(conn, "SELECT lots, points FROM lake_expiries WHERE as_of = ?", [AS_OF])[0])


def _expired_in_sql(engine, member: str) -> int:
    with engine.connect() as conn:
        return -execute(
            conn, "SELECT coalesce(sum(points), 0) FROM journal WHERE kind = 'expire' AND member_id = ?", [member]
        )[0][0]


def _most_due(files: list[str]) -> tuple[str, int]:
    """The member with the most points due in the expiry run's rows (the lowest id among equals)."""
    con = duck.connect()
    try:
        member, due = con.execute(
            f"SELECT member_id, sum(points) FROM read_parquet({files!r}) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return member, int(due)


def _expiries(engine) -> Path:
    with engine.connect() as conn:
        return watermark(conn)[1] / EXPIRIES


@BOTH
def test_the_lake_expires_its_due_lots_and_says_how_many_of_which_members(ledger):
    before = balances_of(ledger)
    result = expire(ledger, AS_OF)
    assert result.lots > 0 and result.points > 0
    assert _recorded(ledger) == (result.lots, result.points)
    after = balances_of(ledger)
    lost = {m: before[m] - after[m] for m in before if before[m] != after[m]}
    assert sum(lost.values()) == result.points  # every point the run counts left a balance, and no other
    assert len(lost) == result.members
    assert verify(ledger)[0] == []
    again = expire(ledger, AS_OF)  # a rerun of the day: what the run applied, nothing more
    assert (again.lots, again.points) == (result.lots, result.points)
    assert balances_of(ledger) == after


@BOTH
def test_a_member_folded_between_the_write_and_the_record_keeps_the_lots_in_sql_where_they_expire_once(
    ledger, monkeypatch
):
    before = balances_of(ledger)
    written = expire_lake._write
    folded = []

    def write_then_fold(table, as_of, stamp, lake_dir, version, months, folds, exp_version):
        written(table, as_of, stamp, lake_dir, version, months, folds, exp_version)
        member, due = _most_due(expire_lake.lake.file_uris(table, None, {"as_of": as_of.isoformat()}))
        with ledger.begin() as conn:  # a redemption's first touch, say, while the close runs
            fold(conn, [member])
        folded.append((member, due))

    monkeypatch.setattr(expire_lake, "_write", write_then_fold)
    result = expire(ledger, AS_OF)
    ((member, due),) = folded
    assert due > 0
    assert _expired_in_sql(ledger, member) == due  # the folded lots expired in SQL, by the SQL expiry
    after = balances_of(ledger)
    assert before[member] - after[member] == due  # once: not also by the lake
    assert sum(before[m] - after[m] for m in before) == result.points  # lake and SQL together, each point once
    lake_lots, lake_points = _recorded(ledger)
    assert lake_points == result.points - due  # the lake's run counts the lots still in the lake only
    assert verify(ledger)[0] == []  # no lot both folded and expired in the lake


class Died(Exception):
    pass


@BOTH
def test_a_run_that_died_after_its_write_is_recorded_by_the_rerun_less_a_member_folded_meanwhile(ledger, monkeypatch):
    before = balances_of(ledger)

    def die(*args):
        raise Died()

    monkeypatch.setattr(expire_lake, "_apply", die)
    with pytest.raises(Died):
        expire(ledger, AS_OF)
    monkeypatch.undo()
    member, due = _most_due(expire_lake.lake.file_uris(_expiries(ledger), None, {"as_of": AS_OF.isoformat()}))
    with ledger.begin() as conn:
        fold(conn, [member])
    result = expire(ledger, AS_OF)  # the rows are in the lake already: the rerun records them
    assert _expired_in_sql(ledger, member) == due
    after = balances_of(ledger)
    assert before[member] - after[member] == due
    assert sum(before[m] - after[m] for m in before) == result.points
    assert _recorded(ledger)[1] == result.points - due
    assert verify(ledger)[0] == []


@pytest.fixture(scope="module")
def five_months(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("expiry-five") / "data"
    generate(GenerateConfig(members=60, months=5, seed=43, out=str(out), end_month="2026-10"))
    return out


def _run_months(root: Path, operator: Path, months: list[str]) -> tuple[dict, dict, list]:
    """Accrue ``months`` into a new lake ledger, folding every seventh member after the second month and expiring
    after each: the expiry runs' lots by day, what SQL recorded of them, and the balances."""
    data = root / "data"
    shutil.copytree(operator, data)
    engine = make_engine(str(root / "ledger.db"))
    try:
        schema.upgrade(engine)
        version, plan = _planned(engine, root)
        for i, month in enumerate(months):
            accrue(engine, data, month, TZ, None, plan, version)
            if i == 2:
                with engine.begin() as conn:
                    members = [r[0] for r in execute(conn, "SELECT member_id FROM members ORDER BY member_id")]
                    fold(conn, members[::7])
            expire(engine, first_day(next_month(month)))
        lots: dict[str, set] = {}
        for uri in expire_lake.lake.file_uris(_expiries(engine)):
            day = uri.split("/as_of=")[1].split("/")[0]
            con = duck.connect()
            try:
                lots.setdefault(day, set()).update(
                    con.execute(f"SELECT lot_id, points FROM read_parquet('{uri}')").fetchall()
                )
            finally:
                con.close()
        with engine.connect() as conn:
            recorded = {str(d): (n, p) for d, n, p in execute(conn, "SELECT as_of, lots, points FROM lake_expiries")}
        assert verify(engine)[0] == []
        return lots, recorded, sorted(balances_of(engine).items())
    finally:
        engine.dispose()


def test_each_run_reads_only_the_lots_coming_due_and_expires_what_a_run_over_every_lot_expires(
    five_months, tmp_path, monkeypatch
):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    months = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    due_rows = expire_lake._due_rows
    whole = []

    def spy(*args):
        found = due_rows(*args)
        whole.append(found[1])
        return found

    monkeypatch.setattr(expire_lake, "_due_rows", spy)
    quick = _run_months(tmp_path / "quick", five_months, months)
    assert whole == [True, False, False, False, False]  # the first run reads every row; the others what comes due
    monkeypatch.setattr(  # every run over every row, less what earlier runs took (the rule before)
        expire_lake,
        "_due_rows",
        lambda table, stamp, lake_dir, version, months: (lake_sql(lake_dir, version, months, ""), True),
    )
    every = _run_months(tmp_path / "every", five_months, months)
    lots, recorded, balances = quick
    assert sum(len(v) for v in lots.values()) > 100 and len(lots) >= 3  # three months of lots came due
    assert quick == every


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_on_postgresql_a_fold_under_way_ends_before_the_run_is_recorded_and_its_lots_are_left_to_sql(
    ledger, monkeypatch
):
    """The fold has read which expiries are applied when the run comes to record itself: the record waits for it
    (an advisory lock folds share), then sees its mark and leaves its lots out. (On SQLite the write lock orders
    the two.)"""
    before = balances_of(ledger)
    written, read = expire_lake._write, fold_module.fold_read.read
    inside, go, folded, errors = threading.Event(), threading.Event(), [], []

    def read_then_wait(*args, **kwargs):
        found = read(*args, **kwargs)
        inside.set()
        go.wait(60)
        return found

    def folding(member):
        try:
            with ledger.begin() as conn:
                fold(conn, [member])
        except Exception as exc:  # noqa: BLE001  (reported by the test's thread)
            errors.append(exc)

    def write_then_start_a_fold(table, as_of, *args):
        written(table, as_of, *args)
        member, due = _most_due(expire_lake.lake.file_uris(table, None, {"as_of": as_of.isoformat()}))
        folded.append((member, due))
        monkeypatch.setattr(fold_module.fold_read, "read", read_then_wait)
        threading.Thread(target=folding, args=(member,), daemon=True).start()
        assert inside.wait(60)

    def release_when_the_record_waits():
        deadline = time.monotonic() + 30
        with ledger.connect() as conn:
            while time.monotonic() < deadline:
                waiting = conn.execute(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                ).scalar()
                conn.commit()
                if waiting:
                    break
                time.sleep(0.05)
        go.set()

    monkeypatch.setattr(expire_lake, "_write", write_then_start_a_fold)
    threading.Thread(target=release_when_the_record_waits, daemon=True).start()
    result = expire(ledger, AS_OF)
    ((member, due),) = folded
    assert not errors
    assert _expired_in_sql(ledger, member) == due
    after = balances_of(ledger)
    assert before[member] - after[member] == due
    assert _recorded(ledger)[1] == result.points - due
    assert verify(ledger)[0] == []


def test_a_run_over_lake_months_cut_into_files_writes_its_lots_in_their_member_ranges(operator, tmp_path, monkeypatch):
    # at scale a lake month is cut into files by member range, and a year on a run expires a month of lots: its rows
    # are cut the same way, so a fold reads the footer of one expiry file a run, not of one file holding every member
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    runs = {}
    for cut in (False, True):
        folder = tmp_path / ("cut" if cut else "whole")
        shutil.copytree(operator, folder / "data")
        engine = make_engine(str(folder / "ledger.db"))
        schema.upgrade(engine)
        with monkeypatch.context() as m:
            if cut:
                m.setattr(lake_write, "FILE_ROWS", 40)  # ~90 rows a month: three files or so
            version, plan = _planned(engine, folder)
            for month in MONTHS:
                accrue(engine, folder / "data", month, TZ, None, plan, version)
        result = expire(engine, AS_OF)
        files = sorted(str(f) for f in (_expiries(engine) / f"as_of={AS_OF}").glob("*.parquet"))
        runs[cut] = (result.lots, result.points, result.members), balances_of(engine), files
        assert verify(engine)[0] == []
        engine.dispose()
    assert runs[True][:2] == runs[False][:2] and runs[False][0][0] > 0  # the same lots, points, members, balances
    assert len(runs[False][2]) == 1
    cut_files = runs[True][2]
    assert len(cut_files) >= 2
    con = duck.connect()
    try:
        spans = [
            con.execute(f"SELECT min(member_id), max(member_id) FROM read_parquet('{f}')").fetchone() for f in cut_files
        ]
    finally:
        con.close()
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # disjoint, in name order
