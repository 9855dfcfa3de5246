"""Key accounts 钻石/黄金/白银/青铜: the first level whose every condition holds."""

from __future__ import annotations

import ibis

from weixi.plans.model import KeyAccounts


def key_account(spend: ibis.Value, active_months: ibis.Value, tenure: ibis.Value, config: KeyAccounts) -> ibis.Value:
    branches = []
    for level in config.levels:
        cond = ibis.literal(True)
        if level.min_spend_fen is not None:
            cond &= spend >= level.min_spend_fen
        if level.min_active_months is not None:
            cond &= active_months >= level.min_active_months
        if level.min_tenure_years is not None:
            cond &= tenure >= level.min_tenure_years
        branches.append((cond, level.id))
    return ibis.cases(*branches, else_=ibis.null("string"))
