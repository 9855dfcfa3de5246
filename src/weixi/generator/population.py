"""Who the members are: static attributes of members ``[lo, hi)``, vectorised.

Every attribute is a pure function of (seed, member index, population size, window):
see :mod:`weixi.generator.rng`.  Secondary cards (副卡) point at a primary card among
the ``FAMILY_WINDOW`` members just before them, so a chunk computes attributes for
that many extra members in front of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from weixi.generator import catalog, identity, names
from weixi.generator.rng import Streams, choice, normal, permute_index
from weixi.generator.window import Window, add_months_days

FAMILY_WINDOW = 8
MANAGER_RATIO = 2000  # members per customer manager
_AREA_SLOTS = 1000
_T = "members"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@lru_cache(maxsize=8)
def _birthday_layout(n_total: int, as_of: int) -> tuple[np.ndarray, np.ndarray]:
    """Birth days (ages 16-85 on ``as_of``) and the first age rank that falls on each day."""
    days = np.arange(as_of - int(86 * 365.2425) + 1, as_of - int(16 * 365.2425) + 1, dtype=np.int64)
    age = (as_of - days) / 365.2425
    # two humps: the 1990s-born digital natives and the 1970s-born working generation
    young = np.exp(-0.5 * ((age - 33.0) / 9.0) ** 2) / 9.0
    older = np.exp(-0.5 * ((age - 52.0) / 11.0) ** 2) / 11.0
    pdf = 0.55 * young + 0.45 * older
    cdf = np.concatenate([[0.0], np.cumsum(pdf) / pdf.sum()])
    first_rank = np.round(cdf * n_total).astype(np.int64)  # len(days) + 1, first_rank[-1] == n_total
    return days, first_rank


@dataclass
class Population:
    """Column arrays for members ``lo .. hi-1`` (index = global member index, 0-based)."""

    index: np.ndarray
    male: np.ndarray
    birth_day: np.ndarray
    id_area: np.ndarray
    id_seq: np.ndarray
    residence: np.ndarray
    local: np.ndarray
    age: np.ndarray
    occupation: np.ndarray
    income: np.ndarray
    join_day: np.ndarray
    arpu_fen: np.ndarray
    prepaid: np.ndarray
    is_5g: np.ndarray
    plan: np.ndarray  # index into catalog.PLANS, or -1 - index into SECONDARY_PLANS
    rent_fen: np.ndarray
    secondary: np.ndarray
    primary_index: np.ndarray  # -1 for primary cards
    broadband: np.ndarray
    broadband_kind: np.ndarray
    contract_start: np.ndarray  # -1 = none (all contracts start after 1970)
    contract_end: np.ndarray
    subsidy_end: np.ndarray
    manager: np.ndarray
    vas_fee_fen: np.ndarray
    z: np.ndarray  # latent dissatisfaction, standard normal
    surname_from: np.ndarray  # member index whose surname this member carries

    def take(self, sel: slice | np.ndarray) -> Population:
        return Population(**{k: v[sel] for k, v in self.__dict__.items()})

    def __len__(self) -> int:
        return len(self.index)


def base_population(streams: Streams, n_total: int, window: Window, lo: int, hi: int) -> Population:
    """Attributes of members ``[lo, hi)`` before secondary cards are attached to primaries."""
    n = hi - lo
    idx = np.arange(lo, hi, dtype=np.int64)
    u = streams.uniform(_T, "base", lo, n, 24)
    as_of = window.last_day

    # --- birthday, ID birth place and ID sequence: unique ID numbers by construction
    days, first_rank = _birthday_layout(n_total, as_of)
    rank = permute_index(idx, n_total, streams.hash_key("age-rank"))
    day_pos = np.searchsorted(first_rank, rank, side="right") - 1
    birth_day = days[day_pos]
    within = rank - first_rank[day_pos]
    codes, area_weights, area_residence = identity.birthplace_table()
    category, slot_rank, slot_count = identity.slot_table(area_weights, _AREA_SLOTS)
    day_offset = (birth_day * 7919 + 104729) % _AREA_SLOTS
    slot = ((within % _AREA_SLOTS) * 617 + day_offset) % _AREA_SLOTS
    area_cat = category[slot]
    k = (within // _AREA_SLOTS) * slot_count[area_cat] + slot_rank[slot]
    if k.size and k.max() > 498:
        raise ValueError("population too large for unique synthetic ID numbers (limit ~100 million)")
    male = u[:, 0] < 0.51
    id_seq = 2 * k + np.where(male, 1, 2)
    id_area = np.array([int(c) for c in codes], dtype=np.int64)[area_cat]

    # --- residence
    local = area_residence[area_cat] >= 0
    moved = u[:, 1] < 0.2
    migrant_res = choice(u[:, 2], identity.migrant_residence_weights())
    residence = np.where(local & ~moved, area_residence[area_cat], migrant_res)
    age = (as_of - birth_day) / 365.2425

    # --- occupation and income
    occ_w = np.array([o[3] for o in names.OCCUPATIONS], dtype=np.float64)
    lo_age = np.array([o[1] for o in names.OCCUPATIONS])
    hi_age = np.array([o[2] for o in names.OCCUPATIONS])
    allowed = (age[:, None] >= lo_age[None, :]) & (age[:, None] <= hi_age[None, :])
    w = allowed * occ_w[None, :]
    w[:, -1] += 1e-9  # always something
    cum = np.cumsum(w, axis=1)
    occupation = (cum < (u[:, 3] * cum[:, -1])[:, None]).sum(axis=1).astype(np.int32)
    occ_level = np.array([o[4] for o in names.OCCUPATIONS])[occupation]
    n1 = normal(u[:, 4], u[:, 5])
    income = np.clip(np.round(occ_level + 0.9 * n1), 0, 5).astype(np.int32)

    # --- ARPU: log-normal with a long tail
    n2 = normal(u[:, 6], u[:, 7])
    log_arpu = (
        np.log(46.0)
        + 0.55 * n2
        + 0.12 * (income - 2)
        - 0.25 * (age > 62)
        - 0.15 * (age < 22)
        + 0.08 * ((age >= 28) & (age <= 45))
    )
    arpu = np.clip(np.exp(log_arpu), 8.0, 3000.0)
    # a thin very-high tail: business travellers, heavy roamers
    arpu = np.where(u[:, 8] < 0.01, arpu * (3.0 + 6.0 * u[:, 9]), arpu)
    arpu_fen = np.round(arpu * 100).astype(np.int64)

    prepaid = u[:, 10] < _sigmoid(-0.9 - 1.0 * np.log(arpu / 46.0) + 0.8 * (age < 24) + 0.6 * (age > 62) + 0.5 * ~local)
    is_5g = u[:, 11] < _sigmoid(0.25 + 1.6 * np.log(arpu / 46.0) - 0.04 * (age - 38.0))

    # --- plan: the largest plan of the member's network that the ARPU covers
    rents = np.array([p[1] for p in catalog.PLANS])
    nets_5g = np.array([p[2] == "5G" for p in catalog.PLANS])
    target = arpu_fen * (0.70 + 0.28 * u[:, 12])
    ok = (rents[None, :] <= target[:, None]) & (nets_5g[None, :] == is_5g[:, None])
    cheapest = np.where(is_5g, int(np.argmax(nets_5g)), 0)
    last_ok = np.where(ok.any(axis=1), ok.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), cheapest)
    plan = last_ok.astype(np.int32)
    rent_fen = rents[plan].astype(np.int64)

    # --- tenure
    joined_in_window = u[:, 13] < min(0.5, 0.017 * window.months)  # gross adds ~ churn
    tenure_days = np.minimum(-np.log1p(-u[:, 14]) * 6.0 * 365.25, (age - 16.0) * 365.25)
    join_day = np.where(
        joined_in_window,
        window.first_day + np.floor(u[:, 15] * (window.last_day - window.first_day + 1)).astype(np.int64),
        window.first_day - 1 - np.floor(tenure_days).astype(np.int64),
    )
    join_day = np.maximum(join_day, 9131)  # not before 1995-01-01

    # --- broadband (fixed-line bundle), contracts and subsidies: postpaid only
    broadband = ~prepaid & (u[:, 16] < _sigmoid(-0.6 + 0.6 * np.log(arpu / 46.0) + 0.5 * (age > 28)))
    broadband_kind = choice(u[:, 17], [b[2] for b in catalog.BROADBAND])
    contract = ~prepaid & (u[:, 18] < _sigmoid(-0.3 + 0.8 * np.log(arpu / 46.0) + 0.5 * is_5g))
    lo_start = window.first_day - 900
    c_start = lo_start + np.floor(u[:, 19] * (window.last_day - 30 - lo_start)).astype(np.int64)
    c_start = np.maximum(c_start, join_day)
    term = np.where(u[:, 20] < 0.55, 24, np.where(u[:, 20] < 0.95, 12, 36))
    c_end = add_months_days(c_start, term) - 1
    subsidy_kind = u[:, 21]
    subsidy_end = np.where(
        subsidy_kind < 0.45, c_end, np.where(subsidy_kind < 0.57, add_months_days(c_start, np.full(n, 12)) - 1, -1)
    )
    contract_start = np.where(contract, c_start, -1)
    contract_end = np.where(contract, c_end, -1)
    subsidy_end = np.where(contract, subsidy_end, -1)

    # --- customer manager, by city
    manager = _managers(n_total, residence, u[:, 22])
    vas_fee = np.array(catalog.VALUE_ADDED_FEES)[choice(u[:, 23], [3, 3, 2, 2, 1, 1])]
    has_vas = streams.u1(_T, "vas", lo, n) < _sigmoid(-0.8 + 0.6 * (age < 35) + 0.3 * np.log(arpu / 46.0))
    z = normal(*streams.uniform(_T, "latent", lo, n, 2).T)

    return Population(
        index=idx,
        male=male,
        birth_day=birth_day,
        id_area=id_area,
        id_seq=id_seq,
        residence=residence.astype(np.int32),
        local=local,
        age=age,
        occupation=occupation,
        income=income,
        join_day=join_day,
        arpu_fen=arpu_fen,
        prepaid=prepaid,
        is_5g=is_5g,
        plan=plan,
        rent_fen=rent_fen,
        secondary=np.zeros(n, dtype=bool),
        primary_index=np.full(n, -1, dtype=np.int64),
        broadband=broadband,
        broadband_kind=broadband_kind,
        contract_start=contract_start,
        contract_end=contract_end,
        subsidy_end=subsidy_end,
        manager=manager,
        vas_fee_fen=np.where(has_vas, vas_fee, 0),
        z=z,
        surname_from=idx.copy(),
    )


def manager_count(n_total: int) -> int:
    return max(1, -(-n_total // MANAGER_RATIO))


def _managers(n_total: int, residence: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Customer managers are allotted to cities by city size; a member gets one of their city's."""
    count = manager_count(n_total)
    cities = sorted({r[0] for r in identity.RESIDENCES})
    city_of = np.array([cities.index(r[0]) for r in identity.RESIDENCES])
    weight = np.zeros(len(cities))
    np.add.at(weight, city_of, [r[3] for r in identity.RESIDENCES])
    cum = np.concatenate([[0.0], np.cumsum(weight) / weight.sum()])
    first = np.minimum(np.floor(cum[:-1] * count).astype(np.int64), count - 1)
    last = np.maximum(np.floor(cum[1:] * count).astype(np.int64), first + 1)
    c = city_of[residence]
    return np.minimum(first[c] + np.floor(u * (last[c] - first[c])).astype(np.int64), count - 1)


