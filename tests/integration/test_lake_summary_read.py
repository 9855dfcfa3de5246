"""The close summary's outstanding points and the programme figures over both stores: the SQL figures and the fold
marks come from one read, so a member folded while they are read is counted once. (A fold moves a member's points
from the lake into SQL, with its lots and journal entries, in one transaction.)"""

from __future__ import annotations

from tests.integration.lake_plan import balances_of
from tests.integration.test_lake_ledger import MONTHS, _ledger, _members, operator  # noqa: F401 (a fixture)
from weixi.close import ledger_bridge, programme, run
from weixi.close.run import close_month
from weixi.ledger.fold import ensure_folded


def test_a_fold_between_the_sql_read_and_the_lake_read_is_counted_once(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    close_month(engine, data, MONTHS[0])
    month = MONTHS[0]
    before = balances_of(engine)
    totals = ledger_bridge.month_totals(engine, month)
    counts = programme.ledger_counts(engine, month)
    assert totals["outstanding"] == sum(before.values()) > 0
    folded = [m for m in _members(engine) if before[m] > 0][:3]
    real = ledger_bridge._unfolded

    def fold_after_the_marks(*args, **kwargs):  # a redemption's fold, say, once the lake's views are made
        out = real(*args, **kwargs)
        ensure_folded(engine, [folded.pop()] if folded else [])
        return out

    monkeypatch.setattr(ledger_bridge, "_unfolded", fold_after_the_marks)
    assert ledger_bridge.month_totals(engine, month) == totals  # each folded member's points once
    assert programme.ledger_counts(engine, month) == counts
    # the close's one read for both
    read = programme.lake_of(engine, month)
    assert ledger_bridge.month_totals(engine, month, read) == totals
    assert programme.ledger_counts(engine, month, read) == counts
    assert not folded  # the folds did happen
    monkeypatch.undo()
    assert balances_of(engine) == before
    assert ledger_bridge.month_totals(engine, month) == totals


def test_the_close_reads_its_summary_figures_with_its_history_step_and_counts_a_later_fold_once(
    operator,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """The close reads the SQL figures of its summary and programme figures, with the fold marks, in its history
    step's read of the ledger (``programme.figures_queries``), and sums the lake's part at the end. The figures are
    those a read after the close finds; a member folded between the two (a redemption during the close) is counted
    once, at the marks read with the figures."""
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    close_month(engine, data, MONTHS[0])
    month = MONTHS[1]
    folded = [m for m, b in balances_of(engine).items() if b > 0][:3]
    assert len(folded) == 3
    real = run._snapshot_step

    def fold_during_the_snapshot(*args, **kwargs):  # after the history step's read, before the summary
        ensure_folded(engine, folded)
        return real(*args, **kwargs)

    monkeypatch.setattr(run, "_snapshot_step", fold_during_the_snapshot)
    result = close_month(engine, data, month)
    monkeypatch.undo()
    points, figures = result["summary"]["points"], result["summary"]["programme"]
    after = ledger_bridge.month_totals(engine, month)
    assert points["outstanding"] == after["outstanding"] == sum(balances_of(engine).values()) > 0
    assert {k: points[k] for k in ("issued", "redeemed", "expired", "reversed")} == {
        k: after[k] for k in ("issued", "redeemed", "expired", "reversed")
    }
    assert points["issued"] > 0
    counts = programme.ledger_counts(engine, month).__dict__
    assert figures["issued"] == {"month": counts["issued_month"], "to_date": counts["issued_to_date"]}
    assert counts["issued_month"] > 0
    projection = figures["breakage"]["projection"]
    assert projection["outstanding_expiring"] == counts["outstanding_expiring"] > 0
