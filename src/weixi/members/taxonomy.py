"""The operator's code lists that data and people share: complaint categories and churn reasons.

The loader accepts these codes (:mod:`weixi.members.fields`), the work pages offer the churn reasons
(:mod:`weixi.operations.outcomes`) and the synthetic operator draws from them (:mod:`weixi.generator.catalog`),
so a declined reason and a real leaver's reason compare directly.
"""

from __future__ import annotations

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
