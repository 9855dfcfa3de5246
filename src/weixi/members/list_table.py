"""The member list's table: a month's close snapshot joined once to the archive (name, phone, contract end) and to
the month's churn scores, written as one Parquet file the console's member list reads.

Joining 10,000,000 snapshot rows to the archive and the scores on every page request cost seconds; filtering and
sorting one table with the columns side by side costs a scan of the filtered columns and a top-N. The table is
derived data: ``DATA/member_list/month=M/part-0.parquet`` with ``stamp.json`` naming the files it was built from
(the snapshot, the scores, the archive's parts and loads, with sizes and modification times). A request that
finds the stamp out of date (a new close, new scores, a load into the archive) rebuilds it first, under a lock, and
writes it beside the old file before replacing it, so a reader never sees half a table.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

from weixi.adapters import archive, duck
from weixi.adapters.duck import lit
from weixi.close import store

COLUMNS = (
    "member_id, name, phone, status, tier, star_level, value_grade, activity_grade, risk_decile, churn_probability, "
    "manager_id, contract_end, join_date, points_balance, city, plan_name"
)
ROW_GROUP = 100_000
_lock = threading.Lock()


def _stat(path: Path) -> list | None:
    if not path.exists():
        return None
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def sources(data_dir: Path, month: str) -> tuple[str | None, Path]:
    """The snapshot (``read_parquet([...])`` over its files) and the churn scores of ``month``."""
    snap = store.source(data_dir, "snapshots", month)
    return snap, data_dir / "churn" / "scores" / f"month={month}" / "part-0.parquet"


def stamp(data_dir: Path, month: str) -> dict:
    _, scores = sources(data_dir, month)
    return {
        "month": month,
        "snapshot": store.stamp(data_dir, "snapshots", month),
        "scores": _stat(scores),
        "archive": archive.file_stamps(data_dir, ("members",)),
    }


def _select(data_dir: Path, month: str) -> str:
    snap, scores = sources(data_dir, month)
    if archive.part_files(data_dir, "members") or archive.load_files(data_dir, "members"):
        arch = f"SELECT member_id, name, phone, contract_end FROM ({archive.scan_sql(data_dir, 'members')})"
    else:
        arch = (
            "SELECT NULL::VARCHAR AS member_id, NULL::VARCHAR AS name, NULL::VARCHAR AS phone, "
            "NULL::DATE AS contract_end WHERE false"
        )
    if scores.exists():
        score = f"SELECT member_id, churn_probability, risk_decile FROM read_parquet({lit(scores)})"
    else:
        score = (
            "SELECT NULL::VARCHAR AS member_id, NULL::DOUBLE AS churn_probability, NULL::TINYINT AS risk_decile "
            "WHERE false"
        )
    return (
        "SELECT s.member_id, a.name, a.phone, s.status, s.tier, s.star_level, s.value_grade, s.activity_grade, "
        "sc.risk_decile, sc.churn_probability, s.manager_id, a.contract_end, s.join_date, s.points_balance, "
        f"s.city, s.plan_name FROM {snap} s "
        f"LEFT JOIN ({arch}) a ON a.member_id = s.member_id "
        f"LEFT JOIN ({score}) sc ON sc.member_id = s.member_id ORDER BY s.member_id"
    )


def current(data_dir: Path, month: str) -> tuple[Path, bool]:
    """The path of ``month``'s list table, rebuilt first when its sources changed; and whether it is scored."""
    data_dir = Path(data_dir)
    folder = data_dir / "member_list" / f"month={month}"
    path, meta = folder / "part-0.parquet", folder / "stamp.json"
    want = stamp(data_dir, month)
    scored = want["scores"] is not None

    def fresh() -> bool:
        try:
            return path.exists() and json.loads(meta.read_text(encoding="utf-8")) == want
        except (OSError, ValueError):
            return False

    if fresh():
        return path, scored
    folder.mkdir(parents=True, exist_ok=True)
    with _lock, open(folder / ".lock", "w") as lock:  # threads of this server, and other processes
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not fresh():
            tmp = folder / f".part-0.{os.getpid()}.parquet"
            con = duck.connect()
            try:
                con.execute(
                    f"COPY ({_select(data_dir, month)}) TO {lit(tmp)} (FORMAT PARQUET, ROW_GROUP_SIZE {ROW_GROUP})"
                )
            finally:
                con.close()
            os.replace(tmp, path)
            meta.write_text(json.dumps(want), encoding="utf-8")
    return path, scored
