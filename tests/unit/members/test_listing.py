"""The member list's query (weixi.members.listing): one DuckDB query over the latest snapshot, the archive and the
month's churn scores, with the total, LIMIT/OFFSET, a fixed set of sorts, masking and the CSV/XLSX export."""

from __future__ import annotations

import csv
import io
from datetime import date

import duckdb
import pytest
from openpyxl import load_workbook

from tests.unit.members.conftest import write_members
from weixi.close import store
from weixi.members import listing
from weixi.members.listing import Filters, ListingError


def write_snapshot(data, month: str = "2026-03") -> None:
    """Five members: M…1–M…4 active, M…5 left; tiers, stars, grades and managers vary."""
    part = store.partition(data, "snapshots", month)
    part.mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT *, '深圳' AS city, '5G套餐' AS plan_name FROM (VALUES "
        "('M0000000001', 'active', 'gold', 5::TINYINT, 'A', 'active', 'E1', DATE '2020-01-01', 900::BIGINT), "
        "('M0000000002', 'active', 'standard', 2::TINYINT, 'B', 'normal', 'E2', DATE '2021-01-01', 100::BIGINT), "
        "('M0000000003', 'active', 'standard', 1::TINYINT, 'C', 'silent', 'E1', DATE '2022-01-01', 50::BIGINT), "
        "('M0000000004', 'active', 'gold', 4::TINYINT, 'A', 'active', 'E2', DATE '2023-01-01', 700::BIGINT), "
        "('M0000000005', 'left', NULL, NULL, NULL, NULL, 'E1', DATE '2019-01-01', 0::BIGINT)"
        ") t(member_id, status, tier, star_level, value_grade, activity_grade, manager_id, join_date, points_balance)"
        f") TO '{part / 'part-0.parquet'}' (FORMAT parquet)"
    )


def write_scores(data, month: str = "2026-03") -> None:
    part = data / "churn" / "scores" / f"month={month}"
    part.mkdir(parents=True)
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('M0000000001', 0.02, 9::TINYINT), ('M0000000002', 0.61, 1::TINYINT), "
        "('M0000000003', 0.33, 4::TINYINT), ('M0000000004', 0.45, 2::TINYINT)) t(member_id, churn_probability, "
        f"risk_decile)) TO '{part / 'part-0.parquet'}' (FORMAT parquet)"
    )


@pytest.fixture
def data(tmp_path):
    write_members(tmp_path, 5)  # contract_end: M…1 on 2026-12-31, the others none
    write_snapshot(tmp_path)
    return tmp_path


def ids(found: dict) -> list[str]:
    return [r["member_id"] for r in found["rows"]]


def test_before_any_close_the_list_is_empty(tmp_path):
    assert listing.list_members(tmp_path, Filters()) == {"month": None, "total": 0, "rows": [], "scored": False}


@pytest.mark.parametrize(
    "filters, expected",
    [
        (Filters(tier="gold"), ["M0000000001", "M0000000004"]),
        (Filters(star=2), ["M0000000002"]),
        (Filters(value="A"), ["M0000000001", "M0000000004"]),
        (Filters(activity="silent"), ["M0000000003"]),
        (Filters(manager="E1"), ["M0000000001", "M0000000003", "M0000000005"]),
        (Filters(status="left"), ["M0000000005"]),
        (Filters(status="active", manager="E1"), ["M0000000001", "M0000000003"]),
        (Filters(contract_before=date(2026, 12, 31)), ["M0000000001"]),
        (Filters(contract_before=date(2026, 12, 30)), []),
    ],
)
def test_each_filter(data, filters, expected):
    found = listing.list_members(data, filters)
    assert ids(found) == expected and found["total"] == len(expected) and found["month"] == "2026-03"


def test_the_band_filter_and_the_risk_sort_read_the_months_scores(data):
    assert listing.list_members(data, Filters())["scored"] is False
    assert listing.list_members(data, Filters(band="high"))["total"] == 0  # no scores, no band
    write_scores(data)
    assert ids(listing.list_members(data, Filters(band="high"))) == ["M0000000002", "M0000000004"]
    assert ids(listing.list_members(data, Filters(band="medium"))) == ["M0000000003"]
    risk = listing.list_members(data, Filters(), sort="risk", desc=True)
    assert ids(risk) == ["M0000000002", "M0000000004", "M0000000003", "M0000000001", "M0000000005"]  # unscored last


def test_sorts_and_pages_with_the_total_of_every_page(data):
    by_points = listing.list_members(data, Filters(), sort="points", desc=True, limit=2)
    assert ids(by_points) == ["M0000000001", "M0000000004"] and by_points["total"] == 5
    second = listing.list_members(data, Filters(), sort="points", desc=True, limit=2, offset=2)
    assert ids(second) == ["M0000000002", "M0000000003"] and second["total"] == 5
    past = listing.list_members(data, Filters(), limit=2, offset=10)
    assert past["rows"] == [] and past["total"] == 5
    assert ids(listing.list_members(data, Filters(), sort="star"))[:2] == ["M0000000003", "M0000000002"]


@pytest.mark.parametrize(
    "call, code",
    [
        (lambda d: listing.list_members(d, Filters(), sort="name; DROP TABLE x"), "member_list_unknown_sort"),
        (lambda d: listing.list_members(d, Filters(status="gone")), "member_list_unknown_status"),
        (lambda d: listing.list_members(d, Filters(band="extreme")), "member_list_unknown_band"),
        (lambda d: listing.export([], ["a"], "pdf"), "member_list_unknown_format"),
    ],
)
def test_what_cannot_be_applied_is_an_error_value(data, call, code):
    with pytest.raises(ListingError) as err:
        call(data)
    assert err.value.code == code and err.value.status == 422


def test_phones_are_masked_unless_revealed(data):
    masked = listing.list_members(data, Filters(), limit=1)["rows"][0]
    assert masked["phone"] == "138****0001" and masked["name"] == "会员1"
    assert listing.list_members(data, Filters(), limit=1, reveal=True)["rows"][0]["phone"] == "13812340001"


def test_the_export_names_codes_and_keeps_formulas_out(data):
    rows = listing.list_members(data, Filters(status="active"), limit=None)["rows"]
    rows[0]["name"] = "=cmd|' /C calc'!A0"
    labels = {"value_grade": {"A": "白金"}, "manager_id": {"E1": "王芳"}, "status": {"active": "在网"}}
    headers = [f"h{i}" for i in range(len(listing.COLUMNS))]
    text = listing.export(rows, headers, "csv", labels).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == headers and len(table) == 5
    first = dict(zip(listing.COLUMNS, table[1]))
    assert first["name"].startswith("'=") and first["value_grade"] == "白金" and first["manager_id"] == "E1 王芳"
    assert first["status"] == "在网" and first["phone"] == "138****0001"
    sheet = load_workbook(io.BytesIO(listing.export(rows, headers, "xlsx", labels)), read_only=True).active
    got = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert got[0] == headers and len(got) == 5 and got[1][0] == "M0000000001"


def test_options_are_the_values_of_the_snapshot(data):
    assert listing.options(data, "2026-03") == {
        "tiers": ["gold", "standard"],
        "stars": [1, 2, 4, 5],
        "values": ["A", "B", "C"],
        "activities": ["active", "normal", "silent"],
        "managers": ["E1", "E2"],
    }
