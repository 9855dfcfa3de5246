"""The plan checker's diagnostics in the reader's language: each diagnostic comes from the checker itself (a small
bad plan checked here) with a code of the error catalogue and its params, and is rendered by code, so a diagnostic
whose code the catalogue does not know, or whose params do not fill its sentence, fails."""

from __future__ import annotations

import html
import re

import pytest

from weixi.messages import render
from weixi.plans.diagnostics import Diagnostic
from weixi.plans.loader import load_plan_text
from weixi.plans.retention import load_retention_plan, load_retention_text


def zh(d: Diagnostic) -> str:
    return render(d, "zh_CN")


GOOD = """plan: demo
name: Demo
expiry: {months_after: 12}
tiers:
  - {id: standard, name: S, rank: 0, multiplier: 1}
  - {id: gold, name: G, rank: 1, multiplier: 2}
earning:
  - id: bill
    type: spend
    on: [bill]
    points: 1
    per_yuan: 10
  - id: tier-bonus
    type: tier_multiplier
rewards:
  - id: gift-book
    type: gift
    name: Book
    cost: 2000
    stock: 500
"""
REVIEW = [
    ("multiplier: 2}", "multiplier: 2, qualify: 100}"),
    ("points_earned}", "points_earned, review_months: [13, 12, 12]}"),
]
POLICY = ("expiry: {months_after: 12}\n", "expiry: {months_after: 12}\ntier_policy: {measure: points_earned}\n")
BONUS = "  - id: tier-bonus\n    type: tier_multiplier\n"

