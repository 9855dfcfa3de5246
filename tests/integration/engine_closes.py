"""The DuckDB and the PySpark close of the same operator, made once and read by both PySpark comparisons
(tests/integration/test_close.py: the tables a close writes; tests/integration/test_close_offload.py: the ledger,
the manifests and the lake's accruals). Each of them used to close the two months on both engines itself, two
PySpark closes of about a minute each; one pair of closes now carries both tests' conditions at once:

- loaded corrections (two loads of one member, a corrected bill): the members and bills are read through the
  "latest load wins by key" union, the other archive tables (recharges, usage, surveys, complaints, churn labels)
  through the plain read, so both ways an archive table is read are compared;
- the lake ledger store (``WEIXI_LEDGER_STORE=lake``, the default);
- on PySpark, both guards: no Spark result pulled into the driver, and no member-scale ledger work in the driver
  (the ledger process does it)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from tests.conftest import ROOT
from weixi import settings
from weixi.adapters import schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.close import store
from weixi.close.run import close_month
from weixi.ledger.fold import accruals_dir
from weixi.members.intake import load_file
from weixi.plans.service import apply_plan

PLAN = ROOT / "plans" / "examples" / "telecom-points.yaml"
MONTHS = ["2026-08", "2026-09"]
ENGINES = ("duckdb", "pyspark")


@dataclass
class Closed:
    """What one engine's two closes left: their manifests, the ledger's members, the month tables, the lake's
    accruals, the Spark scratch files left behind and the lake's damage report."""

    manifests: list[dict]
    ledger: list
    snapshots: list[pa.Table]
    tier_events: list[pa.Table]
    history: list[pa.Table]
    stars: list[pa.Table]
    accruals: pa.Table
    scratch_left: list[str]
    damage: list
    files: dict[str, list[int]]  # the files of each month of history and snapshots


@dataclass
class Closes:
    duckdb: Closed
    pyspark: Closed
    expect: tuple  # the corrections: (the member loaded twice, the member of the corrected bill, its old spend)


def corrections(operator: Path, folder: Path) -> tuple[list[tuple[str, Path]], tuple]:
    """Two loads of the same member (a new city, then another) and a corrected August bill, as Parquet files;
    and what they should give: (that member, the corrected bill's member, that member's August spend before)."""
    members = pq.read_table(operator / "members").slice(0, 5)
    member = members["member_id"][0].as_py()
    loads = []
    for n, city in enumerate(("校正市一", "校正市二")):
        path = folder / f"members-fix-{n}.parquet"
        rows = members.slice(0, 1).to_pylist()
        rows[0]["city"] = city
        pq.write_table(pa.Table.from_pylist(rows, schema=members.schema), path)
        loads.append(("members", path))
    bills = pq.read_table(operator / "bills", filters=[("month", "=", "2026-08"), ("paid", "=", True)])
    bill = bills.slice(0, 1).to_pylist()[0]
    spend = pc.sum(pc.filter(bills["amount_fen"], pc.equal(bills["member_id"], bill["member_id"]))).as_py()
    bill["amount_fen"] += 1_000_000
    path = folder / "bills-fix.parquet"
    pq.write_table(pa.Table.from_pylist([bill], schema=bills.schema), path)
    loads.append(("bills", path))
    return loads, (member, bill["member_id"], spend)


def no_member_rows_into_the_driver(mp: pytest.MonkeyPatch) -> None:
    """Make every way of pulling a Spark result into the Python driver fail: the PySpark close must let Spark
    write the files and only commit them."""
    from ibis.backends.pyspark import Backend
    from pyspark.sql import DataFrame

    def refuse(*args, **kwargs):
        raise AssertionError("a Spark result was pulled into the driver")

    for name in ("to_pyarrow", "to_pyarrow_batches", "execute", "to_pandas"):
        mp.setattr(Backend, name, refuse)
    for name in ("toPandas", "toArrow", "toLocalIterator"):
        mp.setattr(DataFrame, name, refuse)


def no_member_scale_ledger_work_in_the_driver(mp: pytest.MonkeyPatch) -> None:
    """Every function the DuckDB close calls in its own process to read or write the ledger (or build the search
    index) at member scale fails in this process: on PySpark they run in the ledger process."""

    def refuse(*args, **kwargs):
        raise AssertionError("member-scale ledger work in the driver")

    for target in (
        "weixi.close.run.accrue",
        "weixi.close.run.expire",
        "weixi.close.run.summarize",
        "weixi.close.ledger_bridge.ledger_arrow",
        "weixi.close.ledger_bridge.set_tiers",
        "weixi.close.ledger_bridge.month_totals",
        "weixi.close.programme.ledger_arrow",
        "weixi.adapters.search_index.build",
    ):
        mp.setattr(target, refuse)


def ledger_members(engine) -> list:
    with engine.connect() as conn:
        return execute(conn, "SELECT member_id, balance, debt, tier, first_spend_on FROM members ORDER BY member_id")


def close_on_both(operator: Path, root: Path) -> Closes:
    loads, expect = corrections(operator, root)
    found = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv(settings.LEDGER_STORE.name, "lake")
        for name in ENGINES:
            data = root / name / "data"
            shutil.copytree(operator, data)
            for table, path in loads:  # loaded corrections: the latest load wins by key, on both engines
                load_file(path, table, data, today=date(2026, 11, 15))
            engine = make_engine(str(root / name / "ledger.db"))
            schema.upgrade(engine)
            apply_plan(engine, PLAN)
            with pytest.MonkeyPatch.context() as guard:
                if name == "pyspark":
                    no_member_rows_into_the_driver(guard)
                    no_member_scale_ledger_work_in_the_driver(guard)
                    # history and snapshots in files of 100 members (as 524,288 at scale): Spark cuts its sorted
                    # rows in turn, so the files read in name order are the rows DuckDB wrote in one file
                    guard.setattr(store, "FILE_ROWS", 100)
                manifests = [close_month(engine, data, m, engine_name=name) for m in MONTHS]
            scratch = data / "close" / ".spark"
            found[name] = Closed(
                manifests=manifests,
                ledger=ledger_members(engine),
                snapshots=[store.read(data, "snapshots", m) for m in MONTHS],
                tier_events=[store.read(data, "tier_events", m) for m in MONTHS],
                history=[store.read(data, "history", m) for m in MONTHS],
                stars=[store.read(data, "star_events", m) for m in MONTHS],
                accruals=DeltaTable(str(accruals_dir(data))).to_pyarrow_table().sort_by("event_id"),
                scratch_left=sorted(p.name for p in scratch.iterdir()) if scratch.exists() else [],
                damage=store.damage(data),  # every file the lake's versions list is there, whole
                files={d: [len(store.uris(data, d, m)) for m in MONTHS] for d in ("history", "snapshots")},
            )
            engine.dispose()
    return Closes(duckdb=found["duckdb"], pyspark=found["pyspark"], expect=expect)
