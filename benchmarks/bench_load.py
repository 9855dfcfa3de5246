"""Intake throughput: ``weixi load bills`` of a 1,000,000-row bills CSV (yuan amounts) into an archive.

``run(workdir, rows)`` writes, under ``workdir``:

* a members archive of ``rows // 10`` members (``members/part-00000.parquet``, the generator's layout);
* a bills CSV of ``rows`` rows, 10 months × the members, with Chinese headers (账单编号, 用户编号, 账期,
  出账日期, 金额, 业务类型) and yuan amounts with 2 decimals, about 0.1% bad rows (negative amounts,
  unknown members, a date outside the month) so that the quarantine path is exercised;

then times ``load_file(..., "bills")`` — read, validate, check members, diff against the archive, write the
Parquet load file and the quarantine — and, as the same-run baseline, a plain ``pyarrow.csv.read_csv`` of the
same file with type inference (what any loader must at least pay) and a DuckDB ``read_csv`` to Parquet copy.
Building the files is not timed.  Returns the numbers as a dict.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from weixi.adapters.archive import SCHEMAS
from weixi.members.intake import load_file

MONTHS = [f"2025-{m:02d}" for m in range(1, 11)]


def make_files(workdir: Path, rows: int, seed: int = 1) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    data = workdir / "archive"
    n_members = max(1, rows // len(MONTHS))
    ids = np.char.add("M", np.char.zfill(np.arange(1, n_members + 1).astype(str), 10))
    members = {f.name: pa.nulls(n_members, f.type) for f in SCHEMAS["members"]}
    members["member_id"] = pa.array(ids)
    members["name"] = pa.array(np.full(n_members, "测试"))
    members["phone"] = pa.array(np.char.add("138", np.char.zfill(np.arange(n_members).astype(str), 8)))
    (data / "members").mkdir(parents=True, exist_ok=True)
    table = pa.table(members).drop_columns(["star_level"])
    pq.write_table(table, data / "members" / "part-00000.parquet", compression="zstd")
    member_idx = np.tile(np.arange(n_members), len(MONTHS))[:rows]
    month_idx = np.repeat(np.arange(len(MONTHS)), n_members)[:rows]
    months = np.array(MONTHS)[month_idx]
    ends = np.array([str((np.datetime64(m, "M") + 1).astype("datetime64[D]") - 1) for m in MONTHS])
    fen = rng.lognormal(np.log(4600), 0.55, rows).astype(np.int64)
    amount = np.char.add(np.char.add((fen // 100).astype(str), "."), np.char.zfill((fen % 100).astype(str), 2))
    bill_id = np.char.add(np.char.add("B", np.char.replace(months, "-", "")), np.char.zfill(member_idx.astype(str), 10))
    member = ids[member_idx].copy()
    billed = ends[month_idx].copy()
    bad = rng.choice(rows, size=max(3, rows // 1000), replace=False)
    third = len(bad) // 3
    amount[bad[:third]] = "-1.00"
    member[bad[third : 2 * third]] = "M9999999999"
    billed[bad[2 * third :]] = "2024-01-01"
    csv_path = workdir / "bills.csv"
    t = pa.table({"账单编号": bill_id, "用户编号": member, "账期": months, "出账日期": billed, "金额": amount,
                  "业务类型": np.full(rows, "移动")})  # fmt: skip
    pacsv.write_csv(t, csv_path)
    return data, csv_path


def run(workdir: Path | str | None = None, rows: int = 1_000_000) -> dict:
    own = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="weixi-bench-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        data, csv_path = make_files(workdir, rows)
        size_mb = csv_path.stat().st_size / 1e6
        start = time.perf_counter()
        baseline = pacsv.read_csv(csv_path)
        arrow_s = time.perf_counter() - start
        assert baseline.num_rows == rows
        del baseline
        start = time.perf_counter()
        con = duckdb.connect()
        con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{workdir / 'copy.parquet'}' (FORMAT parquet)")
        con.close()
        duck_s = time.perf_counter() - start
        start = time.perf_counter()
        summary = load_file(csv_path, "bills", data=data, today=date(2026, 1, 15))
        load_s = time.perf_counter() - start
        start = time.perf_counter()
        again = load_file(csv_path, "bills", data=data, today=date(2026, 1, 15), force=True)
        reload_s = time.perf_counter() - start
        assert summary["loaded"] + summary["quarantined"] == rows, summary
        assert again["unchanged"] == summary["loaded"] and again["loaded"] == 0
        return {
            "rows": rows,
            "csv_mb": round(size_mb, 1),
            "load_seconds": round(load_s, 3),
            "load_rows_per_s": round(rows / load_s),
            "quarantined": summary["quarantined"],
            "reload_force_seconds": round(reload_s, 3),
            "baseline_pyarrow_read_csv_seconds": round(arrow_s, 3),
            "baseline_duckdb_csv_to_parquet_seconds": round(duck_s, 3),
            "load_vs_pyarrow_read": round(load_s / arrow_s, 1),
            "load_vs_duckdb_copy": round(load_s / duck_s, 1),
        }
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(rows=int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000), indent=2))
