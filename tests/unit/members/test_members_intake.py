"""Members and contracts intake: field validation (phone, ID checksum, dates, decimals, codes), encodings,
Chinese headers, merge of partial rows, quarantine file content."""

from __future__ import annotations

import random
from datetime import date

import duckdb
import pytest

from tests.unit.members.conftest import TODAY, id_number, read_quarantine, write_csv
from weixi.adapters.archive import members_lookup, scan
from weixi.generator.identity import is_valid_id_number, is_valid_mobile
from weixi.members.intake import load_file

CN = [
    "用户编号",
    "姓名",
    "手机号码",
    "身份证号",
    "出生日期",
    "入网时间",
    "套餐名称",
    "月租(元)",
    "主副卡",
    "网络类型",
    "客户经理",
]
GOOD_ID = id_number("11010119900307123")


def member_row(mid="N0001", name="张三", phone="13812345678", idn=GOOD_ID, birthday="1990-03-07", join="2020/5/1",
               plan="5G智享套餐129元", rent="129.00", role="主卡", net="5G", mgr="E0001"):  # fmt: skip
    return [mid, name, phone, idn, birthday, join, plan, rent, role, net, mgr]


def load(data, tmp_path, rows, header=CN, encoding="utf-8", name="members.csv", table="members", **kw):
    return load_file(write_csv(tmp_path / name, header, rows, encoding), table, data=data, today=TODAY, **kw)


def reasons(data, s):
    return {(int(r["row"]), r["field"]): r["reason"] for r in read_quarantine(data, s)}


def test_gbk_file_with_chinese_headers(data, tmp_path):
    s = load(data, tmp_path, [member_row()], encoding="gbk")
    assert s["encoding"] == "gb18030" and s["loaded"] == 1 and s["quarantined"] == 0
    m = members_lookup(data, "N0001")
    assert (m["name"], m["phone"], m["id_number"], m["monthly_rent_fen"], m["card_role"], m["network"]) == (
        "张三", "13812345678", GOOD_ID, 12900, "primary", "5G")  # fmt: skip
    assert m["join_date"] == date(2020, 5, 1) and m["manager_id"] == "E0001"
    assert m["gender"] == "M"  # from the ID number when the file has no gender


def test_utf8_bom_file(data, tmp_path):
    s = load(data, tmp_path, [member_row(role="副卡", net="4g")], encoding="utf-8-sig")
    assert s["encoding"] == "utf-8-sig" and s["columns"]["用户编号"] == "member_id" and s["loaded"] == 1
    assert members_lookup(data, "N0001")["card_role"] == "secondary"


def test_phone_validation(data, tmp_path):
    phones = ["138 1234 5678", "+86 13812345679", "1381234567", "12812345678", "138123456789", "1.38123E+10"]
    rows = [member_row(mid=f"N{i}", phone=p) for i, p in enumerate(phones)]
    s = load(data, tmp_path, rows)
    assert s["loaded"] == 2 and s["quarantined"] == 4
    r = reasons(data, s)
    assert all(r[(line, "phone")] == "not an 11-digit mainland mobile number" for line in (4, 5, 6, 7))
    assert members_lookup(data, "N0")["phone"] == "13812345678"
    assert members_lookup(data, "N1")["phone"] == "13812345679"
    # the same rule as the generator's validator
    for p in ("13812345678", "14512345678", "19912345678", "17912345678", "10012345678"):
        got = load_file(write_csv(tmp_path / "one.csv", CN, [member_row(mid="P1", phone=p)]), "members", data=data,
                        today=TODAY, force=True)["quarantined"] == 0  # fmt: skip
        assert got == is_valid_mobile(p), p


def test_id_number_checksum_and_structure(data, tmp_path):
    bad_check = GOOD_ID[:17] + ("0" if GOOD_ID[17] != "0" else "1")
    ids = [GOOD_ID.lower() if GOOD_ID.endswith("X") else GOOD_ID, bad_check, "110101900307123", id_number("99010119900307123"),
           id_number("11010119901307123"), "11010119900307123Y", id_number("11010120990307123")]  # fmt: skip
    s = load(data, tmp_path, [member_row(mid=f"N{i}", idn=v) for i, v in enumerate(ids)])
    r = reasons(data, s)
    assert s["loaded"] == 1 and s["quarantined"] == 6
    assert r[(3, "id_number")] == f"check character is {bad_check[17]}, expected {GOOD_ID[17]}"
    assert "15-digit" in r[(4, "id_number")]
    assert r[(5, "id_number")] == "unknown province code 99"
    assert r[(6, "id_number")] == "birth date 19901307 in the ID number is not a real date"
    assert "18-character" in r[(7, "id_number")]
    assert "not a real date" in r[(8, "id_number")]  # born in the future
    # agrees with the generator's scalar validator on random numbers
    rng = random.Random(5)
    sample = []
    for _ in range(300):
        s17 = f"{rng.choice(['11', '44', '99'])}0101{rng.randint(1900, 2030)}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}{rng.randint(0, 999):03d}"
        sample.append(s17 + rng.choice("0123456789X"))
    s = load(data, tmp_path, [member_row(mid=f"R{i}", idn=v) for i, v in enumerate(sample)], name="r.csv")
    bad_lines = {int(x["row"]) for x in read_quarantine(data, s)} if s["quarantined"] else set()
    for i, v in enumerate(sample):
        assert (i + 2 not in bad_lines) == is_valid_id_number(v, today=TODAY), v


