"""The plan checker's diagnostics on the plans page in the reader's language: each text comes from the checker
itself (a small bad plan checked here), so a reworded diagnostic that the catalogue no longer knows fails."""

from __future__ import annotations

import html
import re

import pytest

from weixi import i18n
from weixi.console.messages import say
from weixi.plans.loader import load_plan_text
from weixi.plans.retention import load_retention_plan, load_retention_text

ZH = i18n.translations("zh_CN").ugettext
EN = i18n.translations("en").ugettext

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
REVIEW = [("multiplier: 2}", "multiplier: 2, qualify: 100}"),
          ("points_earned}", "points_earned, review_months: [13, 12, 12]}")]
POLICY = ("expiry: {months_after: 12}\n", "expiry: {months_after: 12}\ntier_policy: {measure: points_earned}\n")
BONUS = "  - id: tier-bonus\n    type: tier_multiplier\n"

# (edits of GOOD, the Chinese text of one of the diagnostics), the most common mistakes first
CASES = [
    # misspelt and misplaced keys, missing keys
    ([("points: 1", "pointz: 1")], "积分规则 'bill' 中没有键 'pointz';是不是 'points'?"),
    ([("points: 1", "points: 1\n    colour: red")], "积分规则 'bill' 中没有键 'colour'"),
    ([("expiry: {months_after: 12}", "expiry: {monts_after: 12}")], "expiry 中没有键 'monts_after';是不是 'months_after'?"),
    ([("per_yuan: 10", "per_yuan: 10\n    per_full_yuan: 100")],
     "键 'per_full_yuan' 不适用于类型为 spend 的积分规则(它用于:recharge)。"),
    ([("name: Demo\n", "")], "方案 缺少必填的键 'name'。"),
    ([("    name: Book\n", "")], "奖品 'gift-book'(gift)缺少必填的键 'name'。"),
    ([("points: 1", "points: 1\n    3: x")], "积分规则 'bill' 中的键必须是文本,不能是数字 3。"),
    # wrong types
    ([("points: 1", "points: many")], "points:应为数字,实际是文本 'many'。"),
    ([("cost: 2000", "cost: '12.5'")], "cost:应为整数,实际是文本 '12.5'。"),
    ([("name: Book", "name: 12")], "name:应为文本,实际是数字 12。"),
    ([("stock: 500", "stock: 500\n    refundable: maybe")], "refundable:应为 true 或 false,实际是文本 'maybe'。"),
    ([("on: [bill]", "on: bill")], "on:应为列表,实际是文本 'bill'(请写成 [bill])。"),
    ([("on: [bill]", "on: 5")], "on:应为列表,实际是数字 5。"),
    ([("cost: 2000", "cost: 2000\n    limit: 3")], "limit:应为映射(限制),实际是数字 3。"),
    # values out of range and bad choices
    ([("cost: 2000", "cost: 0")], "cost:必须是正整数,实际是 0。"),
    ([("stock: 500", "stock: -1")], "stock:不能小于 0,实际是 -1。"),
    ([("points: 1", "points: 0")], "points:必须大于 0,实际是 0。"),
    ([("plan: demo", "plan: Demo X")], "plan:'Demo X' 不是有效的 id:只能使用小写字母、数字、'-' 和 '_'。"),
    ([("type: spend", "type: spnd")],
     "积分规则没有 type 'spnd',应为以下之一:spend, recharge, checkin, action, signup, birthday, referral, "
     "first_purchase, tier_multiplier, campaign;是不是 'spend'?"),
    ([("type: spend", "type: 5")],
     "type:应为以下之一:spend, recharge, checkin, action, signup, birthday, referral, first_purchase, "
     "tier_multiplier, campaign,实际是数字 5。"),
    ([("per_yuan: 10", "per_yuan: 10\n    rounding: flor")],
     "rounding:没有取整方式 'flor',应为以下之一:floor, ceil, half_up;是不是 'floor'?"),
    ([("per_yuan: 10", "per_yuan: 10\n    rounding: 3")], "rounding:应为取整方式(floor, ceil, half_up),实际是数字 3。"),
    ([("expiry: {months_after: 12}", "timezone: Asia/Shangai\nexpiry: {months_after: 12}")],
     "timezone:没有时区 'Asia/Shangai';是不是 'Asia/Shanghai'?"),
    ([("on: [bill]", "on: [bil]")], "on:没有事件类型 'bil';是不是 'bill'?"),
    ([("expiry: {months_after: 12}", "expiry: nevr")],
     "expiry:应为 'never' 或 {days_after: N}, {months_after: N}, {end_of_month_after: N}, {end_of_year_after: N} "
     "之一,实际是文本 'nevr';是不是 'never'?"),
    ([("expiry: {months_after: 12}", "expiry: {months_after: 12, days_after: 3}")],
     "expiry 只能写 days_after, months_after, end_of_month_after, end_of_year_after 中的一个,现在写了 days_after, "
     "months_after。"),
    ([("expiry: {months_after: 12}", "expiry: {monts_after: 12}")],
     "expiry 需要 days_after, months_after, end_of_month_after, end_of_year_after 中的一个。"),
    ([("type: gift", "type: bill_credit\n    credit_yuan: '1.005'")], "credit_yuan 1.005 不是整分的金额(最多两位小数)。"),
    # references, duplicates
    ([("stock: 500", "stock: 500\n    tiers: [golden]")], "没有等级 'golden';是不是 'gold'?"),
    ([("    type: tier_multiplier", "    type: tier_multiplier\n    applies_to: [bil]")], "没有规则 id 'bil';是不是 'bill'?"),
    ([("  - id: tier-bonus", "  - id: bill")], "规则 id 'bill' 重复(首次定义在第 8 行第 9 列)。"),
    ([("    type: tier_multiplier", "    type: tier_multiplier\n    applies_to: [tier-bonus]")],
     "applies_to 写了倍率规则 'tier-bonus';倍率只能作用于基础规则。"),
    # dates and windows
    ([("stock: 500", "stock: 500\n    window: {from: 2027-03-01, to: 2027-01-01}")],
     "时间窗口的结束日期(2027-01-01)早于开始日期(2027-03-01)。"),
    ([("stock: 500", "stock: 500\n    window: {from: 5}")], "from:应为 YYYY-MM-DD 格式的日期,实际是数字 5。"),
    ([("stock: 500", "stock: 500\n    window: {from: 2027/01/01}")], "from:'2027/01/01' 不是 YYYY-MM-DD 格式的日期。"),
    ([("stock: 500", "stock: 500\n    window: {from: '2027-02-30'}")],
     "from:'2027-02-30' 不是有效的日期(day is out of range for month)。"),
    ([(BONUS, "  - id: promo\n    type: campaign\n    multiplier: 2\n    window: {from: 2027-01-01}\n")],
     "活动时间窗口需要同时写 from 和 to。"),
    # YAML syntax
    ([("stock: 500", "stock: 500\n    stock: 3")], "YAML 格式错误:键 \"stock\" 重复出现(值为 \"3\";第一次的值为 \"500\")。"),
    ([("stock: 500", "stock: 500\n  x")], "YAML 格式错误:could not find expected ':' (while scanning a simple key)"),
    # rules, tiers and rewards
    ([(BONUS, "  - id: promo\n    type: campaign\n    multiplier: '0.5'\n"
              "    window: {from: 2027-01-01, to: 2027-02-01}\n")],
     "multiplier 至少为 1,实际是 0.5(规则加送的积分为 (multiplier - 1) × 基础积分)。"),
    ([(BONUS, "  - id: act\n    type: action\n    on: [bill]\n")], "积分规则 'act'(action)缺少必填的键 'points'。"),
    ([(BONUS, "  - id: act\n    type: action\n    on: [bill]\n")],
     "行为规则只响应 survey, review, share, activity,不响应 'bill'。"),
    ([(BONUS, "  - id: act\n    type: action\n    points: 5\n    on: []\n")], "行为规则的 'on' 中至少需要一个事件。"),
    ([("multiplier: 2}", "multiplier: 2, qualify: 100}")],
     "等级 'gold' 写了 qualify,但方案没有 tier_policy(按什么指标、在多长的时间窗口内评定)。"),
    ([POLICY, ("multiplier: 2}", "multiplier: 2, qualify: 100}"), ("multiplier: 1}", "multiplier: 1, qualify: 5}")],
     "等级 'standard' 是最低等级,所有会员都从这里起步:它不设 qualify(或为 0),实际是 5。"),
    ([POLICY, ("multiplier: 2}", "multiplier: 2, qualify: 0}")],
     "等级 'gold'(rank 1)的 qualify 必须大于等级 'standard'(rank 0)的 0:门槛随 rank 递增。"),
    ([POLICY], "等级 'gold' 需要 qualify:tier_policy 评定除最低等级外的每个等级(按 points_earned,单位 points)。"),
    ([POLICY, *REVIEW],
     "评定月份必须在 1 到 12 之间,实际是 13。"),
    ([POLICY, *REVIEW],
     "评定月份 12 重复(首次出现在第 4 行第 59 列)。"),
    ([("type: gift", "type: merchant\n    merchants: []")], "商户奖品至少需要一个商户。"),
    # warnings
    ([("expiry: {months_after: 12}", "expiry: never")],
     "积分永不过期:未使用的积分将一直是负债(请设置 expiry;如确属有意,写上 'expiry: never' 并接受此警告)。"),
    ([(BONUS, "")], "等级 'gold' 的倍率为 2,但没有 tier_multiplier 规则使用它。"),
    ([("stock: 500", "stock: 0")], "奖品 'gift-book' 的库存为 0,永远无法兑换。"),
    ([("multiplier: 2}", "multiplier: 1}")], "规则 'tier-bonus' 永远不会发放积分:没有任何等级的倍率不等于 1。"),
    ([("type: spend", "type: signup")], "规则 'tier-bonus' 永远不会发放积分:方案中没有消费或充值规则。"),
    ([("    type: tier_multiplier", "    type: tier_multiplier\n    applies_to: [tier-bonus]")],
     "规则 'tier-bonus' 永远不会发放积分:applies_to 中没有基础规则。"),
    ([("stock: 500", "stock: 500\n    window: {to: 1999-01-01}")], "奖品 'gift-book' 的时间窗口于 1999-01-01 结束:它永远不会生效。"),
]