# (edits of GOOD, the Chinese text of one of the diagnostics), the most common mistakes first
CASES = [
    # misspelt and misplaced keys, missing keys
    ([("points: 1", "pointz: 1")], "积分规则 'bill' 中没有键 'pointz'；是不是 'points'？"),
    ([("points: 1", "points: 1\n    colour: red")], "积分规则 'bill' 中没有键 'colour'。"),
    (
        [("expiry: {months_after: 12}", "expiry: {monts_after: 12}")],
        "积分到期中没有键 'monts_after'；是不是 'months_after'？",
    ),
    (
        [("per_yuan: 10", "per_yuan: 10\n    per_full_yuan: 100")],
        "键 'per_full_yuan' 不适用于类型为 spend 的积分规则（它用于：recharge）。",
    ),
    ([("name: Demo\n", "")], "方案缺少必填的键 'name'。"),
    ([("    name: Book\n", "")], "奖品 'gift-book'（gift）缺少必填的键 'name'。"),
    ([("points: 1", "points: 1\n    3: x")], "积分规则 'bill' 中的键必须是文本，不能是数字 3。"),
    # wrong types
    ([("points: 1", "points: many")], "points：应为数字，实际是文本 'many'。"),
    ([("cost: 2000", "cost: '12.5'")], "cost：应为整数，实际是文本 '12.5'。"),
    ([("name: Book", "name: 12")], "name：应为文本，实际是数字 12。"),
    ([("stock: 500", "stock: 500\n    refundable: maybe")], "refundable：应为true 或 false，实际是文本 'maybe'。"),
    ([("on: [bill]", "on: bill")], "on：应为列表，实际是文本 'bill'（请写成 [bill]）。"),
    ([("on: [bill]", "on: 5")], "on：应为列表，实际是数字 5。"),
    ([("cost: 2000", "cost: 2000\n    limit: 3")], "limit：应为映射（限制），实际是数字 3。"),
    # values out of range and bad choices
    ([("cost: 2000", "cost: 0")], "cost：必须是正整数，实际是 0。"),
    ([("stock: 500", "stock: -1")], "stock：不能小于零，实际是 -1。"),
    ([("points: 1", "points: 0")], "points：必须大于零，实际是 0。"),
    ([("plan: demo", "plan: Demo X")], "plan：'Demo X' 不是有效的标识：只能用小写字母、数字、'-' 和 '_'。"),
    (
        [("type: spend", "type: spnd")],
        "积分规则没有 type 'spnd'，应为以下之一：spend、recharge、purchase_count、checkin、action、signup、birthday、referral、first_purchase、tier_multiplier、campaign；是不是 'spend'？",
    ),
    (
        [("type: spend", "type: 5")],
        "type：应为以下之一：spend、recharge、purchase_count、checkin、action、signup、birthday、referral、first_purchase、tier_multiplier、campaign，实际是数字 5。",
    ),
    (
        [("per_yuan: 10", "per_yuan: 10\n    rounding: flor")],
        "rounding：没有取整方式 'flor'，应为以下之一：floor、ceil、half_up；是不是 'floor'？",
    ),
    (
        [("per_yuan: 10", "per_yuan: 10\n    rounding: 3")],
        "rounding：应为取整方式（floor、ceil、half_up），实际是数字 3。",
    ),
    (
        [("expiry: {months_after: 12}", "timezone: Asia/Shangai\nexpiry: {months_after: 12}")],
        "timezone：没有时区 'Asia/Shangai'；是不是 'Asia/Shanghai'？",
    ),
    ([("on: [bill]", "on: [bil]")], "on：没有事件类型 'bil'；是不是 'bill'？"),
    (
        [("expiry: {months_after: 12}", "expiry: nevr")],
        "expiry：应为 'never' 或 {days_after: N}, {months_after: N}, {end_of_month_after: N}, {end_of_year_after: N} 之一，实际是文本 'nevr'；是不是 'never'？",
    ),
    (
        [("expiry: {months_after: 12}", "expiry: {months_after: 12, days_after: 3}")],
        "积分到期只能写 days_after、months_after、end_of_month_after、end_of_year_after 中的一个，现在写了 days_after、months_after。",
    ),
    (
        [("expiry: {months_after: 12}", "expiry: {monts_after: 12}")],
        "积分到期需要 days_after、months_after、end_of_month_after、end_of_year_after 中的一个。",
    ),
    ([("type: gift", "type: bill_credit\n    credit_yuan: '1.005'")], "credit_yuan 1.005 不是整数分（最多两位小数）。"),
    # references, duplicates
    ([("stock: 500", "stock: 500\n    tiers: [golden]")], "等级 'golden' 不存在；是不是 'gold'？"),
    (
        [("    type: tier_multiplier", "    type: tier_multiplier\n    applies_to: [bil]")],
        "规则标识 'bil' 不存在；是不是 'bill'？",
    ),
    ([("  - id: tier-bonus", "  - id: bill")], "规则标识 'bill' 重复（首次定义在第 8 行第 9 列）。"),
    (
        [("    type: tier_multiplier", "    type: tier_multiplier\n    applies_to: [tier-bonus]")],
        "applies_to 指向了倍数规则 'tier-bonus'；倍数只能作用于基础规则。",
    ),
    # dates and windows
    (
        [("stock: 500", "stock: 500\n    window: {from: 2027-03-01, to: 2027-01-01}")],
        "时间窗的结束日期（2027-01-01）早于开始日期（2027-03-01）。",
    ),
    ([("stock: 500", "stock: 500\n    window: {from: 5}")], "from：应为YYYY-MM-DD 格式的日期，实际是数字 5。"),
    ([("stock: 500", "stock: 500\n    window: {from: 2027/01/01}")], "from：'2027/01/01' 不是 YYYY-MM-DD 格式的日期。"),
    ([("stock: 500", "stock: 500\n    window: {from: '2027-02-30'}")], "from：'2027-02-30' 不是有效的日期。"),
    (
        [(BONUS, "  - id: promo\n    type: campaign\n    multiplier: 2\n    window: {from: 2027-01-01}\n")],
        "活动时间窗口需要同时填写 from 和 to。",
    ),
    # YAML syntax
    ([("stock: 500", "stock: 500\n    stock: 3")], '键 "stock" 出现了两次（值为 "3"；第一次的值是 "500"）。'),
    (
        [("stock: 500", "stock: 500\n  x")],
        "方案文件的格式有误：could not find expected ':' (while scanning a simple key)",
    ),
    # rules, tiers and rewards
    (
        [
            (
                BONUS,
                "  - id: promo\n    type: campaign\n    multiplier: '0.5'\n"
                "    window: {from: 2027-01-01, to: 2027-02-01}\n",
            )
        ],
        "倍数至少为 1，实际是 0.5（规则增加的是 （倍数 - 1） 乘以基础积分）。",
    ),
    ([(BONUS, "  - id: act\n    type: action\n    on: [bill]\n")], "积分规则 'act'（action）缺少必填的键 'points'。"),
    (
        [(BONUS, "  - id: act\n    type: action\n    on: [bill]\n")],
        "行为规则只响应 survey、review、share、activity，不能是 'bill'。",
    ),
    ([(BONUS, "  - id: act\n    type: action\n    points: 5\n    on: []\n")], "行为规则的 'on' 中至少需要一个事件。"),
    (
        [("multiplier: 2}", "multiplier: 2, qualify: 100}")],
        "等级 'gold' 设置了 qualify，但方案没有等级规则（按什么指标、在多长时间内）。",
    ),
    (
        [POLICY, ("multiplier: 2}", "multiplier: 2, qualify: 100}"), ("multiplier: 1}", "multiplier: 1, qualify: 5}")],
        "等级 'standard' 是最低等级，所有会员都从这里开始：它不需要 qualify（或为 0），实际是 5。",
    ),
    (
        [POLICY, ("multiplier: 2}", "multiplier: 2, qualify: 0}")],
        "等级 'gold'（排位 1）的 qualify 必须大于等级 'standard'（排位 0）的 0：门槛随排位升高。",
    ),
    ([POLICY], "等级 'gold' 需要 qualify：等级规则会评定除最低等级外的每个等级（按 points_earned，单位为积分）。"),
    ([POLICY, *REVIEW], "评定月份必须在 1 到 12 之间，实际是 13。"),
    ([POLICY, *REVIEW], "评定月份 12 重复（首次出现在第 4 行第 59 列）。"),
    ([("type: gift", "type: merchant\n    merchants: []")], "商户奖品至少需要一个商户。"),
    # warnings
    (
        [("expiry: {months_after: 12}", "expiry: never")],
        "积分永不过期：未使用的积分会一直是负债（请设置 expiry；若有意为之，写上 'expiry: never' 并接受此提醒）。",
    ),
    ([(BONUS, "")], "等级 'gold' 设置了倍数 2，但没有等级倍数规则使用它。"),
    ([("stock: 500", "stock: 0")], "奖品 'gift-book' 库存为 0，永远无法兑换。"),
    ([("multiplier: 2}", "multiplier: 1}")], "规则 'tier-bonus' 永远不会发放积分：没有任何等级的倍数不等于 1。"),
    ([("type: spend", "type: signup")], "规则 'tier-bonus' 永远不会发放积分：方案中没有消费或充值规则。"),
    (
        [("    type: tier_multiplier", "    type: tier_multiplier\n    applies_to: [tier-bonus]")],
        "规则 'tier-bonus' 永远不会发放积分：applies_to 没有指向任何基础规则。",
    ),
    (
        [("stock: 500", "stock: 500\n    window: {to: 1999-01-01}")],
        "奖品 'gift-book' 的时间窗口于 1999-01-01 结束，永远无法兑换。",
    ),
]


