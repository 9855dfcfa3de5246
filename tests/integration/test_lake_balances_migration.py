"""Migration 0025: a lake ledger whose members' balances counted the lake's unfolded points (the close wrote every
posting member's balance until then) takes those points out of the SQL balances, and nothing changes in any
balance over both stores.

Issue 21: "Migration: an existing database and data folder upgrade in place ... nothing changes in any balance"."""

from __future__ import annotations

from datetime import date

from alembic import command
from sqlalchemy import text

from tests.integration.lake_plan import balances_of
from tests.integration.test_lake_ledger import MONTHS, _ledger, _members, operator  # noqa: F401 (a fixture)
from weixi.adapters import schema
from weixi.adapters.sql import execute, executemany
from weixi.close.run import close_month
from weixi.ledger import queries
from weixi.ledger.fold import ensure_folded, lake_balances
from weixi.ledger.verify import verify


def test_an_older_lake_ledger_s_balances_leave_the_lake_s_points_to_the_lake(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    for month in MONTHS[:2]:
        close_month(engine, data, month)
    ensure_folded(engine, _members(engine)[::4])  # some members folded: their points are all in SQL
    both = balances_of(engine)
    with engine.connect() as conn:
        sql = dict(execute(conn, "SELECT member_id, balance FROM members"))
        unfolded = lake_balances(conn)
    assert sum(1 for p in unfolded.values() if p) > 100 and sum(1 for p in sql.values() if p) > 50
    # the ledger as the code before 0025 left it: every unfolded point in the SQL balance too
    with engine.begin() as conn:
        executemany(
            conn, "UPDATE members SET balance = balance + ? WHERE member_id = ?", [(p, m) for m, p in unfolded.items()]
        )
        conn.execute(text("UPDATE alembic_version SET version_num = '0024'"))
    assert schema.current(engine) == "0024"
    schema.upgrade(engine)
    assert schema.current(engine) == "0025"
    with engine.connect() as conn:
        assert dict(execute(conn, "SELECT member_id, balance FROM members")) == sql
    assert balances_of(engine) == both  # nothing changes in any balance over both stores
    assert verify(engine)[0] == []
    member = next(m for m in _members(engine) if unfolded.get(m) and not sql[m])
    assert queries.balance(engine, member, date(2026, 10, 15))["balance"] == both[member] > 0  # folds the member
    # the way back gives the older ledger its balances again
    cfg = schema._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0024")
    with engine.connect() as conn:
        older = dict(execute(conn, "SELECT member_id, balance FROM members"))
        left = lake_balances(conn)
    assert older == {m: b + left.get(m, 0) for m, b in sql.items() if m != member} | {member: both[member]}
