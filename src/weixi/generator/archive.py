"""The member archive (客户档案) and the churn ground truth as Arrow tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from weixi.adapters import archive_schema as schema
from weixi.generator import catalog, identity, names
from weixi.generator.churn import Churn
from weixi.generator.population import Population, manager_count
from weixi.generator.rng import Streams, choice, splitmix64
from weixi.generator.strings import concat, fixed_width, take, with_nulls
from weixi.generator.window import Window
from weixi.members import lunar

_T = "members"
_ALNUM = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)


def member_ids(index: np.ndarray) -> pa.StringArray:
    """``M`` + the 1-based member number on 10 digits."""
    return fixed_width(len(index), ("lit", "M"), ("int", np.asarray(index) + 1, 10))


def dates(days: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(np.asarray(days, dtype=np.int32), type=pa.int32()).cast(pa.date32())
    return with_nulls(arr, null) if null is not None else arr


def _ymd(days: np.ndarray) -> np.ndarray:
    dt = days.astype("datetime64[D]")
    y = dt.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dt - dt.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    return y * 10000 + m * 100 + d


_LUNAR_TEXT = [lunar.format_lunar(m, d, leap) for leap in (False, True) for m in range(1, 13) for d in range(1, 31)]


def _names(streams: Streams, pop: Population, first: int, hi: int) -> pa.Array:
    n_all = hi - first
    su = streams.u1(_T, "surname", first, n_all)
    surname_all = choice(su, [w for _, w in names.SURNAMES])
    surname = surname_all[pop.surname_from - first]
    n = len(pop)
    u = streams.uniform(_T, "given", pop.index[0] if n else 0, n, 3)
    male_pool = names.GIVEN_MALE + names.GIVEN_SHARED
    female_pool = names.GIVEN_FEMALE + names.GIVEN_SHARED
    pool = male_pool + female_pool + [""]
    size = np.where(pop.male, len(male_pool), len(female_pool))
    base = np.where(pop.male, 0, len(male_pool))
    g1 = base + np.floor(u[:, 0] * size).astype(np.int64)
    g2 = base + np.floor(u[:, 1] * size).astype(np.int64)
    g2 = np.where(u[:, 2] < 0.22, len(pool) - 1, g2)  # one-character given names
    return concat(take([s for s, _ in names.SURNAMES], surname), take(pool, g1), take(pool, g2))


def members_table(streams: Streams, pop: Population, first: int, hi: int, n_total: int) -> pa.Table:
    """``pop`` covers ``[lo, hi)``; ``first`` is where the family window started (for surnames)."""
    n = len(pop)
    lo = int(pop.index[0]) if n else hi
    u = streams.uniform(_T, "archive", lo, n, 12)
    prefix, suffix = identity.phone_numbers(pop.index, streams.hash_key("phone"))
    id_mat = identity.id_digits(pop.id_area, _ymd(pop.birth_day), pop.id_seq)

    ly, lm, ld, leap = lunar.lunar_dates(pop.birth_day)
    lunar_idx = (leap.astype(np.int64) * 12 + lm - 1) * 30 + ld - 1
    cities = [r[0] for r in identity.RESIDENCES]
    districts = [r[1] for r in identity.RESIDENCES]
    plans = [p[0] for p in catalog.PLANS] + [p[0] for p in catalog.SECONDARY_PLANS]
    plan_idx = np.where(pop.plan >= 0, pop.plan, len(catalog.PLANS) + (-1 - pop.plan))

    # second contact: some relative's number on any operator
    all_prefixes = np.array([p for p, _ in identity.PHONE_PREFIXES])
    sc_prefix = all_prefixes[np.floor(u[:, 1] * len(all_prefixes)).astype(np.int64)]
    sc_suffix = np.floor(u[:, 2] * 10**8).astype(np.int64)
    second_contact = with_nulls(fixed_width(n, ("int", sc_prefix, 3), ("int", sc_suffix, 8)), u[:, 0] >= 0.2)

    # WeChat: auto-generated ids (wxid_ + 12 characters); QQ numbers of 5-10 digits
    h = splitmix64(pop.index.astype(np.uint64) ^ streams.hash_key("wechat"))
    chars = np.empty((n, 12), dtype=np.uint8)
    for j in range(12):
        chars[:, j] = _ALNUM[(h % np.uint64(36)).astype(np.int64)]
        h //= np.uint64(36)
    wechat = with_nulls(fixed_width(n, ("lit", "wxid_"), ("bytes", chars)), u[:, 3] >= 0.45 - 0.25 * (pop.age > 65))
    qq_num = np.floor(10 ** (4.3 + 5.2 * u[:, 5])).astype(np.int64)
    qq = with_nulls(pc.cast(pa.array(qq_num), pa.string()), u[:, 4] >= 0.25)

    hob = np.floor(u[:, 7:10] * len(names.HOBBIES)).astype(np.int64)
    h1, h2, h3 = (take(names.HOBBIES, hob[:, j]) for j in range(3))
    sep = pa.array(["、"] * n, type=pa.string()) if n else pa.array([], type=pa.string())
    count = np.where(u[:, 10] < 0.5, 1, np.where(u[:, 10] < 0.85, 2, 3))
    count = np.where(hob[:, 1] == hob[:, 0], 1, count)
    count = np.where((count == 3) & ((hob[:, 2] == hob[:, 0]) | (hob[:, 2] == hob[:, 1])), 2, count)
    hobbies = pc.if_else(pa.array(count >= 2), concat(h1, sep, h2), h1)
    hobbies = pc.if_else(pa.array(count >= 3), concat(hobbies, sep, h3), hobbies)
    hobbies = with_nulls(hobbies, u[:, 6] >= 0.4)

    width = max(4, len(str(manager_count(n_total))))
    bb_speed = np.array([b[0] for b in catalog.BROADBAND], dtype=np.int32)[pop.broadband_kind]
    columns = {
        "member_id": member_ids(pop.index),
        "name": _names(streams, pop, first, hi),
        "gender": take(["F", "M"], pop.male.astype(np.int64)),
        "birthday": dates(pop.birth_day),
        "lunar_birthday": take(_LUNAR_TEXT, lunar_idx, mask=u[:, 11] >= 0.3),
        "phone": fixed_width(n, ("int", prefix, 3), ("int", suffix, 8)),
        "second_contact": second_contact,
        "id_number": fixed_width(n, ("bytes", id_mat)),
        "city": take(cities, pop.residence),
        "district": take(districts, pop.residence),
        "join_date": dates(pop.join_day),
        "plan_name": take(plans, plan_idx),
        "monthly_rent_fen": pa.array(pop.rent_fen, type=pa.int64()),
        "payment_type": take(["postpaid", "prepaid"], pop.prepaid.astype(np.int64)),
        "card_role": take(["primary", "secondary"], pop.secondary.astype(np.int64)),
        "primary_member_id": with_nulls(member_ids(np.maximum(pop.primary_index, 0)), ~pop.secondary),
        "network": take(["4G", "5G"], pop.is_5g.astype(np.int64)),
        "broadband": pa.array(pop.broadband),
        "broadband_mbps": pa.array(bb_speed, mask=~pop.broadband, type=pa.int32()),
        "contract_start": dates(pop.contract_start, pop.contract_start < 0),
        "contract_end": dates(pop.contract_end, pop.contract_end < 0),
        "subsidy_end": dates(pop.subsidy_end, pop.subsidy_end < 0),
        "manager_id": fixed_width(n, ("lit", "E"), ("int", pop.manager + 1, width)),
        "wechat": wechat,
        "qq": qq,
        "income_band": take(names.INCOME_BANDS, pop.income),
        "occupation": take([o[0] for o in names.OCCUPATIONS], pop.occupation),
        "hobbies": hobbies,
    }
    return pa.Table.from_pydict(columns, schema=schema.MEMBERS)


def churn_table(pop: Population, churn: Churn, window: Window) -> pa.Table:
    churned = churn.month < window.months
    cm = np.minimum(churn.month, window.months - 1)
    return pa.Table.from_pydict(
        {
            "member_id": member_ids(pop.index),
            "churned": pa.array(churned),
            "churn_month": take(window.labels, cm, mask=~churned),
            "churn_date": dates(np.maximum(churn.day, 0), ~churned),
            "churn_reason": take([r[0] for r in catalog.CHURN_REASONS], np.maximum(churn.reason, 0), mask=~churned),
        },
        schema=schema.CHURN_LABELS,
    )
