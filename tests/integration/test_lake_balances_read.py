"""The members' balances over both stores, read by the close (the snapshot's ``points_balance``): the SQL balances
and the fold marks come from one transaction, so a member folded while the close reads is counted once, in the
store the marks say. (A fold moves a member's points from the lake into the SQL balance in one transaction.)"""

from __future__ import annotations

import pytest

from tests.integration.lake_plan import balances_of
from tests.integration.test_lake_ledger import MONTHS, _ledger, _members, operator  # noqa: F401 (a fixture)
from weixi.adapters.sql import execute
from weixi.close import ledger_bridge
from weixi.close.run import close_month
from weixi.ledger.fold import ensure_folded
from weixi.plans.service import active_plan


@pytest.mark.parametrize("read", ["balances", "points_and_balances", "the_close_s"])
def test_a_fold_between_the_ledger_read_and_the_lake_read_is_counted_once(operator, tmp_path, monkeypatch, read):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    close_month(engine, data, MONTHS[0])
    before = balances_of(engine)
    member = next(m for m in _members(engine) if before[m] > 0)
    with engine.connect() as conn:
        assert execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member])[0][0] == 0
    real, real_later = ledger_bridge.ledger_arrows, ledger_bridge.ledger_arrows_later

    def fold_after_the_read(*args, **kwargs):
        out = real(*args, **kwargs)
        ensure_folded(engine, [member])  # a redemption's fold, say, while the close goes on
        return out

    def fold_after_the_read_later(*args, **kwargs):  # the close's read, started early and taken later
        take = real_later(*args, **kwargs)
        return lambda: fold_after_the_read_taken(take)

    def fold_after_the_read_taken(take):
        out = take()
        ensure_folded(engine, [member])
        return out

    monkeypatch.setattr(ledger_bridge, "ledger_arrows", fold_after_the_read)
    monkeypatch.setattr(ledger_bridge, "ledger_arrows_later", fold_after_the_read_later)
    if read == "balances":
        table = ledger_bridge.balances(engine)
    elif read == "points_and_balances":
        table = ledger_bridge.points_and_balances(engine, MONTHS[0])[1]
    else:  # the close's: only the members not at no points, no debt and the default tier
        with engine.connect() as conn:
            default = active_plan(conn)[1].default_tier()
        table = ledger_bridge.points_and_balances(engine, MONTHS[0], default.id)[1]
        before = {m: b for m, b in before.items() if b}
    got = dict(zip(table.column("member_id").to_pylist(), table.column("points_balance").to_pylist()))
    if read == "the_close_s":
        got = {m: b for m, b in got.items() if b}
    assert got == before  # the member's points once: in the lake, as the marks read with the balances say
    with engine.connect() as conn:  # the fold did happen: the points are in SQL now
        assert execute(conn, "SELECT balance FROM members WHERE member_id = ?", [member])[0][0] == before[member]
    monkeypatch.undo()
    assert {m: b for m, b in balances_of(engine).items() if b or read != "the_close_s"} == before
