"""Monthly activity of one chunk of members: bills, usage, recharges, complaints, surveys,
port-out inquiries.  One call per month; state that carries over months (prepaid balances)
lives in :class:`ChunkActivity`.

Pre-churn behaviour: with ``k`` the number of months until the member leaves, usage and the
spend above the monthly rent fall by ``ramp x (12%, 30%, 50%, 60%)`` for ``k = 3, 2, 1, 0``;
complaints, low survey scores and port-out inquiries (携号转网查询) rise over the same months.
Nothing is generated after the churn date.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from weixi.adapters import archive_schema as schema
from weixi.generator import catalog
from weixi.generator.archive import dates
from weixi.generator.churn import Churn
from weixi.generator.population import Population
from weixi.generator.rng import Streams, choice, normal, poisson
from weixi.generator.strings import fixed_width, take, with_nulls
from weixi.generator.window import Window

_T = "activity"
_DECLINE = {3: 0.12, 2: 0.30, 1: 0.50, 0: 0.60}
_COMPLAINT_BOOST = {3: 0.06, 2: 0.12, 1: 0.20, 0: 0.15}
# hour of day weights (0..23) for customer-initiated events
_HOURS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 6, 8, 9, 9, 8, 8, 8, 8, 8, 8, 8, 9, 10, 9, 6, 3], dtype=float)
_CST_OFFSET = 8 * 3600
SERVICE_TYPES = ["mobile", "broadband", "value_added"]


def _season(window: Window) -> dict[str, np.ndarray]:
    """Multipliers per month: Spring Festival calls, greetings and data; summer data; National Day."""
    sf = window.spring_festival_month
    month_no = np.array([d.month for d in window.month_starts])
    after_sf = np.concatenate([[False], sf[:-1]])
    return {
        "voice": 1.0 + 0.30 * sf - 0.05 * after_sf + 0.05 * (month_no == 10),
        "data": 1.0 + 0.15 * sf + 0.06 * np.isin(month_no, (7, 8)) + 0.04 * (month_no == 10),
        "sms": 1.0 + 2.0 * sf,
        "spend": 1.0 + 0.35 * sf - 0.05 * after_sf + 0.08 * (month_no == 10),
        "pack": 0.06 + 0.16 * sf + 0.03 * (month_no == 10),
    }


def _ts(seconds: np.ndarray) -> pa.Array:
    """Epoch seconds (UTC) as a timestamp column in China Standard Time."""
    return pa.array(np.asarray(seconds, dtype=np.int64) * 1000, type=pa.int64()).cast(schema.TS)


def _times(day: np.ndarray, u_hour: np.ndarray, u_sec: np.ndarray) -> pa.Array:
    hour = choice(u_hour, _HOURS)
    secs = day * 86400 + hour * 3600 + np.floor(u_sec * 3600).astype(np.int64) - _CST_OFFSET
    return _ts(secs)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions repeated ``counts`` times and the slot number (0, 1, ...) of each repeat."""
    rows = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    slot = np.arange(len(rows)) - np.repeat(starts, counts)
    return rows, slot


