"""Bills intake: every bad-input case of the issue is quarantined with its reason and counted."""

from __future__ import annotations

import json

import duckdb
import pytest

from tests.unit.members.conftest import TODAY, read_quarantine, write_csv
from weixi.adapters.archive import read_journal, scan
from weixi.errors import Problem
from weixi.members.intake import IntakeError, load_file
from weixi.messages import render

HEADER = ["bill_id", "member_id", "month", "billed_on", "amount"]


def load(data, tmp_path, rows, name="bills.csv", header=HEADER, **kw):
    return load_file(write_csv(tmp_path / name, header, rows), "bills", data=data, today=TODAY, **kw)


def issues_by_row(data, summary):
    return {int(r["row"]): r for r in read_quarantine(data, summary)}


def test_good_rows_load_and_bad_rows_are_quarantined_with_reasons(data, tmp_path):
    rows = [
        ["B10", "M0000000001", "2026-03", "2026-03-31", "12.50"],       # line 2: good
        ["B11", "M0000000002", "2026-03", "2026-03-31", "abc"],         # 3: wrong type
        ["B12", "M0000000003", "2026-03", "2026-03-31", "-3.00"],       # 4: negative
        ["B13", "M0000000099", "2026-03", "2026-03-31", "5"],           # 5: unknown member
        ["B14", "M0000000003", "2026-04", "2026-04-30", "5"],           # 6: billed_on in the future
        ["B15", "M0000000003", "2026-03", "2026-04-02", "5"],           # 7: billed_on outside the month
        ["B16", "M0000000004", "2026-03", "2026-03-31", "1.00"],        # 8: duplicate id, different values
        ["B16", "M0000000004", "2026-03", "2026-03-31", "2.00"],        # 9
        ["B17", "M0000000005", "2026-03", "2026-03-31", "7"],           # 10: good
        ["B17", "M0000000005", "2026-03", "2026-03-31", "7.00"],        # 11: exact duplicate of line 10
        ["B18", "M0000000005", "2026-03", "2026/3/31", "1.005"],        # 12: too many decimals
        ["B19", "M0000000005", "2026-13", "2026-03-31", "1"],           # 13: bad month
        ["B20", "M0000000005", "2026-03", "2026-02-30", "1"],           # 14: not a date
        ["", "M0000000005", "2026-03", "2026-03-31", "1"],              # 15: missing id
    ]  # fmt: skip
    s = load(data, tmp_path, rows)
    assert s["status"] == "loaded"
    assert (s["rows"], s["loaded"], s["replaced"], s["unchanged"], s["quarantined"]) == (14, 2, 0, 0, 12)
    assert s["issues"] == {"duplicate_key": 3, "future_date": 1, "invalid_amount": 2, "invalid_date": 1,
                           "invalid_month": 1, "missing": 1, "negative_amount": 1, "outside_month": 1,
                           "unknown_member": 1}  # fmt: skip
    q = issues_by_row(data, s)
    assert set(q) == {3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15}  # CSV line numbers, header = line 1
    assert (q[3]["field"], q[3]["value"], q[3]["reason"]) == ("amount", "abc", "not a decimal amount in yuan")
    assert (q[4]["field"], q[4]["value"], q[4]["reason"]) == ("amount", "-3.00", "negative amount")
    assert q[5]["field"] == "member_id" and "unknown member" in q[5]["reason"]
    assert q[6]["field"] == "billed_on" and q[6]["reason"] == "billed_on 2026-04-30 is in the future"
    assert q[7]["reason"] == "billed_on 2026-04-02 is outside the month 2026-03"
    assert q[8]["reason"] == q[9]["reason"] == "bill_id appears 2 times in the file with different values (rows 8, 9)"
    assert q[11]["reason"] == "exact duplicate of row 10"
    assert q[12]["reason"] == "more than 2 decimal places"
    assert q[13]["field"] == "month" and q[13]["reason"] == "not a month (YYYY-MM)"
    assert q[14]["field"] == "billed_on" and q[14]["reason"] == "not a date (YYYY-MM-DD)"
    assert q[15]["field"] == "bill_id" and q[15]["reason"] == "missing"
    # each reason also as its catalogue code and params (a JSON list, one object per code), for other languages
    assert (q[7]["code"], json.loads(q[7]["params"])) == (
        "intake_outside_month",
        [{"field": "billed_on", "value": "2026-04-02", "month": "2026-03"}],
    )
    assert (q[8]["code"], json.loads(q[8]["params"])) == (
        "intake_duplicate_differs",
        [{"key": "bill_id", "count": 2, "rows": [8, 9]}],
    )
    assert (q[15]["code"], q[3]["code"]) == ("intake_value_missing", "intake_not_yuan")
    assert (
        render(Problem(q[7]["code"], json.loads(q[7]["params"])[0]), "zh_CN")
        == "billed_on 的值 2026-04-02 不在 2026-03 月内"
    )
    # the original row follows the six quarantine columns
    assert list(q[4])[:11] == ["row", "field", "value", "reason", "code", "params", *HEADER]
    assert q[4]["bill_id"] == "B12" and q[4]["amount"] == "-3.00"
    con = duckdb.connect()
    got = dict(scan(con, data, "bills", "2026-03").project("bill_id, amount_fen").fetchall())
    assert got["B10"] == 1250 and got["B17"] == 700 and "B12" not in got and "B16" not in got
    assert got["B1"] == 5900  # generator rows are still there


