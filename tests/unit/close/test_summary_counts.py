"""The close summary's counts of the active members by tier, star level, value grade, activity and key account are
counted in one scan of the snapshot (grouping sets) and say what one count per column says, values with none
(the text ``None``) last."""

from __future__ import annotations

from weixi.adapters import duck
from weixi.close.snapshot import SUMMARY_COUNTS, _active_counts, _counts

COLUMNS = {  # column: the values it takes (NULL: none)
    "status": "['active', 'active', 'left']",
    "tier": "['gold', 'silver', 'member', NULL]",
    "star_level": "[1, 2, 3, 7, NULL]",
    "value_grade": "['A', 'B', 'C', 'D']",
    "activity_grade": "['active', 'normal', 'silent']",
    "key_account": "['diamond', 'gold', NULL, NULL]",
}


def test_one_scan_counts_equal_a_count_per_column(tmp_path):
    con = duck.connect()
    picks = ", ".join(
        f"list_element({values}, CAST(hash(i, {salt}) % len({values}) AS INTEGER) + 1) AS {column}"
        for salt, (column, values) in enumerate(COLUMNS.items())
    )
    con.execute(f"CREATE TABLE s AS SELECT printf('M%05d', i) AS member_id, {picks} FROM range(3000) t(i)")
    untiered = con.execute("SELECT count(*) FROM s WHERE status = 'active' AND tier IS NULL").fetchone()[0]
    path = tmp_path / "snapshot.parquet"
    con.execute(f"COPY s TO '{path}' (FORMAT parquet)")
    snap = f"read_parquet('{path}')"
    counted = _active_counts(con, snap)
    for key, column in SUMMARY_COUNTS.items():
        one = _counts(con, snap, column)
        assert counted[key] == one and list(counted[key]) == list(one), key
    assert counted["by_tier"]["None"] == untiered > 0
    assert list(counted["by_star_level"]) == ["1", "2", "3", "7", "None"]
