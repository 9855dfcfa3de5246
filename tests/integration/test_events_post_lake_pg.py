"""``weixi events post`` through the lake on PostgreSQL (issue 21: "PostgreSQL takes the same fold"): a file of bills
and recharges posted into a PostgreSQL lake ledger gives the balances, statements and redemption of the same file
posted into a SQLite lake ledger; no bill row in SQL; ``verify`` clean."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from tests.conftest import PG_URL, pg_schema_url
from tests.integration.test_events_post_lake import event_file, members
from tests.integration.test_lake_ledger import LONG_PLAN, _statement
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.cli import app
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.redemption import redeem
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

pytestmark = pytest.mark.postgres


def _members(engine) -> list[tuple]:
    """The members' rows in one shape on both backends (dates as text, flags as bools)."""
    return [(m, tier, str(first), bool(paid), balance, debt) for m, tier, first, paid, balance, debt in members(engine)]


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Path:
    if not PG_URL:
        pytest.skip("no PostgreSQL (WEIXI_TEST_PG_URL unset): run through 'make test'")
    out = tmp_path_factory.mktemp("post-pg-operator") / "data"
    generate(GenerateConfig(members=700, months=3, seed=43, out=str(out), end_month="2026-10"))
    return out


def test_a_lake_post_on_postgresql_ends_where_it_ends_on_sqlite(operator, tmp_path, monkeypatch):
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = "t_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    urls = {"postgresql": pg_schema_url(name), "sqlite": str(tmp_path / "ledger.db")}
    engines = {}
    try:
        for backend, url in urls.items():
            engine = engines[backend] = make_engine(url)
            schema.upgrade(engine)
            root = tmp_path / backend
            root.mkdir()
            (root / "plan.yaml").write_text(LONG_PLAN, encoding="utf-8")
            apply_plan(engine, root / "plan.yaml")
            shutil.copytree(operator, root / "data")
            for month in ("2026-09", "2026-10"):  # two posts: two partitions
                file = event_file(root / "data", month, root / f"{month}.csv")
                result = CliRunner().invoke(
                    app, ["events", "post", str(file), "--db", url], env={"WEIXI_DATA": str(root / "data")}
                )
                assert result.exit_code == 0, result.output
        pg, lite = engines["postgresql"], engines["sqlite"]
        with pg.connect() as conn:
            assert execute(conn, "SELECT count(*) FROM events")[0][0] == 0  # no bill in SQL
            assert [r[0] for r in execute(conn, "SELECT month FROM lake_months ORDER BY month")] == [
                "+000001",
                "+000002",
            ]
        assert _members(pg) == _members(lite)
        assert verify(pg)[0] == []
        rich = [m for m, *_, balance, debt in _members(lite) if balance >= 100][:3]
        for m in rich:
            assert _statement(pg, m) == _statement(lite, m)
            for engine in (pg, lite):
                redeem(engine, m, "gift", qty=1, request_id=f"pg-{m}")
        assert _members(pg) == _members(lite)
        lots = "SELECT lot_id, remaining FROM lots WHERE member_id = ? ORDER BY lot_id"
        for m in rich:
            with pg.connect() as a, lite.connect() as b:
                assert execute(a, lots, [m]) == execute(b, lots, [m])
        assert verify(pg)[0] == []
    finally:
        for engine in engines.values():
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()
