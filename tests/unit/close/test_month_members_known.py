"""The lake month's members for the SQL update (:func:`weixi.close.lake_write.members_of`) leave out the members the
SQL ledger has up to date already (those of the previous close month), unless a posted ``tier`` attr names a tier."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from weixi.adapters import duck
from weixi.close.lake_write import members_of


def _rows() -> pa.Table:
    return pa.table(
        {
            "member_id": ["A", "A", "B", "C", "C", "D"],
            "day": [date(2026, 10, d) for d in (3, 1, 2, 5, 4, 6)],
            "seq": [2, 1, 3, 5, 4, 6],
            "earned": [5, 7, 11, 0, 3, 2],
            "attrs": [None, None, None, '{"tier": "gold"}', None, None],
        }
    )


def test_the_members_known_are_left_out_unless_a_tier_is_posted():
    con = duck.connect()
    try:
        con.register("rows", _rows())
        con.register("known", pa.table({"member_id": ["A", "C", "X"]}))
        every = members_of(con, "rows", by_member=True).to_pylist()
        some = members_of(con, "rows", by_member=True, known="SELECT member_id FROM known").to_pylist()
    finally:
        con.close()
    assert [r["member_id"] for r in every] == ["A", "B", "C", "D"]
    # A is known: left out; C is known but a posted tier changes it; B and D are not known
    assert [r["member_id"] for r in some] == ["B", "C", "D"]
    c = next(r for r in some if r["member_id"] == "C")
    assert (c["first_day"], c["first_text"], c["tier"], c["first_seq"]) == (date(2026, 10, 4), "2026-10-04", "gold", 4)
    assert some == [r for r in every if r["member_id"] != "A"]


def test_rows_without_tier_attrs_or_points_give_the_members_not_known_in_one_pass():
    """The close's rows (no attrs, no points: ``acc_new``): the members not known, each with its first day and
    first event's seq, in member order."""
    con = duck.connect()
    try:
        con.register("rows", _rows().drop_columns(["attrs", "earned"]))
        con.register("known", pa.table({"member_id": ["A", "C", "X"]}))
        some = members_of(con, "rows", by_member=True, known="SELECT member_id FROM known", tiers=False).to_pylist()
        every = members_of(con, "rows", by_member=True, tiers=False).to_pylist()
    finally:
        con.close()
    assert some == [
        {"member_id": "B", "first_day": date(2026, 10, 2), "first_text": "2026-10-02", "tier": None, "first_seq": 3},
        {"member_id": "D", "first_day": date(2026, 10, 6), "first_text": "2026-10-06", "tier": None, "first_seq": 6},
    ]
    assert [r["member_id"] for r in every] == ["A", "B", "C", "D"]
    assert (
        every[0]["first_day"] == date(2026, 10, 1) and every[0]["first_seq"] == 1
    )  # A: its row first in posting order (seq)
