"""On PostgreSQL the close's set-based accrual (DuckDB SQL written through ADBC, :mod:`weixi.close.accrual_load_pg`)
writes exactly the rows the batch path writes: every column of events, lots, journal (ids included), members and
rejections, each value with the type PostgreSQL returns, over the three closed months, plan and twists of
``test_accrual_sql.py``. A member the Book must handle sends the rest of the month to the batches; a crash in the
second chunk keeps the first, and the rerun posts every bill once."""

from __future__ import annotations

import shutil
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, pg_schema_url
from tests.integration.test_accrual_sql import MONTHS, PLAN, TABLES, TZ, _last_billed_member, _plan, _september_bills
from weixi import settings
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.close import accrual, accrual_load, accrual_load_pg
from weixi.close.run import close_month
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.events import Event
from weixi.ledger.posting import post_events
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _sql_store(monkeypatch):
    """This module tests the SQL store's own accrual (its loading process, its chunks, its hand-over to the
    batches): it runs on the SQL store whatever the default. The lake's accrual and its guarantees:
    test_lake_ledger.py, test_lake_close_guarantees.py."""
    monkeypatch.setenv(settings.LEDGER_STORE.name, "sql")


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    if not PG_URL:
        pytest.skip("no PostgreSQL (WEIXI_TEST_PG_URL unset): run through 'make test'")
    out = tmp_path_factory.mktemp("accrual-pg-operator") / "data"
    generate(GenerateConfig(members=900, months=3, seed=23, out=str(out), end_month="2026-10"))
    return out


@pytest.fixture
def ledgers(operator, tmp_path):
    """``ledger(name)``: a fresh PostgreSQL ledger (a schema of its own) with the plan applied, and a copy of the
    operator's data; the schemas are dropped afterwards."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    made = []

    def ledger(name: str):
        schema_name = "t_" + uuid.uuid4().hex[:12]
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema_name}"))
        engine = make_engine(pg_schema_url(schema_name))
        made.append((schema_name, engine))
        schema.upgrade(engine)
        data = tmp_path / name / "data"
        shutil.copytree(operator, data)
        plan = tmp_path / name / "plan.yaml"
        plan.write_text(PLAN, encoding="utf-8")
        apply_plan(engine, plan)
        return engine, data

    yield ledger
    for schema_name, engine in made:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema_name} CASCADE"))
    admin.dispose()


def dump(engine) -> dict:
    """Every row of the ledger's tables, each value with the Python type psycopg gives its PostgreSQL type."""
    with engine.connect() as conn:
        return {
            table: [
                tuple((v, type(v).__name__) for v in row)
                for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
            ]
            for table, key in TABLES.items()
        }


