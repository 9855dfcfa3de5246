"""The sums of the lake's accrual partitions that the programme figures read, kept per partition, so that a
close's summary does not read every partition's rows.

The programme figures (:func:`weixi.close.ledger_bridge.lake_programme`) add the lake's unfolded rows: their
points earned by day (the month, to date) and by the lots' expiry date (past it, still to come, none). Summed from
every partition's rows at each close, that read grows with the lake's age: at 1,000,000 members 0.16 s at the
second month, 0.55 s at the twelfth.

So each partition keeps its sums of ``earned`` by ``(day, expires_on, earned > 0)`` (a few dozen rows: a month's
days, an expiry date or a few) in ``DATA/lake/sums/<key>.json`` with the files they cover
(:func:`weixi.close.lake_ids.write_record`): written by the accrual that writes the partition, from the rows it
writes, and found from the files the first time a partition lacks them. A partition's unfolded sums are its sums
less the sums of the rows of the members folded through it (a fold mark at or after its key: those rows are in the
SQL ledger now); those are read from its files, and only when some member is folded through it.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from pathlib import Path

import pyarrow as pa

from weixi.close.lake_ids import read_record, write_record

SUMS = "sums"  # under DATA/lake
SCHEMA = pa.schema([("day", pa.date32()), ("expires_on", pa.date32()), ("pos", pa.bool_()), ("earned", pa.int64())])


def _group(rows: str, sign: str = "") -> str:
    return (
        f"SELECT day, expires_on, earned > 0 AS pos, CAST({sign}sum(earned) AS BIGINT) AS earned FROM {rows} "
        "GROUP BY ALL"
    )


def sums(con, rows: str) -> list[list]:
    """The sums of ``rows`` (a table, view or ``read_parquet`` of accrual rows) as JSON rows: ``[day,
    expires_on, positive, earned]``, the dates ISO text (None: none)."""
    return [
        [d.isoformat() if d else None, e.isoformat() if e else None, bool(p), int(n)]
        for d, e, p, n in con.execute(_group(rows)).fetchall()
    ]


def keep(con, lake_dir: Path, key: str, files: list, rows: str = "acc_events") -> None:
    """Keep the sums of partition ``key``, whose files ``files`` hold exactly ``rows``."""
    write_record(lake_dir, SUMS, key, files, sums(con, rows))


def unfolded(con, lake_dir: Path, by_key: dict[str, list[str]], folded: bool) -> None:
    """Make temp table ``lake_accrual_sums`` (``day``, ``expires_on``, ``pos``, ``earned``) in ``con``: the sums of
    the unfolded rows of the partitions ``by_key`` (key: its files), from each partition's kept sums (or its files,
    then kept) less those of the members folded through it. ``folded``: view ``lake_folds`` (the fold marks) has
    rows."""
    parts = []
    for key, files in sorted(by_key.items()):
        try:
            parts.append(_table(read_record(lake_dir, SUMS, key, files)))
        except (ValueError, TypeError, IndexError):  # none kept for these files, or a damaged record
            found = sums(con, f"read_parquet({files!r})")
            with suppress(OSError):  # a reader that may not write the data folder (the app's) sums again next time
                write_record(lake_dir, SUMS, key, files, found)
            parts.append(_table(found))
    con.register("lake_sums_kept", pa.concat_tables([_table([]), *parts]))
    less = []
    last = con.execute("SELECT max(month) FROM lake_folds").fetchone()[0] if folded else None
    for key, files in sorted(by_key.items()):
        if last is not None and last >= key:  # some member is folded through the partition
            mine = (
                f"(SELECT a.* FROM read_parquet({files!r}) a SEMI JOIN lake_folds f "
                f"ON f.member_id = a.member_id AND f.month >= '{key}')"
            )
            less.append(_group(mine, sign="-"))
    con.execute(
        "CREATE OR REPLACE TEMP TABLE lake_accrual_sums AS SELECT * FROM lake_sums_kept"
        + "".join(f" UNION ALL {q}" for q in less)
    )
    con.unregister("lake_sums_kept")


def _table(rows: list[list] | None) -> pa.Table:
    if not isinstance(rows, list):
        raise TypeError("no sums")

    def day(v):
        return date.fromisoformat(v) if v else None

    return pa.table(
        {
            "day": [day(r[0]) for r in rows],
            "expires_on": [day(r[1]) for r in rows],
            "pos": [bool(r[2]) for r in rows],
            "earned": [int(r[3]) for r in rows],
        },
        schema=SCHEMA,
    )


__all__ = ["SUMS", "keep", "sums", "unfolded"]
