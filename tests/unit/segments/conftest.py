"""Every segment and tier test runs on DuckDB and, when pyspark is importable, on PySpark in local mode.

On PySpark the same expression is also run on DuckDB and the two results must be identical, row for row.
The Spark session is the one every PySpark test shares (``spark`` in tests/conftest.py), on tiny tables one
shuffle partition: each query then takes around a second.
"""

from __future__ import annotations

import ibis
import pytest

ENGINES = ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)]


class Engine:
    """Runs expressions on one backend and returns plain rows, sorted."""

    def __init__(self, name: str, con, reference=None) -> None:
        self.name, self.con, self.reference = name, con, reference

    def table(self, expr: ibis.Table):
        """The result as a pyarrow table; on PySpark checked against DuckDB first."""
        result = self.con.to_pyarrow(expr)
        if self.reference is not None:
            assert _sorted(result) == _sorted(self.reference.to_pyarrow(expr)), "PySpark and DuckDB differ"
        return result

    def rows(self, expr: ibis.Table) -> list[dict]:
        return _sorted(self.table(expr))

    def by_member(self, expr: ibis.Table) -> dict[str, dict]:
        return {row["member_id"]: row for row in self.rows(expr)}


def _sorted(table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda row: tuple(str(v) for v in row.values()))


@pytest.fixture(scope="module", params=ENGINES)
def engine(request) -> Engine:
    duckdb = ibis.duckdb.connect()
    if request.param == "duckdb":
        return Engine("duckdb", duckdb)
    session = request.getfixturevalue("spark")
    session.conf.set("spark.sql.shuffle.partitions", "1")  # a close run since may have set the close's 4
    return Engine("pyspark", ibis.pyspark.connect(session), reference=duckdb)