def _diagnostics(text: str) -> list[Diagnostic]:
    return load_plan_text(text, "p.yaml")[1]


def _edited(edits) -> str:
    text = GOOD
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_the_good_plan_has_no_diagnostics():
    assert _diagnostics(GOOD) == []


@pytest.mark.parametrize("edits, chinese", CASES, ids=[c[1][:30] for c in CASES])
def test_each_diagnostic_in_chinese_with_its_names_and_values(edits, chinese):
    diagnostics = _diagnostics(_edited(edits))
    assert chinese in [zh(d) for d in diagnostics], [d.message for d in diagnostics]
    for d in diagnostics:
        assert zh(d) != d.message, d
        for quoted in re.findall(r"'[^']*'", d.message):  # the names and values in quotes are kept
            assert quoted in zh(d), (quoted, d.message)


@pytest.mark.parametrize(
    "text, chinese",
    [
        ("", "方案文件是空的；至少需要 'plan' 和 'name'。"),
        ("- a\n- b\n", "方案文件必须是由键组成的映射（plan、name、earning、rewards 等）。"),
        (
            "plan: [1\n",
            "方案文件的格式有误：expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)",
        ),
        ("plan: demo\nname: D\nexpiry: never\ntier_policy: {measure: points_earned}\n", "等级规则需要有等级可供评定。"),
    ],
)
def test_whole_file_diagnostics_in_chinese(text, chinese):
    assert chinese in [zh(d) for d in _diagnostics(text)]


