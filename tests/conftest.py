"""Shared fixtures: a fresh ledger database on SQLite (a file) and, when the throwaway cluster is up
(``WEIXI_TEST_PG_URL``, set by ``make test``), on PostgreSQL in a schema of its own."""

from __future__ import annotations

import atexit
import os
import random
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests import parallel
from weixi.adapters import schema
from weixi.adapters.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("WEIXI_TEST_PG_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_schema_url(name: str) -> str:
    return f"{PG_URL}?options=-csearch_path%3D{name}"


_TEMPLATE: dict[str, Path] = {}  # per test process: a SQLite ledger migrated to the head once, copied for each test


def _template() -> Path:
    if "ledger" not in _TEMPLATE:
        folder = tempfile.mkdtemp(prefix="weixi-template-")
        atexit.register(shutil.rmtree, folder, True)
        template = Path(folder) / "ledger.db"
        engine = make_engine(str(template))
        schema.upgrade(engine)
        engine.dispose()  # the last connection closed: the WAL is checkpointed into the file and removed
        _TEMPLATE["ledger"] = template
    return _TEMPLATE["ledger"]


def _fresh_sqlite(path: Path) -> None:
    """A fresh SQLite ledger at the newest revision at ``path``: a copy of one migrated once per test process (the
    migrations took ~0.3 s a database, for several hundred databases a run)."""
    shutil.copyfile(_template(), path)


def memory_ledger() -> Engine:
    """A fresh in-memory SQLite ledger at the newest revision (``make_engine(":memory:")`` then
    ``schema.upgrade``): the migrated template copied in with SQLite's backup API, for tests that make many."""
    engine = make_engine(":memory:")
    source = sqlite3.connect(_template())
    try:
        with engine.connect() as conn:  # the in-memory engine's one connection (a static pool)
            source.backup(conn.connection.dbapi_connection)
    finally:
        source.close()
    return engine


@pytest.fixture
def db_url(request, tmp_path):
    """A database URL of a fresh, initialised ledger; parametrise with ``backend``."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = str(tmp_path / "ledger.db")
        _fresh_sqlite(Path(url))
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


# --- PySpark: one local session per test process ------------------------------------------------------------------

# What the PySpark tests add to the close's own local session (weixi.close.backends.local_spark, whose settings are
# repeated below): on tables of a few thousand rows the JVM spends its CPU compiling hot code, not computing. With the
# JIT's first tier only and the serial collector, the PySpark close's two months take 45-50 s of the JVM's CPU
# instead of 85 s (the C2 compiler's threads and a parallel collector took a core of the two). Spark plans and
# executes the same queries: only the JVM's own code generation differs.
SPARK_TEST_CONF = {
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.default.parallelism": "1",  # the segment tests' tiny tables in one partition
    "spark.sql.execution.arrow.pyspark.enabled": "true",  # the segment tests read results through Arrow
}


@pytest.fixture(scope="session")
def spark():
    """The local Spark session of every test marked ``spark`` (tests/parallel.py runs them all on one worker): one
    JVM for them all. A close run with ``engine_name="pyspark"`` and no session gets this one too: its
    ``local_spark()`` asks for the running session (``getOrCreate``), so that code is still what runs."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("weixi-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "4")
    )
    for key, value in SPARK_TEST_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# --- the parallel run and the random order: see tests/parallel.py -------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("weixi")
    group.addoption(
        "--shuffle",
        action="store_true",
        help="run the tests in a random order (folders, files, tests); the seed is printed at the top and the end",
    )
    group.addoption(
        "--shuffle-seed",
        type=int,
        default=None,
        metavar="N",
        help="the seed of --shuffle (implies --shuffle): repeats the order of an earlier run",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "file_order: --shuffle keeps this file's tests in the order written (a story over one fixture)"
    )
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller's seed (every worker collects one order)
        config.option.shuffle_seed = workerinput.get("weixi_shuffle_seed")
        config.weixi_groups = Path(workerinput["weixi_groups"]) if workerinput.get("weixi_groups") else None
        return
    if config.option.shuffle_seed is None and config.option.shuffle:
        config.option.shuffle_seed = random.SystemRandom().randrange(1, 10**6)
    config.weixi_groups = None
    if getattr(config.option, "numprocesses", None) and config.getoption("dist", None) == "loadgroup":
        config.weixi_groups = Path(tempfile.mkdtemp(prefix="weixi-xdist-")) / "groups.json"


def pytest_unconfigure(config):
    path = getattr(config, "weixi_groups", None)
    if path is not None and not hasattr(config, "workerinput"):
        shutil.rmtree(path.parent, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    node.workerinput["weixi_shuffle_seed"] = node.config.option.shuffle_seed
    node.workerinput["weixi_groups"] = str(node.config.weixi_groups) if node.config.weixi_groups else None


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.weixi_groups is None:
        return None
    return parallel.make_scheduler(config, log, config.weixi_groups)


def pytest_report_header(config):
    seed = config.option.shuffle_seed
    return f"random order: --shuffle-seed={seed}" if seed is not None else None


def pytest_terminal_summary(terminalreporter, config):
    """The seed again at the end (``-q`` hides the header): what to pass to repeat the order of a failed run."""
    seed = config.option.shuffle_seed
    if seed is not None and not hasattr(config, "workerinput"):
        terminalreporter.write_line(f"random order: repeat it with --shuffle-seed={seed}")


def pytest_collection_modifyitems(config, items):
    if os.environ.get("WEIXI_REQUIRE_PG") == "1" and not PG_URL:
        raise pytest.UsageError("WEIXI_REQUIRE_PG=1 but WEIXI_TEST_PG_URL is not set")
    if config.option.shuffle_seed is not None:
        items[:] = parallel.shuffled(items, config.option.shuffle_seed)


@pytest.hookimpl(tryfirst=True)  # before xdist's worker sends its collection (the controller then schedules)
def pytest_collection_finish(session):
    path = getattr(session.config, "weixi_groups", None)
    if path is not None and hasattr(session.config, "workerinput"):
        parallel.write_groups(path, parallel.groups(session.items))
