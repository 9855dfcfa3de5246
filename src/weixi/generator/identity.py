"""Mainland China identity data: mobile numbers, resident ID numbers, regions.

The two validators here (:func:`is_valid_mobile`, :func:`is_valid_id_number`)
are shared with the member loader.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from weixi.generator.rng import splitmix64
from weixi.members.fields import MOBILE_RE  # the loader's rule; the generator makes numbers that pass it

# --------------------------------------------------------------- validation
_PROVINCES = {
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
    41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82,
}  # fmt: skip
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK_CHARS = "10X98765432"


def is_valid_mobile(s: object) -> bool:
    """An 11-digit mainland mobile number with an allocated prefix (13x, 14x, 15x, 16x, 17x, 18x, 19x)."""
    return isinstance(s, str) and MOBILE_RE.match(s) is not None


def id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits of an ID number."""
    total = sum(int(c) * int(w) for c, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def id_number_birthday(s: str) -> date:
    return date(int(s[6:10]), int(s[10:12]), int(s[12:14]))


def id_number_gender(s: str) -> str:
    """``"M"`` when the 17th digit is odd, ``"F"`` when even."""
    return "M" if int(s[16]) % 2 == 1 else "F"


def is_valid_id_number(s: object, *, today: date | None = None) -> bool:
    """An 18-character PRC resident ID: known province, real birth date, correct check character."""
    if not isinstance(s, str) or len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return False
    if int(s[:2]) not in _PROVINCES:
        return False
    try:
        born = id_number_birthday(s)
    except ValueError:
        return False
    if born < date(1900, 1, 1) or born > (today or date.today()):
        return False
    return id_check_char(s[:17]) == s[17]


# ----------------------------------------------------------------- regions
# The synthetic operator serves Guangdong.  Residence: (city, district, birth-place code, weight).
RESIDENCES: list[tuple[str, str, str, float]] = [
    ("广州市", "越秀区", "440104", 1.0), ("广州市", "海珠区", "440105", 1.6), ("广州市", "天河区", "440106", 2.0),
    ("广州市", "白云区", "440111", 3.0), ("广州市", "黄埔区", "440112", 1.1), ("广州市", "番禺区", "440113", 2.3),
    ("广州市", "花都区", "440114", 1.5),
    ("深圳市", "罗湖区", "440303", 1.0), ("深圳市", "福田区", "440304", 1.5), ("深圳市", "南山区", "440305", 1.7),
    ("深圳市", "宝安区", "440306", 4.2), ("深圳市", "龙岗区", "440307", 3.6),
    ("珠海市", "香洲区", "440402", 1.2),
    ("汕头市", "龙湖区", "440507", 0.9), ("汕头市", "金平区", "440511", 0.8), ("汕头市", "潮阳区", "440513", 1.5),
    ("佛山市", "禅城区", "440604", 1.1), ("佛山市", "南海区", "440605", 2.6), ("佛山市", "顺德区", "440606", 2.7),
    ("韶关市", "浈江区", "440204", 0.8),
    ("江门市", "蓬江区", "440703", 1.0),
    ("湛江市", "赤坎区", "440802", 0.8), ("湛江市", "霞山区", "440803", 0.9),
    ("茂名市", "茂南区", "440902", 1.3),
    ("肇庆市", "端州区", "441202", 0.8),
    ("惠州市", "惠城区", "441302", 1.6), ("惠州市", "惠阳区", "441303", 1.0),
    ("梅州市", "梅江区", "441402", 0.7),
    ("汕尾市", "城区", "441502", 0.6),
    ("河源市", "源城区", "441602", 0.6), ("河源市", "紫金县", "441621", 0.5), ("河源市", "龙川县", "441622", 0.5),
    ("河源市", "东源县", "441625", 0.3),
    ("阳江市", "江城区", "441702", 0.7),
    ("清远市", "清城区", "441802", 0.9),
    ("东莞市", "南城街道", "441900", 1.4), ("东莞市", "东城街道", "441900", 1.5), ("东莞市", "虎门镇", "441900", 1.8),
    ("东莞市", "长安镇", "441900", 1.6),
    ("中山市", "石岐街道", "442000", 1.8),
    ("潮州市", "湘桥区", "445102", 0.7),
    ("揭阳市", "榕城区", "445202", 1.0),
    ("云浮市", "云城区", "445302", 0.5),
]  # fmt: skip
# Birth places of members born outside Guangdong (code, weight); their residence follows MIGRANT_CITIES.
OTHER_BIRTHPLACES: list[tuple[str, float]] = [
    ("430102", 1.0), ("430421", 2.0), ("430523", 2.0), ("450103", 1.0), ("450902", 2.5), ("510104", 1.0),
    ("511302", 2.0), ("360702", 2.0), ("420102", 1.0), ("411602", 2.0), ("410102", 1.0), ("350102", 0.8),
    ("520302", 1.5), ("500101", 1.5),
]  # fmt: skip
MIGRANT_CITIES = {"深圳市": 0.35, "广州市": 0.25, "东莞市": 0.20, "佛山市": 0.10, "惠州市": 0.05, "中山市": 0.05}
LOCAL_SHARE = 0.65  # share of members born in Guangdong


def birthplace_table() -> tuple[list[str], np.ndarray, np.ndarray]:
    """(codes, weights, residence index or -1) of birth places."""
    codes, weights, residence = [], [], []
    seen: dict[str, int] = {}
    for j, (_, _, code, w) in enumerate(RESIDENCES):
        if code in seen:
            weights[seen[code]] += w
            continue
        seen[code] = len(codes)
        codes.append(code)
        weights.append(w)
        residence.append(j)
    local = np.array(weights) / sum(weights) * LOCAL_SHARE
    other = np.array([w for _, w in OTHER_BIRTHPLACES])
    other = other / other.sum() * (1.0 - LOCAL_SHARE)
    codes += [c for c, _ in OTHER_BIRTHPLACES]
    residence += [-1] * len(OTHER_BIRTHPLACES)
    return codes, np.concatenate([local, other]), np.array(residence)


def migrant_residence_weights() -> np.ndarray:
    """Residence weights for members who live away from their birth place."""
    w = np.zeros(len(RESIDENCES))
    for j, (city, _, _, rw) in enumerate(RESIDENCES):
        w[j] = rw * MIGRANT_CITIES.get(city, 0.0)
    return w / w.sum()


# ------------------------------------------------------------------ phones
# The operator's own number blocks (most members) and, with small weight, blocks of the
# other two operators: numbers ported in (携号转网).
PHONE_PREFIXES: list[tuple[int, float]] = (
    [(p, 8.0) for p in (135, 136, 137, 138, 139)]
    + [(134, 4.0)]
    + [(p, 4.0) for p in (150, 151, 152, 157, 158, 159, 182, 183, 184, 187, 188)]
    + [(p, 2.0) for p in (195, 197, 198)]
    + [(p, 0.3) for p in (130, 131, 132, 155, 156, 185, 186, 133, 153, 180, 181, 189, 191, 199)]
)
_PHONE_SLOTS = 1000


def slot_table(weights: np.ndarray, slots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spread ``slots`` over categories by weight: (category of slot, rank of slot in category, slots per category)."""
    w = np.asarray(weights, dtype=np.float64)
    count = np.maximum(1, np.floor(w / w.sum() * slots)).astype(np.int64)
    while count.sum() > slots:
        count[np.argmax(count)] -= 1
    while count.sum() < slots:
        count[np.argmax(w / w.sum() * slots - count)] += 1
    category = np.repeat(np.arange(len(w)), count)
    rank = np.concatenate([np.arange(c) for c in count])
    return category, rank, count


def _feistel_decimal(q: np.ndarray, key: np.uint64, half: int = 10_000, rounds: int = 4) -> np.ndarray:
    """A keyed permutation of ``[0, half**2)`` (Feistel network with modular addition)."""
    left, right = q // half, q % half
    for r in range(rounds):
        round_key = np.uint64((int(key) + r) & 0xFFFFFFFFFFFFFFFF)
        f = (splitmix64(right.astype(np.uint64) ^ round_key) % np.uint64(half)).astype(np.int64)
        left, right = right, (left + f) % half
    return left * half + right


def phone_numbers(index: np.ndarray, key: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """Distinct mobile numbers for distinct member indexes: (3-digit prefix, 8-digit suffix).

    Member ``i`` gets the prefix of slot ``i mod 1000``; within a prefix the pair
    (``i div 1000``, rank of the slot) is a distinct integer, scrambled by a keyed
    permutation of the 10^8 suffixes.  Unique by construction up to ~10^9 members.
    """
    prefixes = np.array([p for p, _ in PHONE_PREFIXES])
    category, rank, count = slot_table(np.array([w for _, w in PHONE_PREFIXES]), _PHONE_SLOTS)
    slot = index % _PHONE_SLOTS
    cat = category[slot]
    q = (index // _PHONE_SLOTS) * count[cat] + rank[slot]
    if q.size and q.max() >= 10**8:
        raise ValueError("too many members for the phone number plan")
    return prefixes[cat], _feistel_decimal(q, key)


# -------------------------------------------------------------- ID numbers
def id_check_codes(digits17: np.ndarray) -> np.ndarray:
    """Check characters (as ASCII codes) for an ``(n, 17)`` matrix of digits."""
    total = (digits17.astype(np.int64) * ID_WEIGHTS).sum(axis=1) % 11
    return np.frombuffer(ID_CHECK_CHARS.encode("ascii"), dtype=np.uint8)[total]


def id_digits(area: np.ndarray, ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """``(n, 18)`` ASCII matrix of ID numbers from area code, yyyymmdd and 3-digit sequence."""
    n = len(area)
    mat = np.empty((n, 18), dtype=np.uint8)
    for col, (values, width) in enumerate(((area, 6), (ymd, 8), (seq, 3))):
        start = (0, 6, 14)[col]
        v = np.asarray(values, dtype=np.int64).copy()
        for j in range(width - 1, -1, -1):
            mat[:, start + j] = v % 10
            v //= 10
    mat[:, 17] = id_check_codes(mat[:, :17])
    mat[:, :17] += 48
    return mat