def test_the_plans_page_shows_a_chinese_diagnostic_beside_its_line(console):
    bad = _edited([("points: 1", "pointz: 1"), ("cost: 2000", "cost: 0")])
    r = console("analyst").post_form(
        "/plans", "/plans/check", {}, files={"plan_file": ("bad.yaml", bad.encode(), "text/yaml")}
    )
    assert r.status_code == 422
    row = re.search(r'<tr id="L11" class="has-diag has-error">(.*?)</tr>', r.text, re.S)
    assert row and "积分规则 'bill' 中没有键 'pointz'；是不是 'points'？" in html.unescape(row.group(1))
    summary = html.unescape(re.search(r'<ol class="diagnostics">(.*?)</ol>', r.text, re.S).group(1))
    assert "bad.yaml:19:11</a> cost：必须是正整数，实际是 0。" in summary
    assert "unknown key" not in r.text and "positive whole number" not in r.text


# --- the segments section (weixi.plans.segments) and retention plans (weixi.plans.retention) -------------------

SEGMENTS = """segments:
  star_levels:
    tenure_years: [0, 1, 3]
    table:
      - {arpu_yuan: 0, stars: [1, 2, 3]}
      - {arpu_yuan: 50, stars: [2, 3, 4]}
  value_pyramid:
    cuts: {A: "0.5", B: "0.8", C: "0.95"}
  activity:
    active: {max_days_since: 30, min_touches: 3}
    normal: {max_days_since: 90}
  rfm: {bins: 5}
  key_accounts:
    window_months: 12
    levels:
      - {id: diamond, name: D, min_spend_yuan: 5000}
      - {id: gold, name: G, min_active_months: 10}
      - {id: bronze, name: B}
"""
SEGMENTED = GOOD + SEGMENTS
TABLE = "    table:\n      - {arpu_yuan: 0, stars: [1, 2, 3]}\n      - {arpu_yuan: 50, stars: [2, 3, 4]}\n"
LEVELS = (
    "    levels:\n      - {id: diamond, name: D, min_spend_yuan: 5000}\n"
    "      - {id: gold, name: G, min_active_months: 10}\n      - {id: bronze, name: B}\n"
)

# (edits of GOOD with SEGMENTS, the Chinese text of one of the diagnostics)
SEGMENT_CASES = [
    # star levels (星级): the tenure x ARPU table
    ([("tenure_years: [0, 1, 3]", "tenure_years: []")], "tenure_years 至少需要一项。"),
    ([(TABLE, "    table: []\n")], "table 至少需要一项。"),
    ([("tenure_years: [0, 1, 3]", "tenure_years: [1, 2, 3]")], "第一个在网年限列必须是 0，这样每个会员都有所属的列。"),
    ([("tenure_years: [0, 1, 3]", "tenure_years: [0, 3, 3]")], "tenure_years 必须严格递增：3 排在 3 之后。"),
    ([("{arpu_yuan: 0, stars", "{arpu_yuan: 10, stars")], "第一行的 arpu_yuan 必须是 0，这样每个会员都有所属的行。"),
    ([("{arpu_yuan: 50, stars", "{arpu_yuan: 0, stars")], "各行的 arpu_yuan 必须严格递增：0 排在 0 之后。"),
    ([("stars: [2, 3, 4]", "stars: [2, 3, 8]")], "星级必须在 1 到 7 之间，实际是 8。"),
    ([("stars: [2, 3, 4]", "stars: [2, 3]")], "这一行有 2 个星级，但在网年限有 3 列：每列一个星级。"),
    ([("{arpu_yuan: 50, stars", "{arpu_yuan: '50.005', stars")], "arpu_yuan 50.005 不是整数分（最多两位小数）。"),
    ([("stars: [2, 3, 4]", "stars: [2, 1, 4]")], "这一行中，在网年限越长，星级反而降低。"),
    ([("stars: [2, 3, 4]", "stars: [1, 1, 4]")], "这一行中，月均收入越高，星级反而降低。"),
    # the value pyramid (价值金字塔)
    ([('A: "0.5"', 'A: "1.5"')], "分界线 A 必须小于 1（占总贡献的比例），实际是 1.5。"),
    ([('A: "0.5"', 'A: "0.12345"')], "分界线 A 的小数超过 4 位：0.12345。"),
    ([('B: "0.8"', 'B: "0.4"')], "分界线必须递增：B 的 0.4 不大于 A 的 0.5。"),
    # activity grades (活跃度) and RFM
    (
        [("active: {max_days_since: 30, min_touches: 3}", "active: {}")],
        "活跃度等级 'active' 需要 max_days_since 或 min_touches。",
    ),
    ([("rfm: {bins: 5}", "rfm: {bins: 12}")], "bins：分档数必须在 2 到 9 之间，实际是 12。"),
    # key accounts (大客户)
    ([(LEVELS, "    levels: []\n")], "大客户至少需要一个级别。"),
    (
        [("{id: bronze, name: B}", "{id: bronze, name: B}\n      - {id: tin, name: T}")],
        "大客户级别 'tin' 永远不会匹配：它前面的级别 'bronze' 没有条件，会把剩下的客户全部收走。",
    ),
    (
        [("min_active_months: 10", "min_active_months: 13")],
        "min_active_months 13 大于 window_months 12：级别 'gold' 永远不会匹配。",
    ),
    ([("min_spend_yuan: 5000", "min_spend_yuan: '5000.001'")], "min_spend_yuan 5000.001 不是整数分（最多两位小数）。"),
    (
        [("{id: gold, name: G, min", "{id: diamond, name: G, min")],
        "大客户级别标识 'diamond' 重复（首次定义在第 36 行第 14 列）。",
    ),
]

