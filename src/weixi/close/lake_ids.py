"""Which of the lake's accrual partitions can hold an event id of a new batch, known without reading their ids.

The accrual checks that no id of its batch is in another partition (:func:`weixi.close.accrual_lake.post`): a
bill posted by ``weixi events post`` and delivered again in the month's file, or a month's bill in the next
month's file, is a duplicate. Reading every other partition's ``event_id`` column for it grows with the lake's
age: at 1,000,000 members 0.14 s at the second month and 0.42 s at the twelfth. Min/max statistics do not help:
a partition's files are sorted by member, so each row group (and file) holds ids from one end of the month's
range to the other, bills' and recharges' alike.

So each partition keeps its **id ranges**: per leading character of its ids, the least and the greatest id
(``{"B": ["B2025110000000021", "B2025110010000002"], "R": [...]}``). A partition can hold an id of the batch only
if, for some leading character, its range and the batch's meet; one whose every range misses the batch's is not
read. Exact whatever the ids look like: ids of no shape only cost the read they cost before (every range meets),
while ids that grow with time (a billing system's sequence numbers, date-stamped numbers) leave every earlier
partition out.

The ranges are kept in ``DATA/lake/ids/<key>.json`` with the files (name and size) they cover: written by the
accrual that writes a partition (the ranges of its input, which hold those of the rows it posts), and found from
the files the first time a partition lacks them (a lake from before, a file rewritten). A record whose files are
not the partition's current files is not used.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

IDS = "ids"  # under DATA/lake

Ranges = dict[str, tuple[str, str]]  # leading character -> (least id, greatest id)


def ranges(con, rows: str) -> Ranges:
    """The id ranges of ``rows`` (a table, view or ``read_parquet`` with an ``event_id`` column) on ``con``."""
    found = con.execute(
        f"SELECT left(event_id, 1), min(event_id), max(event_id) FROM {rows} WHERE event_id IS NOT NULL GROUP BY 1"
    ).fetchall()
    return {c: (lo, hi) for c, lo, hi in found}


def meet(theirs: Ranges, ours: Ranges) -> bool:
    """Whether some id of ``ours`` can be an id of ``theirs``: a leading character both have, whose ranges meet."""
    return any(c in theirs and theirs[c][0] <= hi and lo <= theirs[c][1] for c, (lo, hi) in ours.items())


def holding(con, lake_dir: Path, by_key: dict[str, list[str]], ours: Ranges) -> list[str]:
    """The files of the partitions ``by_key`` (key: its files) that can hold an id of ``ours``: a partition's
    kept ranges, or (none kept for its files) its ranges read from its files and kept."""
    out = []
    for key, files in sorted(by_key.items()):
        theirs = _kept(lake_dir, key, files)
        if theirs is None:
            theirs = ranges(con, f"read_parquet({files!r})")
            keep(lake_dir, key, files, theirs)
        if meet(theirs, ours):
            out.extend(files)
    return out


def keep(lake_dir: Path, key: str, files: list, found: Ranges) -> None:
    """Record ``found`` as the ranges of partition ``key`` whose files are ``files``."""
    write_record(lake_dir, IDS, key, files, {c: list(r) for c, r in found.items()})


def _kept(lake_dir: Path, key: str, files: list[str]) -> Ranges | None:
    """The ranges kept for partition ``key`` if they cover exactly ``files`` as they are on disk."""
    found = read_record(lake_dir, IDS, key, files)
    try:
        return None if found is None else {c: (lo, hi) for c, (lo, hi) in found.items()}
    except (ValueError, TypeError, AttributeError):
        return None


def write_record(lake_dir: Path, kind: str, key: str, files: list, facts) -> None:
    """Keep ``facts`` (JSON) of partition ``key`` whose files are ``files``, in ``DATA/lake/<kind>/<key>.json``
    (written whole, by rename)."""
    folder = Path(lake_dir) / kind
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{key}.{uuid.uuid4().hex[:12]}"
    tmp.write_text(json.dumps({"files": _stamp(files), "facts": facts}), encoding="utf-8")
    os.replace(tmp, folder / f"{key}.json")


def read_record(lake_dir: Path, kind: str, key: str, files: list[str]):
    """The facts :func:`write_record` kept of partition ``key`` if they were kept for exactly ``files`` as they
    are on disk (name and size); None otherwise (none kept, other files, a damaged record)."""
    try:
        record = json.loads((Path(lake_dir) / kind / f"{key}.json").read_text(encoding="utf-8"))
        return record["facts"] if record["files"] == _stamp(files) else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _stamp(files: list) -> list[list]:
    """The files by name and size, sorted (a file rewritten by hand under its name has another size, or is read)."""
    return sorted([os.path.basename(str(f)), os.stat(f).st_size] for f in files)


__all__ = ["IDS", "holding", "keep", "meet", "ranges", "read_record", "write_record"]
