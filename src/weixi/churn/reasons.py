"""Reasons in plain words, English and Chinese: one template per feature, rendered set-based in DuckDB.

A template is a SQL expression over ``v``, the member's value of the feature (see :mod:`weixi.churn.features`
for what each feature means). A reason is only shown when the feature raises the member's risk
(:mod:`weixi.churn.explain`), so the words say what is unusual about this member.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _pct(v: str = "v") -> str:
    return f"CAST(round(abs({v}) * 100) AS INTEGER)"


def _updown(en_down: str, en_up: str, v: str = "v") -> str:
    return f"CASE WHEN {v} < 0 THEN '{en_down}' ELSE '{en_up}' END"


def _change(thing_en: str, thing_zh: str) -> tuple[str, str]:
    return (
        f"printf('{thing_en} %s %d%% against its 3-month average', {_updown('down', 'up')}, {_pct()})",
        f"printf('{thing_zh}较近3个月平均%s%d%%', {_updown('下降', '上升')}, {_pct()})",
    )


def _count(en_one: str, en_many: str, zh: str) -> tuple[str, str]:
    return (
        f"CASE WHEN v = 1 THEN '{en_one}' ELSE printf('{en_many}', CAST(v AS INTEGER)) END",
        f"printf('{zh}', CAST(v AS INTEGER))",
    )


def _days_left(thing_en: str, thing_zh: str) -> tuple[str, str]:
    return (
        f"CASE WHEN v >= 0 THEN printf('{thing_en} ends in %d days', CAST(v AS INTEGER)) "
        f"ELSE printf('{thing_en} ended %d days ago', CAST(-v AS INTEGER)) END",
        f"CASE WHEN v >= 0 THEN printf('{thing_zh}%d天后到期', CAST(v AS INTEGER)) "
        f"ELSE printf('{thing_zh}已于%d天前到期', CAST(-v AS INTEGER)) END",
    )


def _flag(on_en: str, off_en: str, on_zh: str, off_zh: str) -> tuple[str, str]:
    return (
        f"CASE WHEN v >= 0.5 THEN '{on_en}' ELSE '{off_en}' END",
        f"CASE WHEN v >= 0.5 THEN '{on_zh}' ELSE '{off_zh}' END",
    )


# feature -> (English SQL, Chinese SQL); a null value has its own words in NULL_WORDS.
TEMPLATES: dict[str, tuple[str, str]] = {
    "tenure_months": (
        "printf('in service for only %d months', CAST(v AS INTEGER))",
        "printf('在网仅%d个月', CAST(v AS INTEGER))",
    ),
    "age": ("printf('aged %d', CAST(v AS INTEGER))", "printf('年龄%d岁', CAST(v AS INTEGER))"),
    "migrant": _flag(
        "registered outside the province (may move away)",
        "registered in the province",
        "外省户籍(可能迁离)",
        "本省户籍",
    ),
    "prepaid": _flag("prepaid card, easy to drop", "postpaid", "预付费卡,易弃号", "后付费"),
    "secondary": _flag("secondary card", "primary card", "副卡", "主卡"),
    "secondary_cards": (
        "CASE WHEN v = 0 THEN 'no secondary cards tying the family in' ELSE "
        "printf('%d secondary card(s)', CAST(v AS INTEGER)) END",
        "CASE WHEN v = 0 THEN '无副卡绑定' ELSE printf('%d张副卡', CAST(v AS INTEGER)) END",
    ),
    "network_5g": _flag("on 5G", "still on 4G", "5G用户", "仍为4G用户"),
    "broadband": _flag("has broadband", "no broadband bundled", "有宽带", "未融合宽带"),
    "broadband_mbps": (
        "printf('broadband of only %d Mbit/s', CAST(v AS INTEGER))",
        "printf('宽带仅%dM', CAST(v AS INTEGER))",
    ),
    "monthly_rent_yuan": (
        "printf('plan rent %d yuan a month', CAST(round(v) AS INTEGER))",
        "printf('套餐月租%d元', CAST(round(v) AS INTEGER))",
    ),
    "arpu_yuan": (
        "printf('ARPU %d yuan a month', CAST(round(v) AS INTEGER))",
        "printf('ARPU每月%d元', CAST(round(v) AS INTEGER))",
    ),
    "bill_yuan": (
        "printf('bill of %d yuan this month', CAST(round(v) AS INTEGER))",
        "printf('本月账单%d元', CAST(round(v) AS INTEGER))",
    ),
    "bill_change": _change("bill", "账单"),
    "unpaid_bills_90d": _count("1 unpaid bill in 90 days", "%d unpaid bills in 90 days", "90天内%d笔账单未缴"),
    "value_added_dropped": _flag(
        "cancelled its value-added services", "kept its value-added services", "退订了增值业务", "保留增值业务"
    ),
    "voice_minutes": (
        "printf('only %d voice minutes this month', CAST(v AS INTEGER))",
        "printf('本月通话仅%d分钟', CAST(v AS INTEGER))",
    ),
    "voice_change": _change("voice minutes", "通话分钟数"),
    "data_mb": (
        "printf('only %d MB of data this month', CAST(v AS INTEGER))",
        "printf('本月流量仅%dMB', CAST(v AS INTEGER))",
    ),
    "data_change": _change("data use", "流量使用"),
    "sms_change": _change("SMS", "短信量"),
    "recharge_yuan": (
        "printf('topped up %d yuan this month', CAST(round(v) AS INTEGER))",
        "printf('本月充值%d元', CAST(round(v) AS INTEGER))",
    ),
    "recharge_change": _change("top-ups", "充值"),
    "days_since_recharge": (
        "printf('no top-up for %d days', CAST(v AS INTEGER))",
        "printf('%d天未充值', CAST(v AS INTEGER))",
    ),
    "complaints_30d": _count("1 complaint in 30 days", "%d complaints in 30 days", "30天内投诉%d次"),
    "unresolved_complaints_30d": _count(
        "1 unresolved complaint in 30 days", "%d unresolved complaints in 30 days", "30天内%d次投诉未解决"
    ),
    "complaints_90d": _count("1 complaint in 90 days", "%d complaints in 90 days", "90天内投诉%d次"),
    "miit_complaints_90d": _count(
        "1 complaint to the MIIT in 90 days", "%d complaints to the MIIT in 90 days", "90天内工信部申诉%d次"
    ),
    "survey_score": (
        "printf('satisfaction score %d/10 in the last survey', CAST(v AS INTEGER))",
        "printf('最近满意度评分%d/10', CAST(v AS INTEGER))",
    ),
    "portout_30d": _count(
        "asked about porting out the number in the last 30 days",
        "asked about porting out the number %d times in 30 days",
        "30天内查询携号转网%d次",
    ),
    "portout_90d": _count(
        "asked about porting out the number in the last 90 days",
        "asked about porting out the number %d times in 90 days",
        "90天内查询携号转网%d次",
    ),
    "contract_days_left": _days_left("contract", "合约"),
    "subsidy_days_left": _days_left("subsidy", "补贴"),
    "history_months": (
        "printf('new: only %d month(s) of history', CAST(v AS INTEGER))",
        "printf('新用户:仅%d个月记录', CAST(v AS INTEGER))",
    ),
    "tier_downgrades_90d": _count(
        "tier downgraded (or notice) in the last 3 months",
        "%d tier downgrades (or notices) in the last 3 months",
        "近3个月等级下降(或预警)%d次",
    ),
    "points_balance": (
        "printf('%d points in the account', CAST(v AS BIGINT))",
        "printf('积分余额%d', CAST(v AS BIGINT))",
    ),
    "points_redeemed_90d": (
        "CASE WHEN v = 0 THEN 'no points redeemed in 90 days' ELSE "
        "printf('%d points redeemed in 90 days', CAST(v AS BIGINT)) END",
        "CASE WHEN v = 0 THEN '90天内未兑换积分' ELSE printf('90天内兑换%d积分', CAST(v AS BIGINT)) END",
    ),
    "points_expiring_60d": (
        "printf('%d points expire within 60 days', CAST(v AS BIGINT))",
        "printf('%d积分将在60天内过期', CAST(v AS BIGINT))",
    ),
}
NULL_WORDS: dict[str, tuple[str, str]] = {
    "contract_days_left": ("no contract", "无合约"),
    "subsidy_days_left": ("no subsidy", "无补贴"),
    "survey_score": ("no recent satisfaction survey", "近期无满意度调查"),
    "broadband_mbps": ("no broadband", "无宽带"),
    "days_since_recharge": ("postpaid: no top-ups", "后付费"),
}


def _generic(feature: str, lang: int) -> str:
    """Words for a feature without a template (an analyst's own column): ``name = value``."""
    label = feature.replace("'", "''")
    return f"'{label} = ' || CAST(v AS VARCHAR)"


def sql(features: list[str], code: str, value: str, lang: int) -> str:
    """A CASE expression giving the words of reason ``code`` (an index into ``features``) with value
    ``value``; ``lang`` 0 = English, 1 = Chinese."""
    arms = []
    for i, f in enumerate(features):
        body = TEMPLATES.get(f, (None, None))[lang] or _generic(f, lang)
        expr = _bind(body, value)
        null = NULL_WORDS.get(f, ("missing " + f, "缺失:" + f))[lang].replace("'", "''")
        arms.append(f"WHEN {code} = {i} THEN CASE WHEN {value} IS NULL THEN '{null}' ELSE {expr} END")
    return "CASE " + " ".join(arms) + " END" if arms else "NULL"


def _bind(template: str, value: str) -> str:
    """Replace the standalone identifier ``v`` in ``template`` by ``value`` (outside quoted text)."""
    out, i, quoted = [], 0, False
    while i < len(template):
        ch = template[i]
        if ch == "'":
            quoted = not quoted
            out.append(ch)
        elif (
            not quoted
            and ch == "v"
            and (i == 0 or not (template[i - 1].isalnum() or template[i - 1] == "_"))
            and (i + 1 == len(template) or not (template[i + 1].isalnum() or template[i + 1] == "_"))
        ):
            out.append(f"({value})")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


# How a template reads its value: every template above uses ``v`` only through integer casts and roundings of
# ``v`` and comparisons of ``v`` with multiples of 0.5, except the percentage changes, which round
# ``abs(v) * 100``. Such a template gives the same words for every value in the same class below, so the words
# of ten million reasons are rendered once per class (thousands), not once per member.
_HALF_LIMIT = 2.0**50


def _class_of(kind: np.ndarray, values: np.ndarray) -> np.ndarray:
    """An integer per value such that equal integers (of the same feature) give equal words: ``kind`` 0 =
    integer casts and roundings of ``v`` (a class is an exact multiple of 0.5, or the open interval between two
    neighbouring ones: no rounding rule or comparison at a multiple of 0.5 tells its values apart); 1 = the
    percentage of ``abs(v)`` (the same classes over ``abs(v) * 100``, as the template computes it, and the sign);
    2 = any other expression, and values too large to class this way (the value itself, by its exact bits).
    Missing values are class 0 (they are told apart by their own flag)."""
    with np.errstate(invalid="ignore", over="ignore"):
        w = np.where(kind == 1, np.abs(values) * 100, values)
        exact = (kind == 2) | ~(np.abs(w) < _HALF_LIMIT)  # NaN and infinities too
        two = np.where(exact, 0.0, w * 2)
        low = np.floor(two)
        half = (low * 2 + (two != low)).astype(np.int64)  # a multiple of 0.5, or the interval above it
        half = np.where(kind == 1, half * 2 + (values < 0), half)
    bits = np.where(np.isnan(values), 0, values).view(np.int64)
    return np.where(exact, bits, half)


def _kinds(features: list[str]) -> np.ndarray:
    out = []
    for f in features:
        body = TEMPLATES.get(f)
        out.append(2 if body is None else 1 if _pct() in body[0] else 0)
    return np.array(out, dtype=np.int8)


def _dense(keys: np.ndarray) -> np.ndarray:
    """Each key's index among the distinct keys (hash-based, linear time)."""
    return pc.dictionary_encode(pa.array(keys)).indices.to_numpy()


def render(con, features: list[str], codes: np.ndarray, values: np.ndarray) -> tuple[pa.Array, pa.Array]:
    """The English and Chinese words of reasons (``codes``: index into ``features``, -1 for no reason;
    ``values``: the feature's value, NaN when missing), exactly as :func:`sql` gives them row by row: the
    distinct (feature, value class) pairs are rendered by :func:`sql` on one representative value each, and
    every row takes its pair's words."""
    n = len(codes)
    present = np.asarray(codes) >= 0
    if n == 0 or not present.any() or not features:
        empty = pa.nulls(n, pa.string())
        return empty, empty
    value = np.where(present, np.asarray(values, dtype=np.float64), np.nan)  # rows without a reason: no value
    code = np.where(present, codes, 0).astype(np.int64) * 2 + np.isnan(value)  # feature, and whether missing
    classes = _class_of(_kinds(features)[code >> 1], value)
    width = 2 * len(features)
    if int(np.abs(classes).max()) >= (1 << 62) // width:  # too wide to pack: number the classes first
        classes = _dense(classes)
    pair = _dense(classes * width + code)
    count = int(pair.max()) + 1
    rep_code, rep_value = np.empty(count, np.int64), np.empty(count, np.float64)
    rep_code[pair], rep_value[pair] = code, value  # any row of a pair will do: they all give the same words
    en, zh = [None] * count, [None] * count
    feature_of = rep_code >> 1
    for f in np.unique(feature_of):  # one feature's words at a time: no other template ever sees its values
        which = np.flatnonzero(feature_of == f)
        values_f = rep_value[which]
        con.register(
            "churn_reason_reps",
            pa.table(
                {
                    "i": pa.array(np.arange(len(which))),
                    "code": pa.array(np.zeros(len(which), np.int64)),
                    "value": pa.array(values_f, mask=np.isnan(values_f)),
                }
            ),
        )
        try:
            rows = con.execute(
                f"SELECT {sql([features[f]], 'code', 'value', 0)}, "
                f"{sql([features[f]], 'code', 'value', 1)} FROM churn_reason_reps ORDER BY i"
            ).fetchall()
        finally:
            con.unregister("churn_reason_reps")
        for j, (e, z) in zip(which.tolist(), rows):
            en[j], zh[j] = e, z
    take = pa.array(pair.astype(np.int64), mask=~present)
    return pa.array(en, pa.string()).take(take), pa.array(zh, pa.string()).take(take)
