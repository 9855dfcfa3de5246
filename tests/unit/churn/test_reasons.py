"""Reasons: the largest positive contributions that have a sentence, read as sentences a person reads (issue 18
§2: 「近3个月月均账单 120 元,本月 66 元,下降 45%」; no "missing" feature becomes a reason)."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from weixi.churn import explain, reasons
from weixi.churn.features import FEATURE_NAMES

NAN = np.nan


def said(feature: str, value, now=NAN) -> tuple[str | None, str | None]:
    en, zh = reasons.render(duckdb.connect(), [feature], np.array([0]), np.array([value], float), np.array([now]))
    return en[0].as_py(), zh[0].as_py()


def test_a_change_reads_with_the_average_this_month_and_the_change():
    # the issue's own example: an average of 120 yuan, 66 this month, down 45%
    assert said("bill_change", 66 / 120 - 1, 66) == (
        "Bill this month 66.00 yuan, against 120.00 yuan a month over the last 3 months: down 45%",
        "近3个月月均账单 120.00 元,本月 66.00 元,下降 45%",
    )
    assert said("data_change", 0.5, 3000)[1] == "近3个月月均流量 2000 MB,本月 3000 MB,上升 50%"
    assert said("voice_change", -1.0, 0) == (
        "No voice calls this month, after some in the last 3 months",
        "本月没有通话,近3个月有",
    )
    assert said("sms_change", -0.3) == ("SMS down 30% against its 3-month average", "短信较近3个月月均下降 30%")


def test_money_is_yuan_with_two_decimals():
    assert said("recharge_yuan", 66.456) == ("Topped up 66.46 yuan this month", "本月充值 66.46 元")
    assert said("bill_yuan", 100) == ("Bill of 100.00 yuan this month", "本月账单 100.00 元")
    assert said("monthly_rent_yuan", 58)[1] == "套餐月租 58.00 元"


def test_counts_days_and_facts_read_naturally():
    assert said("portout_30d", 2) == (
        "Asked about porting out the number 2 time(s) in the last 30 days",
        "近30天查询携号转网 2 次",
    )
    assert said("unresolved_complaints_30d", 1)[1] == "近30天有 1 次投诉未解决"
    assert said("contract_days_left", 21) == ("Contract ends in 21 days", "合约 21 天后到期")
    assert said("contract_days_left", -30) == ("Contract ended 30 days ago", "合约已于 30 天前到期")
    assert said("contract_days_left", NAN) == ("No contract", "没有合约")
    assert said("age", 16) == (
        "Aged 16: members of this age leave more often than most",
        "年龄 16 岁,这个年龄段的用户离网较多",
    )
    assert said("network_5g", 0)[1] == "仍在使用 4G 网络"
    assert said("my_column", 3.5) == ("my_column: 3.5", "my_column:3.5")  # an analyst's own column


@pytest.mark.parametrize(
    ("feature", "value", "now"),
    [
        ("bill_change", NAN, 100),  # no earlier month: a missing change is no reason ("缺失:bill_change")
        ("recharge_change", 0.004, 50),  # rounds to 0%: "充值较近3个月平均上升0%" is no reason
        ("recharge_change", -0.0049, 50),
        ("days_since_recharge", NAN, NAN),  # postpaid: nothing to say
        ("portout_30d", 0, NAN),  # no inquiry is not a reason
        ("migrant", 0, NAN),  # a flag that is off says nothing
        ("age", NAN, NAN),
    ],
)
def test_a_value_without_a_sentence_is_no_reason(feature, value, now):
    assert not reasons.speakable(feature, np.array([value], float), np.array([now]))[0]
    assert said(feature, value, now) == (None, None)


def test_every_feature_of_the_model_has_sentences_in_both_languages():
    con = duckdb.connect()
    for f in FEATURE_NAMES:
        values = np.array([-40, -1, -0.5, 0, 0.3, 1, 2, 16, NAN])
        en, zh = reasons.render(con, [f] * 1, np.zeros(len(values), int), values, np.full(len(values), 20.0))
        for e, z in zip(en.to_pylist(), zh.to_pylist()):
            assert (e is None) == (z is None), f
            if e is not None:
                assert "_" not in e and "_" not in z and "None" not in e and "nan" not in e.lower(), (f, e, z)


def test_a_reason_is_a_value_its_sentence_kind():
    feats = ["bill_change", "portout_30d"]
    kinds = reasons.kind_names(
        feats, np.array([0, 0, 1, 1, -1]), np.array([-0.45, 0.001, 2, 0, 3]), np.array([66, 50, NAN, NAN, NAN])
    )
    assert kinds.to_pylist() == ["change_down", None, "portout_30d", None, None]


def test_one_reason_per_group_port_out_is_said_once():
    feats = ["portout_30d", "tenure_months", "portout_90d", "bill_change", "bill_yuan"]
    contrib = np.array([[0.4, 0.1, 0.6, 0.3, 0.5], [0.7, 0.2, 0.1, 0.9, 0.0]], dtype=np.float32)
    reasons.one_per_group(contrib, feats)
    idx, _ = explain.top_reasons(contrib)
    assert idx[0].tolist() == [2, 4, 1]  # port-out in 90 days weighs more: the 30-day inquiry is not repeated
    assert idx[1].tolist() == [3, 0, 1]


def test_top_reasons_are_the_largest_positive_contributions():
    contrib = np.array([[0.5, -1.0, 0.2, 0.01, 0.9], [-0.1, -0.2, 0.0, 0.03, 0.01]], dtype=np.float32)
    idx, vals = explain.top_reasons(contrib)
    assert idx[0].tolist() == [4, 0, 2]
    assert idx[1].tolist() == [3, -1, -1]  # only one contribution above the threshold


def test_lookup_takes_the_grid_point_at_or_below():
    eff = explain.Effect("x", "numeric", [0.0, 10.0, 20.0], [-1.0, 0.0, 2.0], missing=0.5, base=0.0)
    got = explain.lookup(eff, np.array([-5, 0, 9.9, 10, 25, np.nan]))
    assert got.tolist() == [-1.0, -1.0, -1.0, 0.0, 2.0, 0.5]


def test_words_rendered_once_per_distinct_row_equal_the_words_row_by_row():
    feats = [*FEATURE_NAMES, "my_column"]
    rng = np.random.default_rng(7)
    n = 6000
    codes = rng.integers(-1, len(feats), n)
    values = np.round(rng.normal(0, 30, n) * 100) / 100
    values[::13] = np.nan
    values[::7] = values[::7] / 100
    nows = np.where(rng.random(n) < 0.2, np.nan, np.round(rng.uniform(0, 200, n), 2))
    con = duckdb.connect()
    en, zh = reasons.render(con, feats, codes, values, nows)
    for i in range(0, n, 37):  # row by row, each on its own
        if codes[i] < 0:
            assert en[i].as_py() is None
            continue
        one = reasons.render(con, [feats[codes[i]]], np.array([0]), values[i : i + 1], nows[i : i + 1])
        assert (en[i].as_py(), zh[i].as_py()) == (one[0][0].as_py(), one[1][0].as_py())
    assert isinstance(en, pa.Array) and len(en) == n


def test_a_leaver_reads_the_churn_reasons_name_in_the_readers_language():
    rows = duckdb.execute(
        f"SELECT {reasons.left_sql('d', 'r', 'zh_CN')}, {reasons.left_sql('d', 'r', 'en')} "
        "FROM (VALUES (DATE '2026-03-05', 'moved_away'), (DATE '2026-03-06', NULL)) t(d, r)"
    ).fetchall()
    assert rows == [
        ("已于 2026-03-05 离网,原因:迁居外地", "Left on 2026-03-05: Moved away"),
        ("已于 2026-03-06 离网,原因未知", "Left on 2026-03-06, reason unknown"),
    ]
