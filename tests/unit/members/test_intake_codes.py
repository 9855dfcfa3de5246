"""The intake's reasons are codes with params (a page says them in its reader's language), its refusals are coded
errors, and its clock is the plan's timezone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from tests.unit.members.conftest import TODAY, id_number, read_quarantine, write_csv
from weixi.adapters.archive import scan
from weixi.errors import Invalid, Problem
from weixi.members import intake, intake_checks, sources
from weixi.members.intake import IntakeError, load_file
from weixi.messages import catalogue, render

HEADER = ["用户编号", "姓名", "手机号码", "身份证号"]


def test_every_reason_code_of_the_intake_is_in_both_catalogues():
    text = "".join(Path(m.__file__).read_text(encoding="utf-8") for m in (intake, intake_checks, sources))
    codes = set(re.findall(r"['\"](intake_[a-z0-9_]+)\b", text))
    assert {"intake_not_mobile", "intake_id_check", "intake_duplicate_differs", "intake_wrong_cell_count"} <= codes
    for locale in ("en", "zh_CN"):
        missing = sorted(c for c in codes if c not in catalogue(locale))
        assert not missing, (locale, missing)


def test_a_bad_member_file_quarantines_rows_with_codes_and_params(data, tmp_path):
    good_id = id_number("11010119900307123")
    bad_check = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    rows = [["N1", "张三", "1381234", good_id], ["N2", "李四", "13812345678", bad_check],
            ["N3", "王五", "13812345679", "99010119900307123X"]]  # fmt: skip
    s = load_file(write_csv(tmp_path / "m.csv", HEADER, rows), "members", data=data, today=TODAY)
    assert s["quarantined"] == 3
    q = {int(r["row"]): r for r in read_quarantine(data, s)}
    assert (q[2]["code"], json.loads(q[2]["params"])) == ("intake_not_mobile", [{}])
    assert q[2]["reason"] == "not an 11-digit mainland mobile number"
    assert q[3]["code"] == "intake_id_check"
    params = json.loads(q[3]["params"])[0]
    assert params == {"found": bad_check[17], "expected": good_id[17]}
    assert q[3]["reason"] == f"check character is {bad_check[17]}, expected {good_id[17]}"
    assert render(Problem("intake_id_check", params), "zh_CN") == f"校验码是 {bad_check[17]}，应为 {good_id[17]}"
    assert (q[4]["code"], json.loads(q[4]["params"])) == ("intake_id_province", [{"province": "99"}])
    assert render(Problem("intake_id_province", {"province": "99"}), "zh_CN") == "未知的省份代码 99"
    shown = {e["row"]: e for e in s["examples"]}
    assert (shown[2]["code"], shown[2]["reason_code"], shown[2]["params"]) == ("invalid_phone", "intake_not_mobile", {})


def test_a_file_that_cannot_be_loaded_is_a_coded_refusal(data, tmp_path):
    with pytest.raises(IntakeError) as bad:
        load_file(write_csv(tmp_path / "b.csv", ["金额"], [["1"]]), "bills", data=data, today=TODAY)
    assert isinstance(bad.value, Invalid) and bad.value.code == "intake_no_column" and bad.value.status == 422
    assert bad.value.params == {"field": "bill_id", "headers": ["金额"]}
    assert "没有字段 bill_id 对应的列" in render(bad.value, "zh_CN")
    with pytest.raises(IntakeError) as missing:
        load_file(tmp_path / "nope.csv", "bills", data=data, today=TODAY)
    assert missing.value.code == "intake_no_such_file" and str(missing.value).endswith("nope.csv: no such file")
    with pytest.raises(IntakeError, match="use SOURCE=FIELD") as mapping:
        load_file(tmp_path / "nope.csv", "bills", data=data, mapping=["金额"], today=TODAY)
    assert mapping.value.code == "intake_bad_map"


@pytest.mark.parametrize(("zone", "month"), [(None, "2026-04"), ("UTC", "2026-03")])
def test_the_month_of_a_recharge_is_in_the_plans_timezone(data, tmp_path, zone, month):
    """23:30 UTC on 31 March is 07:30 on 1 April in Shanghai (the default): the recharge counts in April there."""
    f = write_csv(tmp_path / "r.csv", ["充值流水号", "用户编号", "充值时间", "充值金额"],
                  [["R9", "M0000000001", "2026-03-31T23:30:00Z", "50"]])  # fmt: skip
    s = load_file(f, "recharges", data=data, today=TODAY, timezone=zone)
    assert s["loaded"] == 1 and s["quarantined"] == 0
    got = scan(duckdb.connect(), data, "recharges").project("recharge_id, month").fetchall()
    assert ("R9", month) in got
