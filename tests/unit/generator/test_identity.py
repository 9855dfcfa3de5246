"""Mobile numbers and resident ID numbers: validators, check digits, uniqueness by construction."""

from __future__ import annotations

from datetime import date

import numpy as np

from weixi.generator import identity
from weixi.generator.rng import Streams, permute_index


def test_id_check_character_of_the_standard_example():
    # GB 11643-1999 example: 11010519491231002X
    assert identity.id_check_char("11010519491231002") == "X"
    assert identity.is_valid_id_number("11010519491231002X")
    assert identity.id_number_birthday("11010519491231002X") == date(1949, 12, 31)
    assert identity.id_number_gender("11010519491231002X") == "F"


def test_id_validator_rejects_bad_numbers():
    assert not identity.is_valid_id_number("110105194912310021")  # wrong check digit
    assert not identity.is_valid_id_number("11010519491331002X")  # month 13
    assert not identity.is_valid_id_number("99010519491231002X")  # no province 99
    assert not identity.is_valid_id_number("11010519491231002")  # 17 characters
    assert not identity.is_valid_id_number("11010520991231002X", today=date(2026, 1, 1))  # born in the future
    assert not identity.is_valid_id_number(None)


def test_vectorised_check_codes_match_the_scalar_rule():
    rng = np.random.default_rng(3)
    area = rng.choice([440106, 441602, 430421], 500)
    ymd = 19700101 + rng.integers(0, 28, 500)
    seq = rng.integers(1, 999, 500)
    mat = identity.id_digits(area, ymd, seq)
    for row in mat:
        s = row.tobytes().decode()
        assert s[17] == identity.id_check_char(s[:17])
        assert identity.is_valid_id_number(s)


def test_mobile_validator():
    assert identity.is_valid_mobile("13800138000")
    assert identity.is_valid_mobile("19912345678")
    assert not identity.is_valid_mobile("12345678901")
    assert not identity.is_valid_mobile("1540000000")  # 10 digits
    assert not identity.is_valid_mobile("15400000000")  # 154 is not allocated
    assert not identity.is_valid_mobile(13800138000)


def test_phone_numbers_are_unique_and_valid_for_a_million_members():
    idx = np.arange(1_000_000)
    prefix, suffix = identity.phone_numbers(idx, Streams(5).hash_key("phone"))
    number = prefix.astype(np.int64) * 10**8 + suffix
    assert len(np.unique(number)) == len(idx)
    assert set(np.unique(prefix) // 10) <= {13, 15, 18, 19}
    assert identity.is_valid_mobile(str(number[123_457]))


def test_permutation_is_a_bijection():
    for n in (1, 2, 7, 1000, 12_345):
        p = permute_index(np.arange(n), n, np.uint64(99))
        assert sorted(p.tolist()) == list(range(n))