def attach_secondaries(streams: Streams, pop: Population, lo: int) -> Population:
    """Turn some members into secondary cards (副卡) of a postpaid primary just before them.

    ``pop`` covers ``[lo - FAMILY_WINDOW, hi)`` (clipped at 0); the returned population covers
    ``[lo, hi)``.  A member is a candidate with probability 17%; a non-candidate is always a
    primary, so the choice never depends on where a chunk starts.
    """
    first = int(pop.index[0])
    n = len(pop)
    candidate = streams.u1(_T, "secondary", first, n) < 0.17
    u = streams.uniform(_T, "family", first, n, 4)
    off = lo - first
    primary = np.full(n, -1, dtype=np.int64)
    for d in range(1, FAMILY_WINDOW + 1):
        j = np.arange(n) - d
        ok = (j >= 0) & (primary < 0)
        jj = np.clip(j, 0, None)
        ok &= ~candidate[jj] & ~pop.prepaid[jj]
        primary = np.where(ok, jj, primary)
    secondary = candidate & (primary >= 0)
    out = pop.take(slice(off, None))
    sec = secondary[off:]
    prim = primary[off:]
    p = np.where(sec, prim, 0)
    us = u[off:]
    out.secondary = sec
    out.primary_index = np.where(sec, pop.index[p], -1)
    out.prepaid = np.where(sec, False, out.prepaid)
    out.broadband = out.broadband & ~sec
    out.contract_start = np.where(sec, -1, out.contract_start)
    out.contract_end = np.where(sec, -1, out.contract_end)
    out.subsidy_end = np.where(sec, -1, out.subsidy_end)
    out.residence = np.where(sec, pop.residence[p], out.residence)
    out.manager = np.where(sec, pop.manager[p], out.manager)
    sec_plan = (us[:, 0] < 0.4).astype(np.int32)  # 0: free, 1: 10 yuan
    out.plan = np.where(sec, -1 - sec_plan, out.plan)
    out.rent_fen = np.where(sec, np.array([r for _, r in catalog.SECONDARY_PLANS])[sec_plan], out.rent_fen)
    small = np.round(np.exp(np.log(12.0) + 0.6 * normal(us[:, 1], us[:, 2])) * 100).astype(np.int64)
    out.arpu_fen = np.where(sec, small + out.rent_fen, out.arpu_fen)
    out.is_5g = np.where(sec, pop.is_5g[p] | out.is_5g, out.is_5g)
    out.surname_from = np.where(sec & (us[:, 3] < 0.5), pop.index[p], out.surname_from)
    # a secondary card joins no earlier than its primary
    out.join_day = np.where(sec, np.maximum(out.join_day, pop.join_day[p]), out.join_day)
    return out
