"""The member search index: one Parquet file of (key, member_id) sorted by key, so that a search at tens of
millions of members reads a few row groups instead of scanning the archive.

Keys, one row each per member: ``i:`` member id, ``n:`` name, ``p:`` phone, ``r:`` the phone reversed (a
search by the last digits is a prefix search of the reversed number), ``s:`` second contact number. Every
search is a prefix search of one or more keys.

The index is built from the archive's current rows (:func:`weixi.adapters.archive.scan_sql`) by ``weixi load
members`` and by the monthly close, written atomically, and stamped with the member files it was built from
(path, size, modification time); a search whose stamp does not match the archive any more does not use it
(:func:`fresh` is None) and scans instead, so a stale index is never read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from weixi.adapters import archive, duck
from weixi.adapters.duck import bound_memory
from weixi.adapters.parquet_lookup import prefix_rows

ROW_GROUP = 8192


def location(data: str | os.PathLike) -> Path:
    return Path(data) / "close" / "search" / "members.parquet"


def stamp(data: str | os.PathLike) -> list[list]:
    """What the index is built from: every member file of the archive with its size and modification time."""
    return archive.file_stamps(data, ("members",))


def _stamp_path(index: Path) -> Path:
    return index.with_suffix(".json")


def fresh(data: str | os.PathLike) -> Path | None:
    """The index file when it was built from the archive as it is now; None when missing or stale."""
    index = location(data)
    try:
        built = json.loads(_stamp_path(index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not index.exists() or built.get("stamp") != stamp(data):
        return None
    return index


def build(data: str | os.PathLike) -> dict:
    """(Re)build the index from the archive's current members; returns {"members", "keys", "path"}.
    Skips the work when the index is already fresh."""
    data = Path(data)
    index = location(data)
    if fresh(data) is not None:
        built = json.loads(_stamp_path(index).read_text(encoding="utf-8"))
        return {**built["counts"], "path": str(index), "rebuilt": False}
    now = stamp(data)
    index.parent.mkdir(parents=True, exist_ok=True)
    tmp = index.with_name(index.name + ".tmp")
    con = duck.connect()
    try:
        bound_memory(con, data)
        con.execute(
            f"CREATE TEMP TABLE m AS SELECT member_id, name, phone, second_contact "
            f"FROM ({archive.scan_sql(data, 'members')})"
        )
        con.execute(f"""COPY (SELECT key, member_id FROM (
                SELECT 'i:' || member_id AS key, member_id FROM m
                UNION ALL SELECT 'n:' || name, member_id FROM m WHERE name IS NOT NULL AND name <> ''
                UNION ALL SELECT 'p:' || phone, member_id FROM m WHERE phone IS NOT NULL AND phone <> ''
                UNION ALL SELECT 'r:' || reverse(phone), member_id FROM m WHERE phone IS NOT NULL AND phone <> ''
                UNION ALL SELECT 's:' || second_contact, member_id FROM m
                          WHERE second_contact IS NOT NULL AND second_contact <> '')
            ORDER BY key, member_id) TO '{tmp}' (FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP})""")
        members = con.execute("SELECT count(*) FROM m").fetchone()[0]
        keys = con.execute(f"SELECT count(*) FROM read_parquet('{tmp}')").fetchone()[0]
    finally:
        con.close()
    counts = {"members": int(members), "keys": int(keys)}
    _stamp_path(index).unlink(missing_ok=True)  # never a fresh stamp beside a file being replaced
    os.replace(tmp, index)
    stamp_tmp = _stamp_path(index).with_name(index.stem + ".json.tmp")
    stamp_tmp.write_text(json.dumps({"stamp": now, "counts": counts}), encoding="utf-8")
    os.replace(stamp_tmp, _stamp_path(index))
    return {**counts, "path": str(index), "rebuilt": True}


def matches(index: Path, prefixes: list[str], limit: int) -> list[tuple[str, str]]:
    """(key, member_id) rows of each key prefix, up to ``limit`` per prefix, in index order."""
    out: list[tuple[str, str]] = []
    for prefix in prefixes:
        out += [(r["key"], r["member_id"]) for r in prefix_rows(index, "key", prefix, limit)]
    return out
