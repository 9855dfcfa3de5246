"""Did it work? Treated against control on the month's target lists, and an uplift model.

Outcomes are read from the archive for the :data:`HORIZON_MONTHS` months after the list's month: churned
(churn date within them) and revenue (the members' bills in them, integer fen). The comparison is by intent
to treat — the treatment group is everyone assigned to be called — so it is unbiased whatever share of calls
got through. Lift = control churn rate − treated churn rate (percentage points saved), with a 95% Wald
interval; revenue difference per member with a 95% Welch interval. Money is reported in yuan as exact
decimals of the integer fen totals; only the rates, intervals and means are floats.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

Z95 = 1.959963984540054


def rate_lift(treated: np.ndarray, control: np.ndarray) -> dict:
    """Churn rates of two 0/1 arrays and the lift (control − treated) with a 95% interval."""
    nt, nc = len(treated), len(control)
    pt = float(treated.mean()) if nt else None
    pc = float(control.mean()) if nc else None
    out = {"treated": nt, "control": nc, "churn_rate_treated": pt, "churn_rate_control": pc}
    if nt == 0 or nc == 0:
        return {**out, "lift": None, "lift_ci95": None, "relative_lift": None, "significant": False}
    lift = pc - pt
    se = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
    lo, hi = lift - Z95 * se, lift + Z95 * se
    return {
        **out,
        "lift": lift,
        "lift_ci95": [lo, hi],
        "relative_lift": lift / pc if pc > 0 else None,
        "significant": bool(lo > 0 or hi < 0),
        "saved_per_1000_treated": round(lift * 1000, 1),
    }


def revenue_diff(treated_fen: np.ndarray, control_fen: np.ndarray) -> dict:
    """Mean revenue per member (yuan) in each group and the difference with a 95% Welch interval."""
    nt, nc = len(treated_fen), len(control_fen)
    out = {
        "revenue_treated_yuan": str(Decimal(int(treated_fen.sum())) / 100),
        "revenue_control_yuan": str(Decimal(int(control_fen.sum())) / 100),
    }
    if nt < 2 or nc < 2:
        return {**out, "revenue_per_member_diff_yuan": None, "revenue_diff_ci95_yuan": None}
    mt, mc = treated_fen.mean() / 100, control_fen.mean() / 100
    se = math.sqrt(treated_fen.var(ddof=1) / 1e4 / nt + control_fen.var(ddof=1) / 1e4 / nc)
    diff = mt - mc
    return {
        **out,
        "revenue_per_member_treated_yuan": round(float(mt), 2),
        "revenue_per_member_control_yuan": round(float(mc), 2),
        "revenue_per_member_diff_yuan": round(float(diff), 2),
        "revenue_diff_ci95_yuan": [round(float(diff - Z95 * se), 2), round(float(diff + Z95 * se), 2)],
    }


def compare(group: np.ndarray, churned: np.ndarray, revenue_fen: np.ndarray) -> dict:
    """``group``: 'treatment'/'control' per member; ``churned`` 0/1; ``revenue_fen`` int64."""
    t, c = group == "treatment", group == "control"
    return {**rate_lift(churned[t], churned[c]), **revenue_diff(revenue_fen[t], revenue_fen[c])}
