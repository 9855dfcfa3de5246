"""The lake ledger on PostgreSQL (issue 21: "PostgreSQL takes the same fold; its accrual path no longer writes every
bill"): three lake months accrued into a PostgreSQL ledger answer every balance and statement as the same months in
a SQLite ledger; a redemption folds the member first; ``verify`` is clean."""

from __future__ import annotations

import shutil
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, pg_schema_url
from tests.integration.test_lake_ledger import MONTHS, PLAN, TZ, _accrue_months, _members, _statement
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger import queries
from weixi.ledger.redemption import redeem
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    if not PG_URL:
        pytest.skip("no PostgreSQL (WEIXI_TEST_PG_URL unset): run through 'make test'")
    out = tmp_path_factory.mktemp("lake-pg-operator") / "data"
    generate(GenerateConfig(members=200, months=3, seed=37, out=str(out), end_month="2026-10"))
    return out


def test_the_lake_on_postgresql_answers_as_on_sqlite(operator, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = "t_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    engines = {"postgresql": make_engine(pg_schema_url(name)), "sqlite": make_engine(str(tmp_path / "ledger.db"))}
    try:
        for backend, engine in engines.items():
            schema.upgrade(engine)
            (tmp_path / backend).mkdir()
            plan = tmp_path / backend / "plan.yaml"
            plan.write_text(PLAN, encoding="utf-8")
            apply_plan(engine, plan)
            shutil.copytree(operator, tmp_path / backend / "data")
            _accrue_months(engine, tmp_path / backend / "data", MONTHS)
        pg, lite = engines["postgresql"], engines["sqlite"]
        assert verify(pg)[0] == []
        with pg.connect() as conn:
            assert execute(conn, "SELECT count(*) FROM lake_months")[0][0] == 3
            assert execute(conn, "SELECT count(*) FROM lots")[0][0] == 0  # no bill in SQL
        members = _members(lite)
        assert members == _members(pg)
        for member in members[::7]:
            assert queries.balance(pg, member, date(2026, 12, 31)) == queries.balance(lite, member, date(2026, 12, 31))
            assert _statement(pg, member) == _statement(lite, member)
        with pg.connect() as conn:
            rich = execute(
                conn, "SELECT member_id, balance FROM members WHERE balance >= 50 ORDER BY member_id DESC LIMIT 1"
            )[0]
        out = redeem(pg, rich[0], "gift", qty=1, request_id="pg-lake", at=datetime(2026, 11, 2, 9, tzinfo=TZ))
        assert out.redemption["points"] == 50
        with pg.connect() as conn:
            assert execute(conn, "SELECT balance FROM members WHERE member_id = ?", [rich[0]])[0][0] == rich[1] - 50
        assert verify(pg)[0] == []
    finally:
        for engine in engines.values():
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()