class ChunkActivity:
    """Activity generator for members ``pop`` (one chunk) over ``window``."""

    def __init__(self, streams: Streams, pop: Population, churn: Churn, window: Window) -> None:
        self.s, self.pop, self.churn, self.w = streams, pop, churn, window
        self.n = n = len(pop)
        self.lo = int(pop.index[0]) if n else 0
        self.member_id = fixed_width(n, ("lit", "M"), ("int", pop.index + 1, 10))
        self.number = pop.index + 1
        self.season = _season(window)
        u = streams.uniform(_T, "base", self.lo, n, 10)
        arpu_rel = pop.arpu_fen / 4600.0
        age = pop.age
        self.voice = np.exp(
            np.log(150.0) + 0.7 * normal(u[:, 0], u[:, 1]) + 0.35 * np.log(arpu_rel) + 0.006 * (age - 40)
        )
        data_median = np.where(pop.is_5g, 11000.0, 5500.0)
        self.data = np.exp(
            np.log(data_median) + 0.8 * normal(u[:, 2], u[:, 3]) + 0.5 * np.log(arpu_rel) - 0.02 * (age - 35)
        )
        self.sms = np.exp(np.log(6.0) + 0.8 * normal(u[:, 4], u[:, 5]))
        self.extra_fen = np.maximum(pop.arpu_fen - pop.rent_fen, 0).astype(np.float64)
        denoms = np.array(catalog.RECHARGE_DENOMINATIONS_FEN)
        typical = pop.arpu_fen * (0.8 + 0.9 * u[:, 6])
        self.denom = denoms[np.clip(np.searchsorted(denoms, typical), 0, len(denoms) - 1)]
        self.balance = np.floor(u[:, 7] * 6000).astype(np.int64)
        self.bb_fee = np.array([b[1] for b in catalog.BROADBAND])[pop.broadband_kind]
        self.churned = churn.month < window.months

    # ------------------------------------------------------------------ month
    def month(self, m: int) -> dict[str, pa.Table]:
        pop, churn, w, n = self.pop, self.churn, self.w, self.n
        label = w.labels[m]
        yyyymm = int(label[:4]) * 100 + int(label[5:])
        start = int(w.start_days[m])
        dim = int(w.days_in_month[m])
        end = start + dim - 1
        a = np.maximum(start, pop.join_day)
        b = np.where(self.churned & (churn.month == m), churn.day, end)
        active = (churn.month >= m) & (pop.join_day <= end) & (a <= b)
        frac = np.where(active, (b - a + 1) / dim, 0.0)
        k = churn.month - m
        decline = np.zeros(n)
        for kk, d in _DECLINE.items():
            decline = np.where(self.churned & (k == kk), d, decline)
        ramp = 1.0 - churn.ramp * decline  # 1 for members not about to leave
        in_ramp = (churn.ramp > 0) & (k >= 0) & (k <= 3)
        u = self.s.uniform(_T, "dense", self.lo, n, 20, month=m)
        sea = {key: v[m] for key, v in self.season.items()}

        # ---------------------------------------------------------- usage
        voice = self.voice * sea["voice"] * ramp * np.exp(0.25 * normal(u[:, 0], u[:, 1])) * frac
        data = self.data * sea["data"] * ramp * np.exp(0.3 * normal(u[:, 2], u[:, 3])) * frac
        sms = self.sms * sea["sms"] * np.sqrt(ramp) * np.exp(0.4 * normal(u[:, 4], u[:, 5])) * frac
        rows = np.flatnonzero(active)
        month_col = fixed_width(len(rows), ("lit", label))
        usage = pa.Table.from_pydict(
            {
                "member_id": self.member_id.take(rows),
                "month": month_col,
                "voice_minutes": pa.array(np.round(voice[rows]).astype(np.int32)),
                "data_mb": pa.array(np.round(data[rows]).astype(np.int64)),
                "sms_count": pa.array(np.round(sms[rows]).astype(np.int32)),
            },
            schema=schema.USAGE,
        )

        # ---------------------------------------------------------- bills
        extra = self.extra_fen * sea["spend"] * ramp**1.3 * np.exp(0.3 * normal(u[:, 6], u[:, 7]) - 0.045)
        pack = np.where(u[:, 8] < sea["pack"] * ramp, 1000 * (1 + np.floor(u[:, 9] * 3)), 0.0)
        mobile_fen = np.round((pop.rent_fen + extra + pack) * frac).astype(np.int64)
        vas_on = (pop.vas_fee_fen > 0) & ~(in_ramp & (u[:, 10] < 0.6 * churn.ramp * (k <= 1)))
        sf_vas = w.spring_festival_month[m] & (u[:, 10] > 0.85)  # festive ring-back tones, video passes
        vas_fen = np.round(np.where(vas_on, pop.vas_fee_fen, 0) * frac + np.where(sf_vas, 1000 * frac, 0)).astype(
            np.int64
        )
        bb_fen = np.round(np.where(pop.broadband, self.bb_fee, 0) * frac).astype(np.int64)
        p_unpaid = np.where(churn.month == m, 0.30, np.where(in_ramp, 0.06, 0.02))
        paid = pop.prepaid | (u[:, 11] >= p_unpaid)
        paid_on = np.where(pop.prepaid, end, end + 1 + np.floor(u[:, 12] * 20).astype(np.int64))
        amounts = np.stack([mobile_fen, bb_fen, vas_fen], axis=1)
        present = np.stack([active, active & pop.broadband, active & (vas_fen > 0)], axis=1)
        r, c = np.nonzero(present)
        nb = len(r)
        bills = pa.Table.from_pydict(
            {
                "bill_id": fixed_width(
                    nb, ("lit", "B"), ("int", yyyymm, 6), ("int", self.number[r], 10), ("int", c + 1, 1)
                ),
                "member_id": self.member_id.take(r),
                "month": fixed_width(nb, ("lit", label)),
                "billed_on": dates(np.full(nb, end)),
                "service_type": take(SERVICE_TYPES, c),
                "amount_fen": pa.array(amounts[r, c], type=pa.int64()),
                "paid": pa.array(paid[r]),
                "paid_on": dates(paid_on[r], ~paid[r]),
            },
            schema=schema.BILLS,
        )

        # ---------------------------------------------------------- recharges (prepaid)
        spend = np.where(pop.prepaid & active, mobile_fen + vas_fen, 0)
        deficit = spend + 1000 - self.balance
        count = np.where(deficit > 0, -(-deficit // self.denom), 0)
        count = np.where(pop.prepaid & active, np.clip(count, 0, 4), 0)
        stop = in_ramp & (k <= 1) & (u[:, 13] < 0.7)
        count = np.where(stop, 0, count)
        self.balance = self.balance + count * self.denom - spend
        rr, slot = _expand(count)
        span = (b - a + 1)[rr]
        mem = pop.index[rr]
        u_day = self.s.event(_T, "recharge-day", mem, m, slot)
        day = a[rr] + np.floor((slot + u_day) / count[rr] * span).astype(np.int64)
        nr = len(rr)
        recharges = pa.Table.from_pydict(
            {
                "recharge_id": fixed_width(
                    nr, ("lit", "R"), ("int", yyyymm, 6), ("int", self.number[rr], 10), ("int", slot, 1)
                ),
                "member_id": self.member_id.take(rr),
                "month": fixed_width(nr, ("lit", label)),
                "recharged_at": _times(
                    day, self.s.event(_T, "recharge-hour", mem, m, slot), self.s.event(_T, "recharge-sec", mem, m, slot)
                ),
                "amount_fen": pa.array(self.denom[rr], type=pa.int64()),
                "channel": take(
                    [c for c, _ in catalog.RECHARGE_CHANNELS],
                    choice(
                        self.s.event(_T, "recharge-channel", mem, m, slot), [w for _, w in catalog.RECHARGE_CHANNELS]
                    ),
                ),
            },
            schema=schema.RECHARGES,
        )

        return {
            "bills": bills,
            "usage": usage,
            "recharges": recharges,
            "complaints": self._complaints(m, label, yyyymm, a, b, active, frac, k, in_ramp, u),
            "surveys": self._surveys(m, label, yyyymm, a, b, frac, ramp, u),
            "portout_inquiries": self._portouts(m, label, yyyymm, a, b, active, k, u),
        }

    # ------------------------------------------------------------- complaints
    def _complaints(self, m, label, yyyymm, a, b, active, frac, k, in_ramp, u) -> pa.Table:
        pop, churn = self.pop, self.churn
        boost = np.zeros(self.n)
        for kk, v in _COMPLAINT_BOOST.items():
            boost = np.where(in_ramp & (k == kk), v * churn.ramp, boost)
        lam = (0.010 * np.exp(0.6 * pop.z - 0.18) * (1.0 + 0.4 * pop.broadband) + boost) * frac
        count = np.where(active, poisson(u[:, 14], lam, 3), 0).astype(np.int64)
        rr, slot = _expand(count)
        mem = pop.index[rr]
        ev = lambda f: self.s.event("complaints", f, mem, m, slot)  # noqa: E731
        day = a[rr] + np.floor(ev("day") * (b - a + 1)[rr]).astype(np.int64)
        hour = choice(ev("hour"), _HOURS)
        opened = day * 86400 + hour * 3600 + np.floor(ev("sec") * 3600).astype(np.int64) - _CST_OFFSET
        cats = catalog.COMPLAINT_CATEGORIES
        codes = [c for c, _, _ in cats]
        base_w = np.array([w for _, _, w in cats])
        no_bb_w = np.where(np.array(codes) == "broadband_fault", 0.0, base_w)
        cat = np.where(pop.broadband[rr], choice(ev("category"), base_w), choice(ev("category"), no_bb_w))
        ramp_row = in_ramp[rr]
        reason_cat = np.array([codes.index(r[2]) for r in catalog.CHURN_REASONS])
        cat = np.where(ramp_row & (ev("about-reason") < 0.6), reason_cat[np.maximum(churn.reason[rr], 0)], cat)
        chan_w = np.array([w for _, w in catalog.COMPLAINT_CHANNELS])
        chan_w_ramp = chan_w * np.array([1.0, 1.0, 1.0, 2.5])
        chan = np.where(ramp_row, choice(ev("channel"), chan_w_ramp), choice(ev("channel"), chan_w))
        hours = np.clip(np.exp(np.log(18.0) + 0.9 * normal(ev("res1"), ev("res2"))), 0.2, 720.0)
        resolved_at = opened + np.round(hours * 3600).astype(np.int64)
        snapshot_end = (self.w.last_day + 1) * 86400 - _CST_OFFSET
        resolved = (ev("resolved") < np.where(ramp_row, 0.72, 0.9)) & (resolved_at < snapshot_end)
        sat = np.clip(np.round(4.1 - 0.5 * pop.z[rr] - 1.2 * ramp_row + 0.9 * normal(ev("sat1"), ev("sat2"))), 1, 5)
        nc = len(rr)
        return pa.Table.from_pydict(
            {
                "complaint_id": fixed_width(
                    nc, ("lit", "C"), ("int", yyyymm, 6), ("int", self.number[rr], 10), ("int", slot, 1)
                ),
                "member_id": self.member_id.take(rr),
                "month": fixed_width(nc, ("lit", label)),
                "opened_at": _ts(opened),
                "category": take(codes, cat),
                "channel": take([c for c, _ in catalog.COMPLAINT_CHANNELS], chan),
                "resolved": pa.array(resolved),
                "resolved_at": with_nulls(_ts(resolved_at), ~resolved),
                "satisfaction": pa.array(sat.astype(np.int8), mask=~resolved, type=pa.int8()),
            },
            schema=schema.COMPLAINTS,
        )

    # ---------------------------------------------------------------- surveys
    def _surveys(self, m, label, yyyymm, a, b, frac, ramp, u) -> pa.Table:
        pop = self.pop
        rr = np.flatnonzero(u[:, 15] < 0.035 * frac)
        mem = pop.index[rr]
        ev = lambda f: self.s.event("surveys", f, mem, m)  # noqa: E731
        day = a[rr] + np.floor(ev("day") * (b - a + 1)[rr]).astype(np.int64)
        score = 8.0 - 1.0 * pop.z[rr] - 6.0 * (1.0 - ramp[rr]) + 1.3 * normal(ev("s1"), ev("s2"))
        ns = len(rr)
        return pa.Table.from_pydict(
            {
                "survey_id": fixed_width(ns, ("lit", "S"), ("int", yyyymm, 6), ("int", self.number[rr], 10)),
                "member_id": self.member_id.take(rr),
                "month": fixed_width(ns, ("lit", label)),
                "surveyed_at": _times(day, ev("hour"), ev("sec")),
                "channel": take(
                    [c for c, _ in catalog.SURVEY_CHANNELS],
                    choice(ev("channel"), [w for _, w in catalog.SURVEY_CHANNELS]),
                ),
                "score": pa.array(np.clip(np.round(score), 1, 10).astype(np.int8), type=pa.int8()),
            },
            schema=schema.SURVEYS,
        )

    # ------------------------------------------------------- port-out inquiries
    def _portouts(self, m, label, yyyymm, a, b, active, k, u) -> pa.Table:
        pop, churn = self.pop, self.churn
        moved = churn.reason == [r[0] for r in catalog.CHURN_REASONS].index("moved_away")
        leaving = self.churned & (churn.ramp > 0)
        p = 0.0025 * np.exp(0.5 * pop.z)
        p = np.where(leaving & (k == 2), 0.30 * np.minimum(churn.ramp, 1.0), p)
        p = np.where(leaving & (k == 1), 0.55, p)
        p = np.where(leaving & (k == 0), 0.35, p)
        p = np.where(self.churned & moved & (k == 1), 0.15, p)
        rr = np.flatnonzero(active & (u[:, 16] < p))
        mem = pop.index[rr]
        ev = lambda f: self.s.event("portout", f, mem, m)  # noqa: E731
        day = a[rr] + np.floor(ev("day") * (b - a + 1)[rr]).astype(np.int64)
        in_contract = (pop.contract_start[rr] >= 0) & (pop.contract_start[rr] <= day) & (pop.contract_end[rr] >= day)
        ni = len(rr)
        return pa.Table.from_pydict(
            {
                "inquiry_id": fixed_width(ni, ("lit", "P"), ("int", yyyymm, 6), ("int", self.number[rr], 10)),
                "member_id": self.member_id.take(rr),
                "month": fixed_width(ni, ("lit", label)),
                "inquired_at": _times(day, ev("hour"), ev("sec")),
                "channel": take(
                    [c for c, _ in catalog.PORTOUT_CHANNELS],
                    choice(ev("channel"), [w for _, w in catalog.PORTOUT_CHANNELS]),
                ),
                "eligible": pa.array(~in_contract),
            },
            schema=schema.PORTOUT_INQUIRIES,
        )