RETENTION = """kind: retention
plan: demo-retention
name: Demo
expiring: {window_days: 90}
high_risk: {min_probability: "0.15"}
control: {share: "0.1", seed: 2015}
value: {margin_share: "0.6", months: 24}
offers:
  - id: bonus
    name: Bonus
    points: 500
    eligible: {card_role: [primary], network: [4G]}
"""
OFFERS = (
    "offers:\n  - id: bonus\n    name: Bonus\n    points: 500\n    eligible: {card_role: [primary], network: [4G]}\n"
)

# (edits of RETENTION, the Chinese text of one of the diagnostics)
RETENTION_CASES = [
    ([('share: "0.1"', 'share: "1"')], 'share：必须是 0 到 1 之间（不含 1）的比例，例如 "0.1"，实际是 1。'),
    (
        [('min_probability: "0.15"', 'min_probability: "1.5"')],
        "min_probability：必须是 0 到 1 之间的概率，实际是 1.5。",
    ),
    ([('margin_share: "0.6"', 'margin_share: "2"')], "margin_share：必须是 0 到 1 之间的数，实际是 2。"),
    (
        [("control:", 'silent: {max_usage_ratio: "1.2"}\ncontrol:')],
        "max_usage_ratio：必须是 0 到 1 之间的数，实际是 1.2。",
    ),
    (
        [(RETENTION, "- a\n- b\n")],
        "挽留方案必须是映射，包含 kind: retention、plan、name、expiring、high_risk、control、value、offers。",
    ),
    ([("    eligible", "  - id: bonus\n    name: Bonus 2\n    eligible")], "优惠标识 'bonus' 用了两次。"),
    ([(OFFERS, "offers: []\n")], "offers：优惠目录中至少需要一项优惠。"),
    # the names of the plan's parts and choices, translated inside the general diagnostics
    ([("card_role: [primary]", "card_rol: [primary]")], "适用条件中没有键 'card_rol'；是不是 'card_role'？"),
    (
        [("[primary]", "[primry]")],
        "card_role：没有卡类型 'primry'，应为以下之一：primary、secondary；是不是 'primary'？",
    ),
    (
        [("card_role: [primary]", "payment_type: [pre]")],
        "payment_type：没有付费方式 'pre'，应为以下之一：prepaid、postpaid；是不是 'prepaid'？",
    ),
    ([("[4G]", "[3G]")], "network：没有网络 '3G'，应为以下之一：4G、5G。"),
    (
        [("network: [4G]", "lists: [silnt]")],
        "lists：没有名单 'silnt'，应为以下之一：expiring、high_risk、silent、winback；是不是 'silent'？",
    ),
    (
        [("months: 24}", "months: 24, source: cl}")],
        "source：没有价值来源 'cl'，应为以下之一：weixi、clv；是不是 'clv'？",
    ),
    ([("kind: retention", "kind: points")], "kind：没有类型 'points'，应为以下之一：retention。"),
]


def _retention_diagnostics(text: str) -> list[Diagnostic]:
    return load_retention_text(text, "r.yaml")[1]


def _edit(text: str, edits) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _english_left(text: str) -> list[str]:
    """Runs of English words in a rendering, once the names and values in quotes are taken out."""
    return re.findall(r"[A-Za-z]{2,}(?: [A-Za-z]{2,})+", re.sub(r"'[^']*'|\"[^\"]*\"", "", text))


