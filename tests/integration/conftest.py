"""Fixtures shared by the close's test files: the small generated operator, and the DuckDB and PySpark closes of it
that the two PySpark comparisons read (:mod:`tests.integration.engine_closes`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration import engine_closes as ec
from weixi.generator.run import GenerateConfig, generate


@pytest.fixture(scope="session")
def operator(tmp_path_factory) -> Path:
    """The small operator of the close's tests (a file that defines its own ``operator`` uses that one)."""
    out = tmp_path_factory.mktemp("operator") / "data"
    generate(GenerateConfig(members=1500, months=3, seed=11, out=str(out), end_month="2026-10"))
    return out


@pytest.fixture(scope="session")
def engine_closes(operator, spark, tmp_path_factory) -> ec.Closes:
    """Two months of ``operator`` (with loaded corrections) closed on DuckDB and on PySpark, once per test process:
    the PySpark closes are the suite's longest work (about a minute each), and both comparisons read these."""
    # ``spark``: the tests' session, which the close's own local_spark() then returns (tests/conftest.py)
    return ec.close_on_both(operator, tmp_path_factory.mktemp("engine-closes"))
