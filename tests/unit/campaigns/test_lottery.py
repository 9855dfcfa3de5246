"""The draw scheme: commitment, HMAC draws, and a replay that catches any change."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from weixi.campaigns import lottery as lot
from weixi.campaigns.model import Lottery, Prize

LOTTERY = Lottery((Prize("gold", "金条", 1), Prize("cup", "杯", 2)), blanks_per_day=1)
SEED = bytes(range(32))


def run(n: int, day=date(2026, 7, 1)) -> list[lot.RecordedDraw]:
    drawn, out = {}, []
    for seq in range(1, n + 1):
        member = f"m{seq}"
        mac = lot.draw_mac(SEED, "c", seq, member, day)
        prize, _, _ = lot.pick(mac, lot.box(LOTTERY, drawn))
        drawn[prize] = drawn.get(prize, 0) + 1
        out.append(lot.RecordedDraw(seq, member, day, prize, mac))
    return out


def test_commitment_is_sha256_of_the_seed_and_seeds_are_fresh():
    assert lot.commitment(SEED) == "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    assert lot.new_seed() != lot.new_seed() and len(lot.new_seed()) == 32


def test_a_day_box_empties_exactly():
    draws = run(4)
    assert sorted((d.prize_id or "") for d in draws) == ["", "cup", "cup", "gold"]  # 1 + 2 + 1 blank
    try:
        lot.pick("00", lot.box(LOTTERY, {"gold": 1, "cup": 2, None: 1}))
        raise AssertionError("an empty box must refuse")
    except ValueError:
        pass


def test_verify_accepts_honest_draws_and_catches_each_tampering():
    draws = run(4)
    assert lot.verify("c", LOTTERY, lot.commitment(SEED), SEED, draws) == []
    assert "does not match the commitment" in lot.verify("c", LOTTERY, "00" * 32, SEED, draws)[0]
    swapped = [replace(draws[0], prize_id="gold" if draws[0].prize_id != "gold" else "cup")] + draws[1:]
    assert any("draw 1" in p and "the replay gives" in p for p in lot.verify("c", LOTTERY, lot.commitment(SEED), SEED, swapped))
    renamed = [replace(draws[1], member_id="someone-else")] + [d for d in draws if d.seq != 2]
    assert any("draw 2: recorded MAC" in p for p in lot.verify("c", LOTTERY, lot.commitment(SEED), SEED, renamed))
    assert any("draw 3 is missing" in p for p in lot.verify("c", LOTTERY, lot.commitment(SEED), SEED,
                                                             [d for d in draws if d.seq != 3]))