def test_dates_decimals_and_codes(data, tmp_path):
    rows = [
        member_row(mid="D1", birthday="1990年3月7日", join="20200501", rent="¥1,288.5"),
        member_row(mid="D2", birthday="1990-02-30"),
        member_row(mid="D3", join="2026-05-01"),
        member_row(mid="D4", rent="12.345"),
        member_row(mid="D5", rent="十元"),
        member_row(mid="D6", role="主", net="6G"),
        member_row(mid="D7", birthday="1890-01-01"),
    ]
    s = load(data, tmp_path, rows)
    r = reasons(data, s)
    assert s["loaded"] == 1
    m = members_lookup(data, "D1")
    assert (m["birthday"], m["join_date"], m["monthly_rent_fen"]) == (date(1990, 3, 7), date(2020, 5, 1), 128850)
    assert r[(3, "birthday")] == "not a date (YYYY-MM-DD)"
    assert r[(4, "join_date")] == "join_date 2026-05-01 is in the future"
    assert r[(5, "monthly_rent")] == "more than 2 decimal places"
    assert r[(6, "monthly_rent")] == "not a decimal amount in yuan"
    assert r[(7, "card_role; network")] == ("unknown value; expected one of primary, secondary; "
                                            "unknown value; expected one of 4G, 5G")  # fmt: skip
    assert r[(8, "birthday")] == "before 1900"


def test_partial_members_file_updates_only_its_columns(data, tmp_path):
    s = load(data, tmp_path, [["M0000000002", "13900001111", "五星", "农历腊月廿三"]],
             header=["客户编号", "联系电话", "星级", "农历生日"])  # fmt: skip
    assert (s["replaced"], s["loaded"]) == (1, 0)
    m = members_lookup(data, "M0000000002")
    assert (m["phone"], m["star_level"], m["lunar_birthday"], m["name"]) == ("13900001111", 5, "农历腊月廿三", "会员2")
    # a new member needs a name and a phone
    s = load(data, tmp_path, [["N9", "13900002222"]], header=["用户编号", "手机号码"], name="n.csv")
    assert s["quarantined"] == 1 and reasons(data, s) == {(2, "name"): "a new member needs a name"}


def test_contracts_update_the_members_contract_columns(data, tmp_path):
    header = ["用户编号", "合约开始日期", "合约到期日期", "补贴到期日期"]
    rows = [["M0000000001", "2026-01-01", "2027-12-31", ""], ["M0000000002", "2026-01-01", "2025-01-01", ""],
            ["M0000000077", "2026-01-01", "2027-01-01", ""]]  # fmt: skip
    s = load(data, tmp_path, rows, header=header, table="contracts", name="c.csv")
    assert s["store"] == "members" and (s["replaced"], s["quarantined"]) == (1, 2)
    assert s["issues"] == {"invalid_date": 1, "unknown_member": 1}
    con = duckdb.connect()
    got = {r[0]: r[1:] for r in scan(con, data, "contracts").fetchall()}
    assert got["M0000000001"] == (date(2026, 1, 1), date(2027, 12, 31), None)
    assert "M0000000002" not in got
    assert members_lookup(data, "M0000000001")["name"] == "会员1"


@pytest.mark.parametrize("table,header,row,expect", [
    ("usage", ["用户编号", "账期", "通话时长", "流量", "短信条数"], ["M0000000001", "2026-03", "150", "5120", "6"],
     {"voice_minutes": 150, "data_mb": 5120, "sms_count": 6}),
    ("recharges", ["充值流水号", "用户编号", "充值时间", "充值金额", "充值渠道"],
     ["R1", "M0000000001", "2026-03-05 10:30:00", "50", "微信"], {"amount_fen": 5000, "channel": "wechat_pay", "month": "2026-03"}),
    ("complaints", ["投诉编号", "用户编号", "投诉时间", "投诉类别", "投诉渠道", "解决时间", "满意度"],
     ["C1", "M0000000001", "2026-03-05 10:00", "垃圾短信", "10086", "2026-03-06 09:00", "4"],
     {"category": "spam_sms", "channel": "hotline", "resolved": True, "satisfaction": 4}),
    ("surveys", ["调查编号", "用户编号", "调查时间", "评分"], ["S1", "M0000000001", "2026-03-05T10:00:00+08:00", "9"],
     {"score": 9, "month": "2026-03"}),
])  # fmt: skip
def test_other_activity_tables(data, tmp_path, table, header, row, expect):
    s = load(data, tmp_path, [row], header=header, table=table, name=f"{table}.csv")
    assert s["loaded"] == 1, s["examples"]
    got = scan(duckdb.connect(), data, table, "2026-03").to_arrow_table().to_pylist()  # (timestamps: no pytz)
    rec = got[0]
    for k, v in expect.items():
        assert rec[k] == v, k


def test_activity_rules(data, tmp_path):
    s = load(data, tmp_path, [["C2", "M0000000001", "2026-03-05 10:00", "其他", "2026-03-04 09:00", "9"]],
             header=["投诉编号", "用户编号", "投诉时间", "投诉类别", "解决时间", "满意度"], table="complaints", name="c.csv")  # fmt: skip
    assert reasons(data, s) == {
        (2, "satisfaction; resolved_at"): "must be between 1 and 5; resolved_at is before opened_at"
    }
    s = load(data, tmp_path, [["R2", "M0000000001", "2026-03-05 10:30", "0"]],
             header=["充值流水号", "用户编号", "充值时间", "充值金额"], table="recharges", name="r.csv")  # fmt: skip
    assert s["issues"] == {"negative_amount": 1}
