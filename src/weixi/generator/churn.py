"""Who leaves, when and why: the ground truth behind ``churn_labels``.

A discrete-time hazard model, one draw per member and month.  The monthly hazard
rises with short tenure, prepaid payment, low ARPU, a high latent dissatisfaction
(which also drives complaints and low survey scores), the months right after a
contract ends, and, for members born outside the province, the month after
Spring Festival; broadband bundles, 5G and running contracts hold members.
Secondary cards leave with their primary.  A churner's *ramp strength* says how
strongly usage and spending fall (and complaints and port-out inquiries rise) in
the three months before leaving; "abrupt" leavers (e.g. moved away) have none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weixi.generator import catalog
from weixi.generator.population import Population
from weixi.generator.rng import Streams, choice_rows
from weixi.generator.window import Window

_T = "churn"
BASE_LOGIT = -4.25  # calibrated for ~2% of members leaving a month


@dataclass
class Churn:
    month: np.ndarray  # month index of leaving; ``months`` when the member stays
    day: np.ndarray  # day number of the last day of service (-1 when staying)
    reason: np.ndarray  # index into catalog.CHURN_REASONS (-1 when staying)
    ramp: np.ndarray  # 0 = abrupt; otherwise strength of the pre-churn decline (0.6 .. 1.2)

    def take(self, sel) -> Churn:
        return Churn(self.month[sel], self.day[sel], self.reason[sel], self.ramp[sel])


def simulate(streams: Streams, pop: Population, window: Window) -> Churn:
    n, months = len(pop), window.months
    first = int(pop.index[0]) if n else 0
    u = streams.uniform(_T, "hazard", first, n, months)
    ud = streams.uniform(_T, "detail", first, n, 4)
    log_arpu = np.log(pop.arpu_fen / 4600.0)
    static = (
        BASE_LOGIT
        + 0.45 * pop.prepaid
        - 0.8 * pop.broadband
        - 0.25 * pop.is_5g
        - 0.3 * np.clip(log_arpu, -2.0, 2.0)
        + 0.55 * pop.z
        - 0.6 * pop.secondary
    )
    join_month = window.month_of_day(pop.join_day)
    sf_after = np.concatenate([[False], window.spring_festival_month[:-1]])
    churn_month = np.full(n, months, dtype=np.int64)
    has_contract = pop.contract_end >= 0
    for m in range(months):
        start = window.start_days[m]
        end = start + window.days_in_month[m] - 1
        tenure = (start - pop.join_day) / 30.44
        logit = static + 0.9 * (tenure < 12) + 0.4 * ((tenure >= 12) & (tenure < 24))
        in_contract = has_contract & (pop.contract_start <= start) & (pop.contract_end >= end)
        ended = has_contract & (pop.contract_end < end) & (pop.contract_end >= start - 75)
        logit = logit - 1.0 * in_contract + 1.1 * ended
        if sf_after[m]:
            logit = logit + 0.7 * ~pop.local
        at_risk = (churn_month == months) & (join_month < m)
        leave = at_risk & (u[:, m] < 1.0 / (1.0 + np.exp(-logit)))
        churn_month = np.where(leave, m, churn_month)
    churned = churn_month < months
    cm = np.minimum(churn_month, months - 1)
    day = window.start_days[cm] + np.floor(ud[:, 0] * window.days_in_month[cm]).astype(np.int64)
    day = np.where(churned, np.maximum(day, pop.join_day), -1)

    # reason: weights per member from what drove the hazard
    reasons = [r[0] for r in catalog.CHURN_REASONS]
    w = np.empty((n, len(reasons)))
    recently_ended = has_contract & (pop.contract_end < window.last_day)
    after_sf = sf_after[cm] & ~pop.local
    w[:, reasons.index("competitor_offer")] = 0.25 + 0.35 * recently_ended
    w[:, reasons.index("price")] = 0.15 + 0.2 * (log_arpu < -0.4)
    w[:, reasons.index("network_quality")] = 0.15 + 0.05 * pop.broadband
    w[:, reasons.index("moved_away")] = 0.08 + 0.6 * after_sf + 0.05 * ~pop.local
    w[:, reasons.index("contract_rebate_withheld")] = 0.02 + 0.15 * (pop.subsidy_end >= 0)
    w[:, reasons.index("roaming_call_forwarding")] = 0.03 + 0.05 * ~pop.local
    w[:, reasons.index("spam_sms")] = 0.06
    w[:, reasons.index("service_attitude")] = 0.06 + 0.06 * (pop.z > 1.0)
    reason = np.where(churned, choice_rows(ud[:, 1], w), -1)
    abrupt = (reason == reasons.index("moved_away")) | (ud[:, 2] < 0.2)
    ramp = np.where(churned & ~abrupt, 0.6 + 0.6 * ud[:, 3], 0.0)
    return Churn(churn_month, day, reason.astype(np.int32), ramp)


def follow_primaries(pop: Population, churn: Churn, window_pop_index: np.ndarray, window_churn: Churn) -> Churn:
    """Secondary cards leave no later than their primary (the family account goes)."""
    out = Churn(churn.month.copy(), churn.day.copy(), churn.reason.copy(), churn.ramp.copy())
    sec = pop.secondary
    if not sec.any():
        return out
    pos = np.searchsorted(window_pop_index, np.where(sec, pop.primary_index, window_pop_index[0]))
    earlier = sec & (window_churn.month[pos] < out.month) & (window_churn.day[pos] >= pop.join_day)
    out.month = np.where(earlier, window_churn.month[pos], out.month)
    out.day = np.where(earlier, window_churn.day[pos], out.day)
    out.reason = np.where(earlier, window_churn.reason[pos], out.reason)
    out.ramp = np.where(earlier, 0.5 * window_churn.ramp[pos], out.ramp)
    return out
