"""A small member archive written in the generator's layout, and helpers to write intake files."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from weixi.adapters import archive_schema as gen_schema
from weixi.generator.identity import id_check_char

TODAY = date(2026, 4, 10)


def id_number(first17: str) -> str:
    return first17 + id_check_char(first17)


def write_members(data: Path, n: int = 5) -> None:
    rows = {f.name: [None] * n for f in gen_schema.MEMBERS}
    rows["member_id"] = [f"M{i:010d}" for i in range(1, n + 1)]
    rows["name"] = [f"会员{i}" for i in range(1, n + 1)]
    rows["gender"] = ["M"] * n
    rows["birthday"] = [date(1990, 3, 7)] * n
    rows["phone"] = [f"1381234{i:04d}" for i in range(1, n + 1)]
    rows["id_number"] = [id_number(f"4403011990030710{i % 10}") for i in range(1, n + 1)]
    rows["plan_name"] = ["5G智享套餐129元"] * n
    rows["monthly_rent_fen"] = [12900] * n
    rows["card_role"] = ["primary"] * n
    rows["network"] = ["5G"] * n
    rows["contract_end"] = [date(2026, 12, 31)] + [None] * (n - 1)
    (data / "members").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows, schema=gen_schema.MEMBERS), data / "members" / "part-00000.parquet")


def write_bills(data: Path) -> None:
    rows = {
        "bill_id": ["B1", "B2"],
        "member_id": ["M0000000001", "M0000000002"],
        "month": ["2026-03", "2026-03"],
        "billed_on": [date(2026, 3, 31)] * 2,
        "service_type": ["mobile"] * 2,
        "amount_fen": [5900, 12900],
        "paid": [True, True],
        "paid_on": [date(2026, 4, 2)] * 2,
    }
    (data / "bills").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows, schema=gen_schema.BILLS), data / "bills" / "part-00000.parquet")


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def read_quarantine(data: Path, summary: dict) -> list[dict]:
    with open(data / summary["quarantine_file"], encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def data(tmp_path) -> Path:
    d = tmp_path / "archive"
    write_members(d)
    write_bills(d)
    return d