def _messages(text: str) -> list[str]:
    return [d.message for d in load_plan_text(text, "p.yaml")[1]]


def _edited(edits) -> str:
    text = GOOD
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def test_the_good_plan_has_no_diagnostics():
    assert _messages(GOOD) == []


@pytest.mark.parametrize("edits, chinese", CASES, ids=[c[1][:30] for c in CASES])
def test_each_diagnostic_in_chinese_with_its_names_and_values(edits, chinese):
    messages = _messages(_edited(edits))
    assert chinese in [say(m, ZH) for m in messages], messages
    assert all(say(m, ZH) != m for m in messages), [m for m in messages if say(m, ZH) == m]
    for m in messages:  # the names and values in quotes are kept, in both languages
        for quoted in re.findall(r"'[^']*'", m):
            assert quoted in say(m, ZH) and quoted in say(m, EN), (quoted, m)


@pytest.mark.parametrize("text, chinese", [
    ("", "方案文件是空的;至少需要 plan 和 name 两个键。"),
    ("- a\n- b\n", "方案文件必须是由键组成的映射(plan、name、earning、rewards 等)。"),
    ("plan: [1\n", "YAML 格式错误:expected ',' or ']', but got '<stream end>' (while parsing a flow sequence)"),
    ("plan: demo\nname: D\nexpiry: never\ntier_policy: {measure: points_earned}\n", "tier_policy 需要有可评定的等级(tiers)。"),
])
def test_whole_file_diagnostics_in_chinese(text, chinese):
    assert chinese in [say(m, ZH) for m in _messages(text)]