def test_month_in_the_future_and_paid_on(data, tmp_path):
    s = load(data, tmp_path, [["B30", "M0000000001", "2026-05", "", "1"]])
    assert s["quarantined"] == 1 and s["issues"] == {"future_date": 1}
    q = read_quarantine(data, s)[0]
    assert q["field"] == "month" and q["reason"] == "month 2026-05 is in the future"


def test_billed_on_or_month_may_be_derived(data, tmp_path):
    s = load(
        data, tmp_path, [["B40", "M0000000001", "2026-02", "12.00"]], header=["账单编号", "用户编号", "账期", "金额"]
    )
    assert s["loaded"] == 1
    s = load(data, tmp_path, [["B41", "M0000000001", "2026-02-28", "12.00"]], name="b2.csv",
             header=["账单编号", "用户编号", "出账日期", "应收金额"])  # fmt: skip
    assert s["loaded"] == 1
    rows = {r[0]: r for r in scan(duckdb.connect(), data, "bills", "2026-02").fetchall()}
    assert rows["B40"][2:6] == ("2026-02", __import__("datetime").date(2026, 2, 28), "mobile", 1200)
    assert rows["B41"][2] == "2026-02"


def test_reload_same_file_changes_nothing(data, tmp_path):
    rows = [
        ["B10", "M0000000001", "2026-03", "2026-03-31", "12.50"],
        ["B11", "M0000000001", "2026-03", "2026-03-31", "x"],
    ]
    first = load(data, tmp_path, rows)
    again = load(data, tmp_path, rows)
    assert again["status"] == "already_loaded" and again["loaded"] == again["replaced"] == 0
    assert again["seq"] == first["seq"] and "nothing changed" in again["message"]
    assert len(read_journal(data)["loads"]) == 1
    forced = load(data, tmp_path, rows, force=True)
    assert (forced["loaded"], forced["replaced"], forced["unchanged"], forced["quarantined"]) == (0, 0, 1, 1)
    assert forced["file"] is None  # nothing written
    # the same rows under another file name: unchanged as well
    other = load(data, tmp_path, rows[:1], name="copy.csv")
    assert other["unchanged"] == 1 and other["file"] is None


def test_corrected_row_replaces_the_old_one_by_key(data, tmp_path):
    load(data, tmp_path, [["B10", "M0000000001", "2026-03", "2026-03-31", "12.50"]])
    s = load(data, tmp_path, [["B10", "M0000000001", "2026-03", "2026-03-31", "13.50"],
                              ["B1", "M0000000001", "2026-03", "2026-03-31", "60.00"]], name="fix.csv")  # fmt: skip
    assert (s["loaded"], s["replaced"], s["unchanged"]) == (0, 2, 0)
    con = duckdb.connect()
    got = scan(con, data, "bills", "2026-03").project("bill_id, amount_fen, paid").fetchall()
    by_id = {b: (a, p) for b, a, p in got}
    assert by_id["B10"] == (1350, None)
    assert by_id["B1"] == (6000, True)  # columns the file does not have keep their values
    assert sorted(b for b, _, _ in got) == ["B1", "B10", "B2"]  # one row per key


