"""Which lake rows are still the lake's (issue 21: a member's batch lots move to the SQL ledger when the member is
first touched): the rows of a partition after the member's fold mark, and every row of a member never folded."""

from __future__ import annotations

import pyarrow as pa
import pytest

from weixi.adapters import duck
from weixi.ledger.fold import unfolded_join

ROWS = [  # (member, partition, earned)
    ("M1", "2026-07", 10),  # never folded: all three rows unfolded
    ("M1", "2026-08", 20),
    ("M1", "2026-09", 40),
    ("M2", "2026-07", 100),  # folded through 2026-08: only 2026-09 is the lake's
    ("M2", "2026-08", 200),
    ("M2", "2026-09", 400),
    ("M3", "2026-08", 1000),  # folded through 2026-09: nothing left in the lake
    ("M3", "2026-09", 2000),
]


def _sums(marks: list[tuple[str, str]]) -> tuple[dict, int]:
    con = duck.connect()
    try:
        con.register(
            "lake_folds",
            pa.table(
                {"member_id": [m for m, _ in marks], "month": [k for _, k in marks]},
                pa.schema([("member_id", pa.string()), ("month", pa.string())]),
            ),
        )
        values = ", ".join(f"('{m}', '{k}', {p})" for m, k, p in ROWS)
        rows = f"SELECT * FROM (VALUES {values}) t(member_id, month, earned)"
        join = unfolded_join(len(marks))
        by_member = dict(
            con.execute(f"SELECT a.member_id, sum(a.earned) FROM ({rows}) a {join} GROUP BY 1 ORDER BY 1").fetchall()
        )
        total = con.execute(f"SELECT sum(a.earned) FROM ({rows}) a {join}").fetchone()[0]
    finally:
        con.close()
    return by_member, total


def test_rows_after_the_fold_mark_stay_the_lakes_and_the_folded_ones_do_not():
    by_member, total = _sums([("M2", "2026-08"), ("M3", "2026-09")])
    assert by_member == {"M1": 70, "M2": 400}  # M3 has nothing left; M2 keeps the partition after its mark
    assert total == 470


@pytest.mark.parametrize("marks", [[], [("M9", "2026-09")]])
def test_with_no_mark_on_these_members_every_row_is_the_lakes(marks):
    by_member, total = _sums(marks)
    assert by_member == {"M1": 70, "M2": 700, "M3": 3000}
    assert total == 3770