def _twists(engine, dup: str, rejected: str, member: str) -> None:
    """As ``test_accrual_sql._twists``: a bill posted through the API, one rejected earlier, an unknown tier."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO rejections (event_id, member_id, type, day, reason, plan_version) "
                "VALUES (:e, :m, 'bill', :d, 'amount_fen: test rejection', 1)"
            ),
            {"e": rejected, "m": member, "d": date(2026, 9, 3)},
        )
        conn.execute(text("UPDATE members SET tier = 'ghost' WHERE member_id = :m"), {"m": member})
    post_events(
        engine,
        [
            Event(
                dup,
                member,
                "bill",
                datetime(2026, 9, 5, 12, tzinfo=TZ),
                date(2026, 9, 5),
                12345,
                None,
                None,
                {"service_type": "mobile"},
            )
        ],
    )


def test_the_set_based_accrual_writes_exactly_what_the_batches_write(ledgers, monkeypatch):
    results, dumps = {}, {}
    for mode in ("batches", "set"):
        monkeypatch.setenv(accrual.PATH_ENV, mode)
        engine, data = ledgers(mode)
        (dup, member), (rejected, _) = _september_bills(data)
        for month in MONTHS:
            if month == "2026-09":
                _twists(engine, dup, rejected, member)
            done = close_month(engine, data, month)["accrual"]
            assert (done.pop("seconds") is None) == (mode == "batches")  # the set-based path reports its steps
            results[mode, month] = done
        assert verify(engine)[0] == []
        dumps[mode] = dump(engine)
    for month in MONTHS:
        assert results["set", month] == results["batches", month]
    sept = results["set", "2026-09"]
    assert sept["duplicates"] == 1 and sept["rejected"] == 1 and sept["reasons"] == {"amount_fen": 1}
    assert sept["posted"] == sept["bills"] + sept["recharges"] - 2
    for table in TABLES:
        assert dumps["set"][table] == dumps["batches"][table], table
    events, journal = dumps["set"]["events"], dumps["set"]["journal"]
    assert {v[1] for row in events for v in row[3:5]} == {"datetime", "date"}  # occurred_at, day: real types
    assert {row[8][0] for row in journal} >= {
        "bill",
        "mobile",
        "broadband",
        "recharge",
        "recharge-spend",
        "tier-bonus",
        "tier-extra",
    }  # rule_id
    assert [row[0][0] for row in journal] == list(range(1, len(journal) + 1))  # ids from the same sequence


def _reference(ledgers, monkeypatch, name: str, month: str, prepare=lambda engine, data: None) -> dict:
    """The ledger the per-batch path makes of ``month`` (accrual only)."""
    with monkeypatch.context() as m:
        m.setenv(accrual.PATH_ENV, "batches")
        engine, data = ledgers(name)
        prepare(engine, data)
        accrual.accrue(engine, data, month, TZ, None, *_plan(engine))
    return dump(engine)


def test_a_member_who_owes_points_sends_the_rest_of_the_month_to_the_batches(ledgers, monkeypatch):
    monkeypatch.setattr(accrual, "CHUNK", 700)

    def owe(engine, data):
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO members (member_id, balance, debt) VALUES (:m, 0, 7)"),
                {"m": _last_billed_member(data)},
            )

    clean = _reference(ledgers, monkeypatch, "clean", "2026-09", owe)
    engine, data = ledgers("debt")
    owe(engine, data)
    ticks = []
    posted = accrual.accrue(engine, data, "2026-09", TZ, ticks.append, *_plan(engine))
    assert posted.seconds is not None  # the set-based path posted the chunks before the member's
    assert ticks[0] == 700 and sum(ticks) == posted.bills + posted.recharges  # progress: chunks, then batches
    assert posted.posted == posted.bills + posted.recharges and posted.duplicates == 0
    assert dump(engine) == clean
    with engine.connect() as conn:  # the Book took the debt out of the member's new points
        assert (
            conn.execute(
                text("SELECT debt FROM members WHERE member_id = :m"), {"m": _last_billed_member(data)}
            ).scalar_one()
            == 0
        )


class Crash(Exception):
    pass


def test_a_crash_in_the_second_chunk_keeps_the_first_and_the_rerun_gives_what_a_clean_run_gives(ledgers, monkeypatch):
    import pyarrow as pa

    monkeypatch.setattr(accrual, "CHUNK", 700)  # 700 events per transaction
    monkeypatch.setattr(accrual_load, "BATCH", 100)
    clean = _reference(ledgers, monkeypatch, "clean", "2026-08")
    engine, data = ledgers("crash")
    calls = []

    def cut(reader):
        calls.append(1)
        if len(calls) <= 4:  # the first chunk: events, lots, journal, members
            return reader

        def batches():
            yield reader.read_next_batch()
            raise Crash("mid-insert in the second chunk")

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    load = accrual_load_pg.load
    monkeypatch.setattr(accrual_load_pg, "load", lambda uri, **kw: load(uri, **kw, batches=cut))
    with pytest.raises(RuntimeError, match="run the close again"):
        accrual.accrue(engine, data, "2026-08", TZ, None, *_plan(engine))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 700  # the first chunk only
    monkeypatch.setattr(accrual_load_pg, "load", load)
    first = accrual.accrue(engine, data, "2026-08", TZ, None, *_plan(engine))
    assert first.posted == first.bills + first.recharges - 700 and first.duplicates == 700
    assert dump(engine) == clean
    accrual._marker(data, "2026-08").unlink()  # make a rerun read every bill again
    again = accrual.accrue(engine, data, "2026-08", TZ, None, *_plan(engine))
    assert again.posted == 0 and again.duplicates == first.bills + first.recharges
    assert dump(engine) == clean and verify(engine)[0] == []