def _check_both_languages(diagnostics: list[Diagnostic], chinese: str) -> None:
    assert chinese in [zh(d) for d in diagnostics], [d.message for d in diagnostics]
    for d in diagnostics:
        text = zh(d)
        assert text != d.message and not _english_left(text), (d.message, text)
        assert render(d, "en") == d.message and not re.search(r"[\u4e00-\u9fff]", d.message), d.message
        for quoted in re.findall(r"'[^']*'", d.message):
            assert quoted in text, (quoted, d.message)


def test_the_good_segments_and_retention_plan_have_no_diagnostics():
    assert _diagnostics(SEGMENTED) == []
    assert _retention_diagnostics(RETENTION) == []


@pytest.mark.parametrize("edits, chinese", SEGMENT_CASES, ids=[c[1][:30] for c in SEGMENT_CASES])
def test_each_segments_diagnostic_in_chinese(edits, chinese):
    _check_both_languages(_diagnostics(_edit(SEGMENTED, edits)), chinese)


@pytest.mark.parametrize("edits, chinese", RETENTION_CASES, ids=[c[1][:30] for c in RETENTION_CASES])
def test_each_retention_plan_diagnostic_in_chinese(edits, chinese):
    _check_both_languages(_retention_diagnostics(_edit(RETENTION, edits)), chinese)


def test_an_unreadable_retention_plan_in_chinese(tmp_path):
    missing = load_retention_plan(tmp_path / "none.yaml")[1]
    assert [zh(d) for d in missing] == ["无法读取挽留方案：文件不存在"]
    assert [d.message for d in missing] == ["cannot read retention plan: no such file"]
    unreadable = load_retention_plan(tmp_path)[1]  # a directory: the system's reason, as is
    assert len(unreadable) == 1 and zh(unreadable[0]).startswith("无法读取挽留方案：[Errno")


def test_the_plans_page_shows_a_segments_diagnostic_in_chinese(console):
    bad = _edit(SEGMENTED, [("stars: [2, 3, 4]", "stars: [2, 3, 8]")])
    r = console("analyst").post_form(
        "/plans", "/plans/check", {}, files={"plan_file": ("seg.yaml", bad.encode(), "text/yaml")}
    )
    assert r.status_code == 422
    summary = html.unescape(re.search(r'<ol class="diagnostics">(.*?)</ol>', r.text, re.S).group(1))
    assert "seg.yaml:26:39</a> 星级必须在 1 到 7 之间，实际是 8。" in summary
    row = re.search(r'<tr id="L26" class="has-diag has-error">(.*?)</tr>', r.text, re.S)
    assert row and "星级必须在 1 到 7 之间，实际是 8。" in html.unescape(row.group(1))
    assert "star level must be" not in r.text


def test_three_mistakes_give_three_codes_at_their_lines_and_chinese_without_english():
    bad = _edited([("points: 1", "pointz: 1"), ("cost: 2000", "cost: many"), ("stock: 500", "stock: -1")])
    diagnostics = [d for d in _diagnostics(bad) if d.is_error]
    assert [(d.code, d.line, d.column) for d in diagnostics] == [
        ("plan_unknown_key_of_suggest", 11, 5),
        ("plan_expected_type", 19, 11),
        ("plan_negative", 20, 12),
    ]
    assert diagnostics[0].params == {"key": "pointz", "noun": "earning_rule", "id": "bill", "suggestion": "points"}
    assert diagnostics[1].params == {"key": "cost", "expected": "whole_number", "got": "text", "got_value": "'many'"}
    for d in diagnostics:  # no ASCII letters in Chinese but the keys, ids and values the params bring
        text = zh(d)
        for value in d.params.values():
            text = text.replace(str(value), "")
        assert not re.search(r"[A-Za-z]", text), (d.code, zh(d))


def test_the_plans_page_renders_each_diagnostic_by_code_in_english_too(console):
    bad = _edited([("points: 1", "pointz: 1")])
    c = console("analyst")
    c.http.cookies.set("weixi_lang", "en")
    r = c.post_form("/plans", "/plans/check", {}, files={"plan_file": ("bad.yaml", bad.encode(), "text/yaml")})
    assert r.status_code == 422
    assert "unknown key 'pointz' in earning rule 'bill'; did you mean 'points'?" in html.unescape(r.text)
