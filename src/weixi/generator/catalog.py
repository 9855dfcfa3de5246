"""The synthetic operator's product catalogue and taxonomies (plans, channels, complaint and churn reasons)."""

from __future__ import annotations

# Mobile plans: (name, monthly rent in fen, network).
PLANS: list[tuple[str, int, str]] = [
    ("4G保号套餐8元", 800, "4G"), ("4G畅聊套餐19元", 1900, "4G"), ("4G畅享套餐29元", 2900, "4G"),
    ("4G畅享套餐39元", 3900, "4G"), ("4G畅享套餐59元", 5900, "4G"), ("4G畅享套餐79元", 7900, "4G"),
    ("4G畅享套餐99元", 9900, "4G"),
    ("5G智享套餐59元", 5900, "5G"), ("5G智享套餐79元", 7900, "5G"), ("5G智享套餐99元", 9900, "5G"),
    ("5G智享套餐129元", 12900, "5G"), ("5G智享套餐169元", 16900, "5G"), ("5G智享套餐199元", 19900, "5G"),
    ("5G智享套餐239元", 23900, "5G"), ("5G尊享套餐299元", 29900, "5G"), ("5G尊享套餐399元", 39900, "5G"),
    ("5G尊享套餐599元", 59900, "5G"),
]  # fmt: skip
SECONDARY_PLANS: list[tuple[str, int]] = [("家庭副卡(免月租)", 0), ("家庭副卡10元", 1000)]

# Broadband: (speed Mbit/s, monthly fee in fen, weight)
BROADBAND: list[tuple[int, int, float]] = [(100, 5000, 0.25), (300, 8000, 0.45), (1000, 12000, 0.30)]

# Value-added subscriptions (video memberships, ring-back tones, cloud storage...) in fen per month.
VALUE_ADDED_FEES = [500, 1000, 1500, 1990, 2500, 3000]

RECHARGE_DENOMINATIONS_FEN = [3000, 5000, 10000, 20000, 30000]
RECHARGE_CHANNELS: list[tuple[str, float]] = [
    ("app", 0.50), ("wechat_pay", 0.22), ("alipay", 0.13), ("store", 0.10), ("recharge_card", 0.05)
]

# Complaint categories (code, Chinese label, base weight).  The first six are the churn reasons of
# seed 002 (呼叫转移漫游费、垃圾短信、机卡分离合约返费…); the rest are the usual complaint mix.
COMPLAINT_CATEGORIES: list[tuple[str, str, float]] = [
    ("roaming_call_forwarding", "漫游呼转收费", 0.06),
    ("spam_sms", "垃圾短信", 0.12),
    ("contract_rebate_withheld", "机卡分离合约返费未到账", 0.07),
    ("network_quality", "网络质量/信号差", 0.22),
    ("price", "资费价格", 0.12),
    ("service_attitude", "服务态度", 0.08),
    ("billing_dispute", "账单争议/乱扣费", 0.18),
    ("broadband_fault", "宽带故障", 0.10),
    ("other", "其他", 0.05),
]
COMPLAINT_CHANNELS: list[tuple[str, float]] = [("hotline", 0.70), ("app", 0.15), ("store", 0.08), ("miit", 0.07)]

# Churn reasons (code, Chinese label) and the complaint category a dissatisfied leaver complains about.
CHURN_REASONS: list[tuple[str, str, str]] = [
    ("competitor_offer", "竞争对手优惠", "price"),
    ("price", "资费贵", "price"),
    ("network_quality", "网络质量差", "network_quality"),
    ("moved_away", "迁居外地", "other"),
    ("contract_rebate_withheld", "机卡分离返费扣留", "contract_rebate_withheld"),
    ("roaming_call_forwarding", "漫游呼转收费", "roaming_call_forwarding"),
    ("spam_sms", "垃圾短信", "spam_sms"),
    ("service_attitude", "服务质量", "service_attitude"),
]

SURVEY_CHANNELS: list[tuple[str, float]] = [("sms", 0.55), ("ivr", 0.25), ("app", 0.20)]
PORTOUT_CHANNELS: list[tuple[str, float]] = [("sms", 0.70), ("app", 0.20), ("store", 0.10)]
