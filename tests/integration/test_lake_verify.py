"""``weixi verify`` checks both stores (issue 21, ``WEIXI_LEDGER_STORE=lake``): each closed lake month recomputed
from its source bills at its plan version equals the ``accruals`` partition both ways, and the latest snapshot's
balances are re-derived from the lake and ledger versions its close recorded. A lake file edited by hand with its
Delta log kept consistent (so the file check finds nothing) is named by the content check.

Issue 21: "``weixi verify`` checks both stores: ... each closed month recomputed from the source bills at its plan
version equals ``accruals`` both ways (every point explained); per member, the snapshot balance equals SQL plus
unfolded unexpired lake lots; any past close re-derived from the Delta version it recorded" and "A lake file deleted
or corrupted by hand is found by ``verify``, named".
"""

from __future__ import annotations

import json
import shutil
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

import weixi.cli  # noqa: F401  (registers every command)
from tests.conftest import PG_URL, pg_schema_url
from tests.integration.lake_plan import lake_plan
from tests.integration.lake_plan import richest as most
from weixi.adapters import lake, schema
from weixi.adapters.db import make_engine
from weixi.adapters.sql import execute
from weixi.cli.app import app
from weixi.close import store
from weixi.close.run import close_month
from weixi.close.verify_lake import verify_lake
from weixi.generator.run import GenerateConfig, generate
from weixi.ledger.fold import accruals_dir, ensure_folded
from weixi.ledger.redemption import redeem
from weixi.ledger.verify import verify
from weixi.plans.service import apply_plan

pytestmark = pytest.mark.file_order  # one operator: each test that edits a lake file restores it
TZ = ZoneInfo("Asia/Shanghai")
MONTHS = ["2026-08", "2026-09"]
PLAN = lake_plan("lake-verify", expiry_months=1)
runner = CliRunner()


def _members(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in execute(conn, "SELECT member_id FROM members ORDER BY member_id")]


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    """A lake operator with two closed months; a third of its members folded, the richest redeeming after them."""
    root = tmp_path_factory.mktemp("lake-verify")
    data = root / "data"
    generate(GenerateConfig(members=150, months=2, seed=41, out=str(data), end_month=MONTHS[-1]))
    mp = pytest.MonkeyPatch()
    mp.setenv("WEIXI_LEDGER_STORE", "lake")
    try:
        (root / "plan.yaml").write_text(PLAN, encoding="utf-8")
        engine = make_engine(str(root / "ledger.db"))
        schema.upgrade(engine)
        apply_plan(engine, root / "plan.yaml")
        close_month(engine, data, MONTHS[0])
        ensure_folded(engine, _members(engine)[::3])
        close_month(engine, data, MONTHS[1])
        richest = most(engine)  # over both stores
        redeem(engine, richest, "gift", at=datetime(2026, 10, 3, 10, 0, tzinfo=TZ))
        yield SimpleNamespace(engine=engine, data=data, db=root / "ledger.db", richest=richest)
    finally:
        mp.undo()


def _tiered_bonus_rows(data: Path) -> int:
    files = lake.file_uris(accruals_dir(data), partition={"month": MONTHS[1]})
    entries = pa.concat_tables([pq.read_table(f) for f in files]).column("entries").to_pylist()
    return sum(1 for es in entries for e in es if e["rule_id"] == "tier-bonus")