def test_the_plans_page_shows_a_chinese_diagnostic_beside_its_line(console):
    bad = _edited([("points: 1", "pointz: 1"), ("cost: 2000", "cost: 0")])
    r = console("analyst").post_form("/plans", "/plans/check", {},
                                     files={"plan_file": ("bad.yaml", bad.encode(), "text/yaml")})
    assert r.status_code == 422
    row = re.search(r'<tr id="L11" class="has-diag has-error">(.*?)</tr>', r.text, re.S)
    assert row and "积分规则 'bill' 中没有键 'pointz';是不是 'points'?" in html.unescape(row.group(1))
    summary = html.unescape(re.search(r'<ol class="diagnostics">(.*?)</ol>', r.text, re.S).group(1))
    assert "bad.yaml:19:11</a> cost:必须是正整数,实际是 0。" in summary
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
LEVELS = ("    levels:\n      - {id: diamond, name: D, min_spend_yuan: 5000}\n"
          "      - {id: gold, name: G, min_active_months: 10}\n      - {id: bronze, name: B}\n")

# (edits of GOOD with SEGMENTS, the Chinese text of one of the diagnostics)
SEGMENT_CASES = [
    # star levels (星级): the tenure x ARPU table
    ([("tenure_years: [0, 1, 3]", "tenure_years: []")], "tenure_years 至少需要一项。"),
    ([(TABLE, "    table: []\n")], "table 至少需要一项。"),
    ([("tenure_years: [0, 1, 3]", "tenure_years: [1, 2, 3]")], "网龄的第一列必须是 0,这样每个会员都有所属的列。"),
    ([("tenure_years: [0, 1, 3]", "tenure_years: [0, 3, 3]")], "tenure_years 必须严格递增:3 之后是 3。"),
    ([("{arpu_yuan: 0, stars", "{arpu_yuan: 10, stars")], "第一行的 arpu_yuan 必须是 0,这样每个会员都有所属的行。"),
    ([("{arpu_yuan: 50, stars", "{arpu_yuan: 0, stars")], "各行的 arpu_yuan 必须严格递增:0 之后是 0。"),
    ([("stars: [2, 3, 4]", "stars: [2, 3, 8]")], "星级必须在 1 到 7 之间,实际是 8。"),
    ([("stars: [2, 3, 4]", "stars: [2, 3]")], "这一行有 2 个星级,而网龄有 3 列:tenure_years 的每一列对应一个星级。"),
    ([("{arpu_yuan: 50, stars", "{arpu_yuan: '50.005', stars")], "arpu_yuan 50.005 不是整分的金额(最多两位小数)。"),
    ([("stars: [2, 3, 4]", "stars: [2, 1, 4]")], "这一行的星级随网龄增长反而下降。"),
    ([("stars: [2, 3, 4]", "stars: [1, 1, 4]")], "这一行的 ARPU 更高,星级却比上一行低。"),
    # the value pyramid (价值金字塔)
    ([('A: "0.5"', 'A: "1.5"')], "价值金字塔 A 类的分界点必须小于 1(它是占总贡献的比例),实际是 1.5。"),
    ([('A: "0.5"', 'A: "0.12345"')], "价值金字塔 A 类的分界点超过 4 位小数:0.12345。"),
    ([('B: "0.8"', 'B: "0.4"')], "价值金字塔的分界点必须递增:B 类的 0.4 不大于 A 类的 0.5。"),
    # activity grades (活跃度) and RFM
    ([("active: {max_days_since: 30, min_touches: 3}", "active: {}")],
     "活跃度等级 'active' 需要写 max_days_since 或 min_touches。"),
    ([("rfm: {bins: 5}", "rfm: {bins: 12}")], "bins:分档数必须在 2 到 9 之间,实际是 12。"),
    # key accounts (大客户)
    ([(LEVELS, "    levels: []\n")], "key_accounts 至少需要一个大客户级别。"),
    ([("{id: bronze, name: B}", "{id: bronze, name: B}\n      - {id: tin, name: T}")],
     "大客户级别 'tin' 永远匹配不到客户:排在它前面的级别 'bronze' 没有任何条件,会收下剩下的所有客户。"),
    ([("min_active_months: 10", "min_active_months: 13")],
     "min_active_months 13 大于 window_months 12:级别 'gold' 永远匹配不到客户。"),
    ([("min_spend_yuan: 5000", "min_spend_yuan: '5000.001'")], "min_spend_yuan 5000.001 不是整分的金额(最多两位小数)。"),
    ([("{id: gold, name: G, min", "{id: diamond, name: G, min")], "大客户级别 id 'diamond' 重复(首次定义在第 36 行第 14 列)。"),
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
OFFERS = "offers:\n  - id: bonus\n    name: Bonus\n    points: 500\n    eligible: {card_role: [primary], network: [4G]}\n"

# (edits of RETENTION, the Chinese text of one of the diagnostics)
RETENTION_CASES = [
    ([('share: "0.1"', 'share: "1"')], 'share:必须是 0 到 1 之间的比例(可以是 0,不能是 1),例如 "0.1",实际是 1。'),
    ([('min_probability: "0.15"', 'min_probability: "1.5"')], "min_probability:必须是 0 到 1 之间的概率,实际是 1.5。"),
    ([('margin_share: "0.6"', 'margin_share: "2"')], "margin_share:必须是 0 到 1 之间的数,实际是 2。"),
    ([('control:', 'silent: {max_usage_ratio: "1.2"}\ncontrol:')], "max_usage_ratio:必须是 0 到 1 之间的数,实际是 1.2。"),
    ([(RETENTION, "- a\n- b\n")],
     "挽留方案必须是由键组成的映射:kind: retention、plan、name、expiring、high_risk、control、value、offers。"),
    ([("    eligible", "  - id: bonus\n    name: Bonus 2\n    eligible")], "优惠 id 'bonus' 出现了两次。"),
    ([(OFFERS, "offers: []\n")], "offers:优惠目录中至少需要一项优惠。"),
    # the names of the plan's parts and choices, translated inside the general diagnostics
    ([("card_role: [primary]", "card_rol: [primary]")], "适用条件 中没有键 'card_rol';是不是 'card_role'?"),
    ([("[primary]", "[primry]")], "card_role:没有卡类型 'primry',应为以下之一:primary, secondary;是不是 'primary'?"),
    ([("card_role: [primary]", "payment_type: [pre]")],
     "payment_type:没有付费方式 'pre',应为以下之一:prepaid, postpaid;是不是 'prepaid'?"),
    ([("[4G]", "[3G]")], "network:没有网络 '3G',应为以下之一:4G, 5G"),
    ([("network: [4G]", "lists: [silnt]")],
     "lists:没有名单 'silnt',应为以下之一:expiring, high_risk, silent, winback;是不是 'silent'?"),
    ([("months: 24}", "months: 24, source: cl}")], "source:没有价值来源 'cl',应为以下之一:weixi, clv;是不是 'clv'?"),
    ([("kind: retention", "kind: points")], "kind:没有类型 'points',应为以下之一:retention"),
]


def _retention_messages(text: str) -> list[str]:
    return [d.message for d in load_retention_text(text, "r.yaml")[1]]


def _edit(text: str, edits) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _english_left(text: str) -> list[str]:
    """Runs of English words in a rendering, once the names and values in quotes are taken out."""
    return re.findall(r"[A-Za-z]{2,}(?: [A-Za-z]{2,})+", re.sub(r"'[^']*'|\"[^\"]*\"", "", text))


def _check_both_languages(messages: list[str], chinese: str) -> None:
    zh = [say(m, ZH) for m in messages]
    assert chinese in zh, messages
    for m, text in zip(messages, zh):
        assert text != m and not _english_left(text), (m, text)
        english = say(m, EN)  # the English page: the checker's sentence, as a sentence
        assert not re.search(r"[\u4e00-\u9fff]", english), english
        assert english.rstrip(".").lower() == m.lower().replace(", expected one of", "; expected one of"), english
        for quoted in re.findall(r"'[^']*'", m):
            assert quoted in text and quoted in english, (quoted, m)


def test_the_good_segments_and_retention_plan_have_no_diagnostics():
    assert _messages(SEGMENTED) == []
    assert _retention_messages(RETENTION) == []


@pytest.mark.parametrize("edits, chinese", SEGMENT_CASES, ids=[c[1][:30] for c in SEGMENT_CASES])
def test_each_segments_diagnostic_in_chinese(edits, chinese):
    _check_both_languages(_messages(_edit(SEGMENTED, edits)), chinese)


@pytest.mark.parametrize("edits, chinese", RETENTION_CASES, ids=[c[1][:30] for c in RETENTION_CASES])
def test_each_retention_plan_diagnostic_in_chinese(edits, chinese):
    _check_both_languages(_retention_messages(_edit(RETENTION, edits)), chinese)


def test_an_unreadable_retention_plan_in_chinese(tmp_path):
    missing = [d.message for d in load_retention_plan(tmp_path / "none.yaml")[1]]
    assert [say(m, ZH) for m in missing] == ["无法读取挽留方案:文件不存在。"]
    assert [say(m, EN) for m in missing] == ["Cannot read the retention plan: there is no such file."]
    unreadable = [d.message for d in load_retention_plan(tmp_path)[1]]  # a directory: the system's reason, as is
    assert len(unreadable) == 1 and say(unreadable[0], ZH).startswith("无法读取挽留方案:[Errno")


def test_the_plans_page_shows_a_segments_diagnostic_in_chinese(console):
    bad = _edit(SEGMENTED, [("stars: [2, 3, 4]", "stars: [2, 3, 8]")])
    r = console("analyst").post_form("/plans", "/plans/check", {},
                                     files={"plan_file": ("seg.yaml", bad.encode(), "text/yaml")})
    assert r.status_code == 422
    summary = html.unescape(re.search(r'<ol class="diagnostics">(.*?)</ol>', r.text, re.S).group(1))
    assert "seg.yaml:26:39</a> 星级必须在 1 到 7 之间,实际是 8。" in summary
    row = re.search(r'<tr id="L26" class="has-diag has-error">(.*?)</tr>', r.text, re.S)
    assert row and "星级必须在 1 到 7 之间,实际是 8。" in html.unescape(row.group(1))
    assert "star level must be" not in r.text
