"""Each member's unfolded lake points carried from close to close (``weixi.close.lake_carry``): at every close they
equal the sum over every unfolded partition, with members folded between the closes, lake expiries and a member
folded twice; a carry that is gone, or a fold mark before the partitions it read, makes the close sum again."""

from __future__ import annotations

import pyarrow.parquet as pq

from tests.integration.lake_plan import balances_of, lake_plan
from tests.integration.test_lake_ledger import MONTHS, _ledger, operator  # noqa: F401 (a fixture)
from weixi.adapters.sql import execute
from weixi.close import lake_carry, ledger_bridge, store
from weixi.close.months import first_day, next_month
from weixi.close.run import close_month
from weixi.close.verify_lake import verify_lake
from weixi.ledger.fold import ensure_folded
from weixi.ledger.verify import verify


def _checked(engine, seen: list):
    """``lake_carry.points`` that also compares its table with the sum over every unfolded partition."""
    real = lake_carry.points

    def points(con, lake_dir, month, acc, exp, month_files=None):
        how = real(con, lake_dir, month, acc, exp, month_files)
        ledger_bridge._unfolded(engine, con, folds=con.execute("SELECT * FROM lake_folds").fetch_arrow_table())
        wrong = con.execute(
            f"SELECT count(*) FROM lake_points p FULL JOIN ({ledger_bridge.LAKE_BALANCES}) l USING (member_id) "
            "WHERE coalesce(p.points, 0) <> coalesce(l.points, 0)"
        ).fetchone()[0]
        total = con.execute("SELECT coalesce(sum(points), 0) FROM lake_points").fetchone()[0]
        month_wrong = month_total = None
        if how == "carried+month":  # the month's points earned, made in the same pass: against the unfolded rows
            start, end = first_day(month), first_day(next_month(month))
            month_wrong, month_total = con.execute(
                "SELECT count(*) FILTER (WHERE coalesce(p.points_earned, 0) <> coalesce(l.earned, 0)), "
                "sum(p.points_earned) FROM lake_month_points p FULL JOIN (SELECT member_id, sum(earned) AS earned "
                f"FROM lake_accruals WHERE day >= DATE '{start}' AND day < DATE '{end}' AND earned > 0 "
                "GROUP BY member_id) l USING (member_id)"
            ).fetchone()
        seen.append(
            {
                "month": month,
                "how": how,
                "wrong": wrong,
                "points": total,
                "expiry_files": len(exp),
                "month_wrong": month_wrong,
                "month_points": month_total,
                "sql_points": _sql_points_earned(engine, month),
            }
        )
        return how

    return points


def test_the_carried_points_are_the_sum_over_every_unfolded_partition(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    # lots expire at the end of the month after: the second and third closes expire lake lots
    engine, data = _ledger(tmp_path / "run", operator, lake_plan("lake-carry", expiry_months=1))
    seen: list[dict] = []
    monkeypatch.setattr(lake_carry, "points", _checked(engine, seen))
    close_month(engine, data, MONTHS[0])
    richest = sorted(balances_of(engine).items(), key=lambda kv: (-kv[1], kv[0]))
    ensure_folded(engine, [m for m, _ in richest[:5]])  # redemptions' folds between the closes, say
    close_month(engine, data, MONTHS[1])
    ensure_folded(engine, [m for m, _ in richest[3:9]])  # two of them folded again
    close_month(engine, data, MONTHS[2])
    # the carry reads the month's files as its new files: the month's points earned come from the same pass
    assert [s["how"] for s in seen] == ["summed", "carried+month", "carried+month"]
    assert [s["wrong"] for s in seen] == [0, 0, 0]
    assert [s["month_wrong"] for s in seen] == [None, 0, 0]
    assert all(s["points"] > 0 for s in seen) and all(s["month_points"] > 0 for s in seen[1:])
    for s in seen[1:]:  # and they are what the close's history holds for the month
        history = pq.read_table(store.path(data, "history", s["month"])).column("points_earned").to_pylist()
        assert sum(history) == s["month_points"] + s["sql_points"]
    assert [s["expiry_files"] > 0 for s in seen] == [False, True, True]
    carry = data / "lake" / lake_carry.CARRY
    assert sorted(p.name for p in carry.glob("*.json")) == [f"{MONTHS[1]}.json", f"{MONTHS[2]}.json"]
    assert len(list(carry.glob("*.parquet"))) == 4  # the two carries kept, each points and marks
    assert verify(engine)[0] == []
    assert verify_lake(engine, data)[0] == []  # each snapshot balance against the sum from every partition

    # built again on the carry before the last month: the same; the carry's marks gone: summed, the same
    ledger_bridge.points_and_balances(engine, MONTHS[2], "standard")
    next(carry.glob(f"{MONTHS[1]}__*.marks.parquet")).unlink()
    ledger_bridge.points_and_balances(engine, MONTHS[2], "standard")
    assert [s["how"] for s in seen[3:]] == ["carried+month", "summed"]
    assert [s["wrong"] for s in seen[3:]] == [0, 0]


def test_a_fold_mark_before_the_carried_partitions_makes_the_close_sum_again(operator, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WEIXI_LEDGER_STORE", "lake")
    engine, data = _ledger(tmp_path / "run", operator)
    seen: list[dict] = []
    monkeypatch.setattr(lake_carry, "points", _checked(engine, seen))
    close_month(engine, data, MONTHS[0])
    close_month(engine, data, MONTHS[1])
    member = max(balances_of(engine).items(), key=lambda kv: (kv[1], kv[0]))[0]
    with engine.begin() as conn:  # a mark the carry of the second month cannot build on (a fold that read an
        # older watermark, committed after the close's read)
        execute(conn, "INSERT INTO ledger_folds (member_id, month) VALUES (?, ?)", [member, MONTHS[0]])
    ledger_bridge.points_and_balances(engine, MONTHS[2], "standard")
    assert [s["how"] for s in seen] == ["summed", "carried+month", "summed"]
    assert [s["wrong"] for s in seen] == [0, 0, 0]


def _sql_points_earned(engine, month: str) -> int:
    start, end = first_day(month), first_day(next_month(month))
    with engine.connect() as conn:
        sql = "SELECT coalesce(sum(points), 0) FROM journal WHERE kind = 'earn' AND day >= ? AND day < ?"
        return int(execute(conn, sql, [start, end])[0][0])