def test_a_lake_operator_with_two_closed_months_passes(operator):
    found, counts = verify_lake(operator.engine, operator.data)
    assert found == []
    assert counts["lake_months"] == 2 and counts["lake_months_skipped"] == 0
    assert counts["lake_rows"] > 200  # two months of bills and recharges compared row by row
    assert _tiered_bonus_rows(operator.data) > 0  # September's tier extras recomputed from August's tiers
    assert counts["snapshot_members"] > 100 and counts["snapshot_members_skipped"] == 1  # the redeemer
    assert verify(operator.engine)[0] == []
    result = runner.invoke(app, ["verify", "--db", str(operator.db), "--data", str(operator.data), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] is True and out["checked"]["lake_months"] == 2 and out["checked"]["snapshot_members"] > 100


def _unfolded_row(operator) -> tuple[Path, int, str, str]:
    """A September lake file, the index of a row of an unfolded member with points, its event id and member."""
    with operator.engine.connect() as conn:
        folded = {r[0] for r in execute(conn, "SELECT member_id FROM ledger_folds")}
    for f in lake.file_uris(accruals_dir(operator.data), partition={"month": MONTHS[1]}):
        table = pq.read_table(f)
        for i, row in enumerate(table.select(["event_id", "member_id", "earned"]).to_pylist()):
            if row["earned"] > 0 and row["member_id"] not in folded and row["member_id"] != operator.richest:
                return Path(f), i, row["event_id"], row["member_id"]
    raise AssertionError("no unfolded lake row")


@contextmanager
def edited(data: Path, file: Path, table: pa.Table):
    """``file`` rewritten in place with ``table`` and its add action in the Delta log given the new size and
    statistics (a consistent log: only a check of the content can tell); restored afterwards."""
    log_dir = accruals_dir(data) / "_delta_log"
    saved = {p: p.read_bytes() for p in [file, *log_dir.glob("*.json")]}
    try:
        pq.write_table(table, file)
        rel = file.resolve().relative_to(accruals_dir(data).resolve()).as_posix()
        for log in log_dir.glob("*.json"):
            lines = log.read_text(encoding="utf-8").splitlines()
            changed = False
            for n, line in enumerate(lines):
                action = json.loads(line)
                if action.get("add", {}).get("path") == rel:
                    action["add"]["size"] = file.stat().st_size
                    action["add"]["stats"] = json.dumps(lake._stats(file))
                    lines[n], changed = json.dumps(action), True
            if changed:
                log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        yield
    finally:
        for p, raw in saved.items():
            p.write_bytes(raw)


def test_a_lake_row_whose_points_were_changed_by_hand_is_named(operator):
    file, i, event_id, member = _unfolded_row(operator)
    table = pq.read_table(file)
    earned = table.column("earned").to_pylist()
    earned[i] += 7
    changed = table.set_column(table.schema.get_field_index("earned"), "earned", pa.array(earned, pa.int64()))
    with edited(operator.data, file, changed):
        assert store.damage(operator.data, deep=True) == []  # the files are sound: their content is not
        found, _ = verify_lake(operator.engine, operator.data)
        # the row, and the member's snapshot balance, which the lake's row no longer adds up to
        assert [(m.what, m.key, m.found - m.expected) for m in found] == [
            ("lake-accrual-points", event_id, 7),
            ("snapshot-balance", member, -7),
        ]
        text = runner.invoke(app, ["verify", "--db", str(operator.db), "--data", str(operator.data)])
        assert text.exit_code == 1 and f"lake-accrual-points {event_id}" in text.output.replace("\n", "")
    assert verify_lake(operator.engine, operator.data)[0] == []


def test_a_lake_file_replaced_by_one_without_a_row_is_named(operator):
    file, i, event_id, member = _unfolded_row(operator)
    table = pq.read_table(file)
    keep = pc.not_equal(table.column("event_id"), pa.scalar(event_id))
    lost = table.column("earned")[i].as_py()
    with edited(operator.data, file, table.filter(keep)):
        assert store.damage(operator.data, deep=True) == []
        found, _ = verify_lake(operator.engine, operator.data)
        assert [(m.what, m.key, m.expected - m.found) for m in found] == [
            ("lake-accrual-missing", event_id, lost),
            ("snapshot-balance", member, -lost),
        ]
        result = runner.invoke(app, ["verify", "--db", str(operator.db), "--data", str(operator.data), "--json"])
        assert result.exit_code == 1
        keys = {(m["what"], m["key"]) for m in json.loads(result.stdout)["mismatches"]}
        assert ("lake-accrual-missing", event_id) in keys
        # the member's SQL balance counts the SQL ledger's lots only: the lake's checks name the lost row
        assert ("snapshot-balance", member) in keys
    assert verify_lake(operator.engine, operator.data)[0] == []


def test_a_snapshot_balance_changed_after_the_close_is_named(operator, tmp_path):
    """The snapshot as its close recorded it is what is checked: a balance changed in it by a later commit is not
    read; one changed in the recorded file itself is named."""
    month = MONTHS[-1]
    file = store.path(operator.data, "snapshots", month)
    table = pq.read_table(file)
    balances = table.column("points_balance").to_pylist()
    member = table.column("member_id")[5].as_py()
    balances[5] += 3
    bumped = table.set_column(
        table.schema.get_field_index("points_balance"), "points_balance", pa.array(balances, pa.int64())
    )
    store.write(operator.data, "snapshots", month, bumped)  # a later commit: not what the close recorded
    assert store.read(operator.data, "snapshots", month).equals(bumped)
    assert verify_lake(operator.engine, operator.data)[0] == []
    store.write(operator.data, "snapshots", month, table)
    backup = tmp_path / "snap.parquet"
    shutil.copy2(file, backup)
    try:
        pq.write_table(bumped, file)
        found, _ = verify_lake(operator.engine, operator.data)
        assert [(m.what, m.key, m.found - m.expected) for m in found] == [("snapshot-balance", member, 3)]
    finally:
        shutil.copy2(backup, file)
    assert verify_lake(operator.engine, operator.data)[0] == []


@pytest.mark.postgres
def test_a_lake_operator_on_postgresql_passes_and_a_changed_row_is_named(tmp_path, monkeypatch):
    if not PG_URL:
        pytest.skip("no PostgreSQL (WEIXI_TEST_PG_URL unset): run through 'make test'")
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    data = tmp_path / "data"
    generate(GenerateConfig(members=80, months=2, seed=43, out=str(data), end_month=MONTHS[-1]))
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = "t_" + uuid.uuid4().hex[:12]
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    engine = make_engine(pg_schema_url(name))
    try:
        schema.upgrade(engine)
        (tmp_path / "plan.yaml").write_text(PLAN, encoding="utf-8")
        apply_plan(engine, tmp_path / "plan.yaml")
        for month in MONTHS:
            close_month(engine, data, month)
        ensure_folded(engine, _members(engine)[::4])
        found, counts = verify_lake(engine, data)
        assert found == [] and counts["lake_months"] == 2 and counts["snapshot_members"] > 50
        ns = SimpleNamespace(engine=engine, data=data, richest=None)
        file, i, event_id, member = _unfolded_row(ns)
        table = pq.read_table(file)
        earned = table.column("earned").to_pylist()
        earned[i] += 1
        changed = table.set_column(table.schema.get_field_index("earned"), "earned", pa.array(earned, pa.int64()))
        with edited(data, file, changed):  # the member's snapshot balance no longer adds up either
            found = [(m.what, m.key) for m in verify_lake(engine, data)[0]]
            assert found == [("lake-accrual-points", event_id), ("snapshot-balance", member)]
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


def test_a_month_written_with_its_base_rules_notes_verifies_and_folds_with_them(operator):
    """The close writes a base rule's earn entry without its note (the fold writes the Book's text from the rule
    and the amount); months written before hold the text. ``verify`` takes such a month as it is, and a fold
    writes the notes the month holds."""
    file, _, event_id, member = _unfolded_row(operator)
    table = pq.read_table(file)
    entries = table.column("entries").to_pylist()
    assert any(e["note"] is None for es in entries for e in es)  # as the close writes them now
    held = [[{**e, "note": e["note"] or f"held {e['rule_id']}"} for e in es] for es in entries]
    column = table.schema.get_field_index("entries")
    with edited(operator.data, file, table.set_column(column, "entries", pa.array(held, table.schema[column].type))):
        assert verify_lake(operator.engine, operator.data)[0] == []
        ensure_folded(operator.engine, [member])
        with operator.engine.connect() as conn:
            notes = {
                r[0] for r in execute(conn, "SELECT note FROM journal WHERE event_id = ? AND kind = 'earn'", [event_id])
            }
        assert notes and all(n.startswith("held ") or n.startswith("tier ") for n in notes), notes
    assert verify_lake(operator.engine, operator.data)[0] == []
