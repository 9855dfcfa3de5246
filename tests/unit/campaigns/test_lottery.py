"""The draw scheme: commitment, HMAC draws, and a replay that catches any change."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from weixi.campaigns import lottery as lot
from weixi.campaigns.model import Lottery, Prize
from weixi.messages import render

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

    def found(tampered, seed_commitment=lot.commitment(SEED)):
        return [(p.code, p.params, render(p)) for p in lot.verify("c", LOTTERY, seed_commitment, SEED, tampered)]

    assert found(draws) == []
    [(code, _, text)] = found(draws, "00" * 32)
    assert code == "lottery_seed_mismatch" and "does not match the commitment" in text
    swapped = [replace(draws[0], prize_id="gold" if draws[0].prize_id != "gold" else "cup")] + draws[1:]
    assert any(
        code == "lottery_draw_prize_mismatch" and params["seq"] == 1 and "the replay gives" in text
        for code, params, text in found(swapped)
    )
    renamed = [replace(draws[1], member_id="someone-else")] + [d for d in draws if d.seq != 2]
    assert any("draw 2: recorded MAC" in text for _, _, text in found(renamed))
    assert ("lottery_draw_missing", {"seq": 3, "next": 4}, "draw 3 is missing (next recorded is 4)") in found(
        [d for d in draws if d.seq != 3]
    )