def test_missing_required_column_and_bad_map_refuse_the_file(data, tmp_path):
    with pytest.raises(IntakeError, match="no column for amount_fen"):
        load(data, tmp_path, [["B1", "M0000000001", "2026-03"]], header=["bill_id", "member_id", "month"])
    with pytest.raises(IntakeError, match="has no field"):
        load(data, tmp_path, [["B1", "M0000000001", "2026-03", "1"]], header=["bill_id", "member_id", "month", "x"],
             mapping={"x": "nonsense"})  # fmt: skip
    with pytest.raises(IntakeError, match="no such file"):
        load_file(tmp_path / "nope.csv", "bills", data=data)


def test_map_overrides_aliases_and_fen_columns(data, tmp_path):
    header = ["单号", "客户", "期", "金额（分）"]
    s = load(data, tmp_path, [["B50", "M0000000002", "202603", "1234"]], header=header,
             mapping={"单号": "bill_id", "客户": "member_id", "期": "month"})  # fmt: skip
    assert s["loaded"] == 1 and s["columns"]["金额（分）"] == "amount_fen"
    s = load(data, tmp_path, [["B51", "M0000000002", "2026-03", "99", "zz"]], name="b2.csv",
             header=["bill_id", "member_id", "month", "金额", "备注"], mapping={"金额": "amount_fen"})  # fmt: skip
    assert s["loaded"] == 1 and s["ignored_columns"] == ["备注"]
    got = dict(scan(duckdb.connect(), data, "bills", "2026-03").project("bill_id, amount_fen").fetchall())
    assert got["B50"] == 1234 and got["B51"] == 99


def test_malformed_csv_line_is_quarantined(data, tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("bill_id,member_id,month,amount\nB60,M0000000001,2026-03,1\nB61,oops\nB62,M0000000001,2026-03,2\n",
                 encoding="utf-8")  # fmt: skip
    s = load_file(p, "bills", data=data, today=TODAY)
    assert (s["loaded"], s["quarantined"], s["issues"]) == (2, 1, {"malformed_row": 1})
    q = read_quarantine(data, s)[0]
    assert q["row"] == "3" and q["reason"] == "expected 4 cells, found 2"
    assert (q["code"], json.loads(q["params"])) == ("intake_wrong_cell_count", [{"expected": 4, "found": 2}])
    assert s["examples"][0]["reason_code"] == "intake_wrong_cell_count"


def test_quoted_multiline_cell_keeps_line_numbers(data, tmp_path):
    p = tmp_path / "ml.csv"
    p.write_text('bill_id,member_id,month,amount,note\nB70,M0000000001,2026-03,1,"two\nlines"\n'
                 'B71,M0000000001,2026-03,-1,x\n', encoding="utf-8")  # fmt: skip
    s = load_file(p, "bills", data=data, today=TODAY)
    assert s["quarantined"] == 1 and read_quarantine(data, s)[0]["row"] == "4"


def test_quarantine_file_can_be_fixed_and_loaded_back(data, tmp_path):
    s = load(data, tmp_path, [["B80", "M0000000099", "2026-03", "2026-03-31", "5.00"],
                              ["B81", "M0000000001", "2026-03", "2026-03-31", "5.00"]])  # fmt: skip
    assert s["quarantined"] == 1
    load_file(write_csv(tmp_path / "m.csv", ["member_id", "name", "phone"], [["M0000000099", "新会员", "13900009999"]]),
              "members", data=data, today=TODAY)  # fmt: skip
    again = load_file(data / s["quarantine_file"], "bills", data=data, today=TODAY)
    assert (again["loaded"], again["quarantined"], again["ignored_columns"]) == (1, 0, [])
    assert again["encoding"] == "utf-8-sig"
