"""The synthetic operator's product catalogue and taxonomies (plans, channels, complaint and churn reasons)."""

from __future__ import annotations

# The operator's code lists live with the members; the generator draws from them.
from weixi.members.taxonomy import CHURN_REASONS as CHURN_REASONS
from weixi.members.taxonomy import COMPLAINT_CATEGORIES as COMPLAINT_CATEGORIES

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
    ("app", 0.50),
    ("wechat_pay", 0.22),
    ("alipay", 0.13),
    ("store", 0.10),
    ("recharge_card", 0.05),
]

COMPLAINT_CHANNELS: list[tuple[str, float]] = [("hotline", 0.70), ("app", 0.15), ("store", 0.08), ("miit", 0.07)]

SURVEY_CHANNELS: list[tuple[str, float]] = [("sms", 0.55), ("ivr", 0.25), ("app", 0.20)]
PORTOUT_CHANNELS: list[tuple[str, float]] = [("sms", 0.70), ("app", 0.20), ("store", 0.10)]
