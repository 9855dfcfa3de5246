"""Shared fixtures: a fresh ledger database on SQLite (a file) and, when the throwaway cluster is up
(``WEIXI_TEST_PG_URL``, set by ``make test``), on PostgreSQL in a schema of its own."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from weixi.adapters import schema
from weixi.adapters.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("WEIXI_TEST_PG_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_schema_url(name: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{name}"


@pytest.fixture
def db_url(request, tmp_path):
    """A database URL of a fresh, initialised ledger; parametrise with ``backend``."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = str(tmp_path / "ledger.db")
        schema.upgrade(make_engine(url))
        yield url
        return
    if not PG_URL:
        pytest.skip("no PostgreSQL (WEIXI_TEST_PG_URL unset): run through 'make test'")
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    url = pg_schema_url(name)
    engine = make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
    admin.dispose()


@pytest.fixture
def engine(db_url):
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WEIXI_REQUIRE_PG") == "1" and not PG_URL:
        raise pytest.UsageError("WEIXI_REQUIRE_PG=1 but WEIXI_TEST_PG_URL is not set")
